"""Policy profiles: the built-in MPTC and NYPD rules as data, agency copies, broken copies."""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from app.errors import ConfigurationError, PolicyViolation
from app.policy.profiles import (
    KNOWN_EDITS,
    POLICIES_DIR,
    RECORD_TYPES,
    PolicyProfile,
    list_builtin_profiles,
    load_profile,
)
from app.policy.worksheet import WORKSHEETS_DIR, load_worksheet

MPTC_CODES = ["IV.B.1a", "IV.B.1b", "IV.B.1c", "IV.B.1d", "IV.B.1e", "IV.B.1f", "IV.B.2"]
NYPD_CODES = ["a", "b", "c", "d", "e", "f"]
BANNER = "INVESTIGATIVE LEAD ONLY - NOT PROBABLE CAUSE TO ARREST"
MPTC_TEXT = (POLICIES_DIR / "mptc-2019.toml").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def mptc() -> PolicyProfile:
    return load_profile("mptc-2019")


@pytest.fixture(scope="module")
def nypd() -> PolicyProfile:
    return load_profile("nypd-2020")


@pytest.fixture(scope="module", params=["mptc-2019", "nypd-2020"])
def builtin(request: pytest.FixtureRequest) -> PolicyProfile:
    return load_profile(request.param)


def test_both_builtin_profiles_are_listed_and_identify_their_file(builtin: PolicyProfile) -> None:
    assert builtin.name in list_builtin_profiles()
    raw = (POLICIES_DIR / f"{builtin.name}.toml").read_bytes()
    assert builtin.sha256 == hashlib.sha256(raw).hexdigest()
    assert builtin.path == (POLICIES_DIR / f"{builtin.name}.toml").resolve()
    assert builtin.version in builtin.label and builtin.title in builtin.label


def test_purposes_match_the_policies_exactly(mptc: PolicyProfile, nypd: PolicyProfile) -> None:
    assert [p.code for p in mptc.purposes] == MPTC_CODES
    assert [p.code for p in nypd.purposes] == NYPD_CODES
    assert mptc.version == "2019-12" and nypd.version == "2020-03-13"
    for purpose in mptc.purposes:
        assert purpose.clause.startswith("MPTC IV.B")
    for purpose in nypd.purposes:
        assert purpose.clause == f"NYPD ({purpose.code})"
    for purpose in (*mptc.purposes, *nypd.purposes):
        # Full sentences, never a catch-all.
        assert purpose.text[0].isupper() and purpose.text.endswith(".")
        assert len(purpose.text.split()) >= 5
        assert "other purpose" not in purpose.text.lower()


def test_purpose_wording_follows_the_policy(mptc: PolicyProfile, nypd: PolicyProfile) -> None:
    assert "committed a criminal offense" in mptc.purpose("IV.B.1a").text
    assert "definable criminal conduct" in mptc.purpose("IV.B.1b").text
    assert "missing person" in mptc.purpose("IV.B.1c").text
    assert "deceased" in mptc.purpose("IV.B.1d").text
    assert "incapacitated and unable to communicate" in mptc.purpose("IV.B.1e").text
    assert "false identification" in mptc.purpose("IV.B.1f").text
    assert "public officials" in mptc.purpose("IV.B.2").text
    assert "about to commit a crime" in nypd.purpose("a").text
    assert "unable to identify themselves" in nypd.purpose("d").text
    assert "imminent threat" in nypd.purpose("f").text


def test_a_purpose_outside_the_profile_is_refused(mptc: PolicyProfile, nypd: PolicyProfile) -> None:
    with pytest.raises(PolicyViolation) as refused:
        mptc.purpose("a")
    assert str(refused.value) == (
        "Purpose 'a' is not one of the purposes authorized by "
        "NYS MPTC Facial Recognition Model Policy."
    )
    with pytest.raises(PolicyViolation, match="authorized by NYPD Facial Recognition Policy"):
        nypd.purpose("IV.B.2")
    with pytest.raises(PolicyViolation, match="'other'"):
        nypd.purpose("other")


def test_sources_and_refused_probe_kinds(builtin: PolicyProfile) -> None:
    # Conservative: only (unsealed) arrest photographs are enrolled under both profiles.
    assert [s.code for s in builtin.gallery_sources] == ["arrest_photograph"]
    assert "not sealed" in builtin.gallery_sources[0].label
    assert [s.code for s in builtin.probe_sources] == [
        "agency_personnel",
        "private_citizen",
        "other_agency",
        "public_source",
    ]
    assert all(s.label and s.clause for s in builtin.probe_sources)
    assert {k.code for k in builtin.refused_probe_kinds} == {
        "composite_sketch",
        "artist_rendering",
        "look_alike",
    }
    assert builtin.probe_source("social_media_scrape") is None
    assert builtin.refused_probe_kind("photograph") is None


