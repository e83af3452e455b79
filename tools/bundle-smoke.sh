#!/usr/bin/env bash
# Smoke test of the one-folder bundle built from pyinstaller.spec (README, "Building a one-folder
# bundle"). Runs the bundled programs the way a machine without Python would: empty environment
# (env -i), a PATH with nothing on it, a fresh data folder, Qt offscreen, and no network when the
# kernel lets us take it away (unshare -n). Checks, in order:
#   1. the GUI starts on the empty data folder and shows the first-run wizard;
#   2. `frx init` creates the first administrator; `frx user list --as` signs in with the right
#      password and is refused with a wrong one;
#   3. `frx model install-default` converts the default model from the bundled
#      face_recognition_models file, and `frx model list` verifies it;
#   4. a gallery import of one real photo from ../shared/data finds its face and enrols it;
#   5. a gallery import of 200 photos runs in worker processes (frozen "spawn") and enrols most;
#   6. an examiner searches with another photo of the first person, who ranks first; the no-lead
#      report is issued with the bundled DejaVu fonts, released, exported and verifies; the audit
#      chain is intact;
#   7. the GUI starts again and shows the sign-in.
# Usage: tools/bundle-smoke.sh [BUNDLE_DIR [SHARED_DATA_DIR]]
#   BUNDLE_DIR defaults to /tmp/frx-dist/frx-workstation, SHARED_DATA_DIR to ../shared/data.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUNDLE=${1:-/tmp/frx-dist/frx-workstation}
SHARED=${2:-${FRX_SHARED_DATA:-$ROOT/../shared/data}}
LFW=$SHARED/lfw-devtrain/images
PASSWORD='Smoke-test-password-42'

fail() { echo "bundle-smoke: FAILED: $*" >&2; exit 1; }
step() { echo "bundle-smoke: $*"; }

[[ -x $BUNDLE/frx && -x $BUNDLE/frx-workstation ]] || fail "no bundle in $BUNDLE (build it first)"
[[ -d $LFW ]] || fail "no photos in $LFW"