def test_report_and_attestation_texts(builtin: PolicyProfile) -> None:
    report = builtin.report
    assert report.banner == BANNER
    advisory = report.advisory.lower()
    for phrase in (
        "investigative lead only",
        "not a positive identification",
        "not probable cause",
        "sole basis",
        "search warrant",
        "further investigation",
    ):
        assert phrase in advisory, phrase
    assert "in writing" in report.interagency_acknowledgment
    assert "IV.F" in report.clauses["interagency_acknowledgment"]
    assert "need to know" in report.dissemination_restriction
    assert "law enforcement" in report.dissemination_restriction
    assert "authorized purpose" in report.dissemination_restriction
    assert "IV.G" in report.clauses["dissemination_restriction"]
    attest = builtin.attestations
    assert [a.code for a in attest.all] == [
        "lawful_source",
        "not_protected_basis",
        "actual_subject",
    ]
    assert "lawfully" in attest.lawful_source.text and "relevant" in attest.lawful_source.text
    assert "V.B" in attest.not_protected_basis.clause
    for characteristic in (
        "race",
        "creed",
        "color",
        "national origin",
        "sex",
        "marital status",
        "sexual orientation",
        "gender identity or expression",
        "disability",
    ):
        assert characteristic in attest.protected_characteristics
        assert characteristic in attest.not_protected_basis.text
    assert any("political" in a for a in attest.protected_activities)
    assert any("lawful event" in a for a in attest.protected_activities)
    assert "composite sketch" in attest.actual_subject.text
    assert "VII" in builtin.acknowledgment.clause and builtin.acknowledgment.text


def test_rules_review_edits_retention_training_recipients(
    mptc: PolicyProfile, nypd: PolicyProfile, builtin: PolicyProfile
) -> None:
    assert mptc.second_review == "when_practicable" and not mptc.second_review_required
    assert nypd.second_review == "required" and nypd.second_review_required
    assert "IV.E.2" in mptc.second_review_clause
    assert builtin.allowed_edits == KNOWN_EDITS - {"mirror"}
    assert builtin.search_top_k == 50
    assert builtin.training_courses == ()
    assert "IV.A" in builtin.training_clause
    assert set(builtin.retention) == set(RECORD_TYPES)
    assert builtin.retention_days("audit") is None and builtin.retention["audit"].never_purged
    for record_type in ("request", "probe", "search", "comparison", "report", "dissemination"):
        days = builtin.retention_days(record_type)
        assert days is not None and days >= 365
    with pytest.raises(PolicyViolation, match="no retention rule for 'gallery'"):
        builtin.retention_days("gallery")
    assert "legal hold" in builtin.legal_hold.text and "VI.A" in builtin.legal_hold.clause
    law_enforcement = [r for r in builtin.recipient_types if r.law_enforcement]
    assert law_enforcement and any(not r.law_enforcement for r in builtin.recipient_types)
    assert builtin.recipient_type("law_enforcement_agency") in law_enforcement
    assert load_worksheet(builtin.worksheet).name == "fiswg-mptc"


def test_every_rule_names_its_clause() -> None:
    for name in list_builtin_profiles():
        text = (POLICIES_DIR / f"{name}.toml").read_text(encoding="utf-8")
        # Every table (single or array) that is a rule carries a clause field.
        blocks = re.split(r"^\[", text, flags=re.M)[1:]
        for block in blocks:
            header = block.split("]", 1)[0].strip("[]")
            if header in ("profile", "retention.days", "attestations", "report"):
                continue
            assert re.search(r"^clause = \"[^\"]+\"$", block, re.M), f"{name}: [{header}]"


def test_agency_copy_loads_with_its_own_fingerprint(tmp_path: Path, mptc: PolicyProfile) -> None:
    same = tmp_path / "same.toml"
    same.write_text(MPTC_TEXT, encoding="utf-8")
    assert load_profile(str(same)).sha256 == mptc.sha256
    own = tmp_path / "our-agency.toml"
    own.write_text(
        MPTC_TEXT.replace('version = "2019-12"', 'version = "2026-01 local"')
        .replace('name = "mptc-2019"', 'name = "example-pd"')
        .replace("top_k = 50", "top_k = 20"),
        encoding="utf-8",
    )
    profile = load_profile(str(own))
    assert (profile.name, profile.version, profile.search_top_k) == (
        "example-pd",
        "2026-01 local",
        20,
    )
    assert profile.sha256 == hashlib.sha256(own.read_bytes()).hexdigest() != mptc.sha256
    assert profile.path == own.resolve()