WORK=$(mktemp -d /tmp/frx-smoke.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/empty-path" "$WORK/home" "$WORK/runtime" "$WORK/one" "$WORK/many"
chmod 700 "$WORK/runtime"

# No network if this kernel/user may make a namespace without one; else say so and go on.
NONET=()
if unshare -n true 2>/dev/null; then
    NONET=(unshare -n)
elif unshare -rn true 2>/dev/null; then
    NONET=(unshare -rn)
else
    step "note: cannot take the network away here (unshare); running with it"
fi

# The report's fonts must come from the bundle: where a mount namespace is allowed, the report is
# issued with the system's fonts (/usr/share/fonts, the code's fallback) hidden.
HIDE_FONTS=()
if [[ -d /usr/share/fonts ]] && unshare -m "$BASH" -c 'mount -t tmpfs tmpfs /usr/share/fonts' 2>/dev/null
then
    HIDE_FONTS=(unshare -m "$BASH" -c 'mount -t tmpfs tmpfs /usr/share/fonts && exec "$@"' hide)
else
    step "note: cannot hide the system's fonts here; the report may use them instead of the bundle's"
fi

# The bundle's programs, with nothing from this machine's Python reachable.
bundled() {
    local program=$1
    shift
    "${NONET[@]}" env -i \
        PATH="$WORK/empty-path" HOME="$WORK/home" XDG_RUNTIME_DIR="$WORK/runtime" LANG=C.UTF-8 \
        FRX_DATA_DIR="$WORK/data" QT_QPA_PLATFORM=offscreen \
        "$BUNDLE/$program" "$@"
}

gui_shows() {
    local expected=$1 out
    out=$(bundled_gui 2>&1) || { echo "$out" >&2; fail "the GUI exited with an error"; }
    grep -q "Smoke test: $expected is shown" <<<"$out" || { echo "$out" >&2; fail "no $expected"; }
}

bundled_gui() {
    timeout 120 "${NONET[@]}" env -i \
        PATH="$WORK/empty-path" HOME="$WORK/home" XDG_RUNTIME_DIR="$WORK/runtime" LANG=C.UTF-8 \
        FRX_DATA_DIR="$WORK/data" QT_QPA_PLATFORM=offscreen FRX_SMOKE_TEST=1 \
        "$BUNDLE/frx-workstation"
}

START=$SECONDS
env -i PATH="$WORK/empty-path" "$BASH" -c 'command -v python3 || command -v python' >/dev/null &&
    fail "Python is reachable on the test PATH"

step "1. GUI on an empty data folder"
gui_shows QtFirstRunWizard

step "2. first administrator and sign-in"
out=$(echo "$PASSWORD" | bundled frx init --admin alice --display-name "Alice Admin") ||
    fail "frx init: $out"
out=$(echo "$PASSWORD" | bundled frx user list --as alice) || fail "frx user list: $out"
grep -q "alice .*administrator .*active" <<<"$out" || fail "alice not listed: $out"
if echo "wrong-password" | bundled frx user list --as alice >/dev/null 2>&1; then
    fail "a wrong password was accepted"
fi

step "3. default model from the bundled face_recognition_models file"
out=$(bundled frx model install-default 2>&1) || fail "frx model install-default: $out"
grep -q "Installed and verified model dlib-resnet-v1" <<<"$out" || fail "$out"
out=$(bundled frx model list) || fail "frx model list: $out"
grep -q "dlib-resnet-v1 .* verified" <<<"$out" || fail "model does not verify: $out"

manifest_header="file,subject_reference,photo_date,source_type,source_reference"

# The person searched for in step 6: one photo in the gallery (step 4), another as the probe.
PERSON=Aaron_Peirsol
step "4. a face found in a real photo"
cp "$LFW/$PERSON/${PERSON}_0001.jpg" "$WORK/one/face.jpg"
printf '%s\nface.jpg,S-1,2020-01-02,arrest_photograph,B-1\n' "$manifest_header" \
    >"$WORK/one/manifest.csv"
out=$(echo "$PASSWORD" | bundled frx gallery import --folder "$WORK/one" \
    --manifest "$WORK/one/manifest.csv" --as alice 2>/dev/null) || fail "import: $out"
grep -Eq "enrolled: +1$" <<<"$out" || fail "the face was not enrolled: $out"

step "5. 200 photos in worker processes"
{
    echo "$manifest_header"
    n=0
    for person in "$LFW"/*/; do
        [[ $(basename "$person") != "$PERSON" ]] || continue
        for photo in "$person"*.jpg; do
            n=$((n + 1))
            cp "$photo" "$WORK/many/$n.jpg"
            echo "$n.jpg,M-$n,2020-01-02,arrest_photograph,B-$n"
            [[ $n -lt 200 ]] || break 2
        done
    done
} >"$WORK/many/manifest.csv"
echo "$PASSWORD" >"$WORK/password"
bundled frx gallery import --folder "$WORK/many" --manifest "$WORK/many/manifest.csv" \
    --as alice <"$WORK/password" >"$WORK/many.out" 2>/dev/null &
importer=$!
most_children=0
while kill -0 "$importer" 2>/dev/null; do
    # The import runs as unshare -> frx (or frx directly); count frx processes under it.
    children=$(pgrep -c -f "^$BUNDLE/frx " || true)
    ((children > most_children)) && most_children=$children
    sleep 0.5
done
# Exit code 1 says some rows were skipped (group photos in LFW); only more is an error.
rc=0
wait "$importer" || rc=$?
((rc <= 1)) || fail "import of 200 photos (exit $rc): $(cat "$WORK/many.out")"
enrolled=$(sed -nE 's/^ *enrolled: +([0-9]+)$/\1/p' "$WORK/many.out")
[[ -n $enrolled && $enrolled -ge 150 ]] || fail "only '$enrolled' of 200 enrolled: $(cat "$WORK/many.out")"
((most_children >= 2)) || fail "no worker processes were seen (at most $most_children frx)"

step "6. search, no-lead report with the bundled fonts, release, export, verify"
as_user() { printf '%s\n' "$PASSWORD" "$PASSWORD" | bundled frx "$@" 2>&1; }
out=$(as_user user add erin --roles examiner --as alice) || fail "user add: $out"
out=$(as_user user train erin --course "FR examiner course" --completed "$(date -u -d '-10 days' +%F)" \
    --expires "$(date -u -d '+355 days' +%F)" --as alice) || fail "user train: $out"
out=$(as_user case policy --acknowledge --as erin) || fail "policy: $out"
out=$(as_user case open --case-number SMOKE-1 --officer "Det. Smoke" --agency "Smoke PD" \
    --purpose IV.B.1a --offense Robbery --narrative "Store camera at the counter." \
    --probe-source agency_personnel --obtained-how "Exported from the store's recorder." \
    --attest-lawful-source --attest-not-protected-basis --attest-actual-subject --as erin) ||
    fail "case open: $out"
request=$(sed -nE 's/^Opened request (REQ-[0-9-]+) .*/\1/p' <<<"$out")
[[ -n $request ]] || fail "no request number in: $out"
out=$(as_user case probe add "$request" "$LFW/$PERSON/${PERSON}_0002.jpg" --as erin) ||
    fail "probe add: $out"
out=$(as_user case search "$request" --as erin) || fail "search: $out"
grep -Eq "^1 +[0-9.]+ +S-1 " <<<"$out" || fail "the same person does not rank first: $out"
out=$(as_user case no-lead "$request" --as erin) || fail "no-lead: $out"
out=$(printf '%s\n' "$PASSWORD" | "${HIDE_FONTS[@]}" "${NONET[@]}" env -i \
    PATH="$WORK/empty-path" HOME="$WORK/home" LANG=C.UTF-8 FRX_DATA_DIR="$WORK/data" \
    "$BUNDLE/frx" report no-lead --request "$request" --as erin 2>&1) || fail "report no-lead: $out"
report=$(sed -nE 's/^No-lead report (FRX-[0-9-]+) .*/\1/p' <<<"$out")
[[ -n $report ]] || fail "no report number in: $out"
out=$(as_user report disseminate "$report" --agency "Smoke PD" --official "Det. Smoke" \
    --type law_enforcement_agency --need-to-know "Investigating the robbery." \
    --method "PDF by secure email" --as erin) || fail "disseminate: $out"
out=$(as_user report export "$report" --dissemination 1 --to "$WORK/report.pdf" --as erin) ||
    fail "export: $out"
out=$(bundled frx report verify "$WORK/report.pdf" 2>&1) || fail "report verify: $out"
grep -q "^VALID" <<<"$out" || fail "report verify: $out"
grep -aq "/BaseFont /[A-Z]*+DejaVuSans" "$WORK/report.pdf" || fail "the report lacks the DejaVu fonts"
out=$(bundled frx audit verify 2>&1) || fail "audit verify: $out"

step "7. GUI shows the sign-in"
gui_shows QtLoginDialog

size=$(du -sh "$BUNDLE" | cut -f1)
step "passed in $((SECONDS - START)) s ($enrolled of 200 enrolled, up to $most_children frx processes; bundle $size)"