def test_agency_copy_may_bring_its_own_worksheet(tmp_path: Path) -> None:
    folder = tmp_path / "policy"
    folder.mkdir()
    sheet = folder / "our-sheet.toml"
    shutil.copy(WORKSHEETS_DIR / "fiswg-mptc.toml", sheet)
    own = folder / "own.toml"
    own.write_text(MPTC_TEXT.replace('worksheet = "fiswg-mptc"', 'worksheet = "our-sheet.toml"'))
    profile = load_profile(str(own))
    assert profile.worksheet == str(sheet.resolve())
    assert (
        load_worksheet(profile.worksheet).sha256 == hashlib.sha256(sheet.read_bytes()).hexdigest()
    )


def _purpose_other(text: str) -> str:
    return text.replace('code = "IV.B.2"', 'code = "other"')


def _purpose_text_other(text: str) -> str:
    start = text.index('text = "To prevent')
    end = text.index("\n", start)
    return text[:start] + 'text = "Other (specify)."' + text[end:]


BROKEN: dict[str, tuple[Callable[[str], str], str]] = {
    "duplicate purpose code": (
        lambda t: t.replace('code = "IV.B.1b"', 'code = "IV.B.1a"'),
        r"'purposes\[2\]\.code' repeats the code 'IV\.B\.1a'",
    ),
    "missing banner": (
        lambda t: t.replace(f'text = "{BANNER}"', ""),
        r"'report\.banner\.text' is missing",
    ),
    "banner without the lead warning": (
        lambda t: t.replace(f'text = "{BANNER}"', 'text = "SEARCH RESULT"'),
        r"'report\.banner\.text' must say",
    ),
    "free-text purpose code": (_purpose_other, r"'purposes\[7\]' is a free-text catch-all"),
    "free-text purpose wording": (_purpose_text_other, r"'purposes\[7\]' is a free-text"),
    "bad TOML": (lambda t: t + "\n[[[\n", "cannot be read"),
    "unknown worksheet": (
        lambda t: t.replace('worksheet = "fiswg-mptc"', 'worksheet = "no-such-sheet"'),
        r"'profile\.worksheet' names an unknown worksheet 'no-such-sheet'",
    ),
    "unknown edit operation": (
        lambda t: t.replace('allowed = ["crop"', 'allowed = ["liquify", "crop"'),
        r"'edits\.allowed' names unknown edit operations \['liquify'\]",
    ),
    "audit log purged": (
        lambda t: t.replace('audit = "never"', "audit = 3650"),
        r"'retention\.days\.audit' must be \"never\"",
    ),
    "missing retention": (
        lambda t: t.replace("probe = 2555\n", ""),
        r"'retention\.days\.probe' must be a number of days",
    ),
    "missing attestation": (
        lambda t: t.replace("[attestations.actual_subject]", "[attestations_actual_subject]"),
        "'attestations_actual_subject' is not a known section",
    ),
    "refused kind dropped": (
        lambda t: t.replace('code = "look_alike"', 'code = "cartoon"'),
        r"'refused_probe_kinds' must refuse \['look_alike'\]",
    ),
    "no law enforcement recipient": (
        lambda t: t.replace("law_enforcement = true", "law_enforcement = false"),
        "'recipient_types' must include a law enforcement recipient type",
    ),
    "unknown review mode": (
        lambda t: t.replace('mode = "when_practicable"', 'mode = "optional"'),
        r"'second_review\.mode' must be 'required' or 'when_practicable'",
    ),
    "purpose without clause": (
        lambda t: t.replace('clause = "MPTC IV.B.1(d)"\n', ""),
        r"'purposes\[4\]\.clause' is missing",
    ),
    "top_k out of range": (
        lambda t: t.replace("top_k = 50", "top_k = 0"),
        r"'search\.top_k' must be a whole number",
    ),
    "missing version": (
        lambda t: t.replace('version = "2019-12"\n', ""),
        r"'profile\.version' is missing",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_copies_are_refused_naming_file_and_field(tmp_path: Path, case: str) -> None:
    change, message = BROKEN[case]
    broken = change(MPTC_TEXT)
    assert broken != MPTC_TEXT, "the test's edit did not apply"
    path = tmp_path / "broken-profile.toml"
    path.write_text(broken, encoding="utf-8")
    with pytest.raises(ConfigurationError, match=message) as refused:
        load_profile(str(path))
    assert "broken-profile.toml" in str(refused.value)


def test_unknown_profile_name_lists_the_builtin_ones() -> None:
    with pytest.raises(ConfigurationError, match="mptc-2019, nypd-2020"):
        load_profile("no-such-profile")
