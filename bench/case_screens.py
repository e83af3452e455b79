"""How quickly the case screens answer, on a real case (run by hand, offscreen).

    QT_QPA_PLATFORM=offscreen .venv/bin/python -m bench.case_screens [--gallery 60]

Builds a throw-away workstation: the default model, a gallery of LFW photos (one subject per
person), a request whose probe is searched (the profile's top 50 candidates). Prints, each
with the reference it is compared with in the same run:
- opening the case page with its candidate list (ms; reference: the same case before any
  search), and until every thumbnail is shown. Target: <= 500 ms for 50 candidates.
- switching candidate in the comparison (PageDown) at an examiner's pace (~0.4 s per candidate,
  the neighbours prepared on a worker; also until the photo is on screen), back-to-back without
  processing events (worst case) and every 50 ms (key repeat): median, p95 and worst (ms) of the
  time the GUI thread is busy; reference: switching between two candidates whose faces are
  prepared.
  Target: <= 100 ms.
- cold start of a new process to the sign-in window (s); reference: a bare Qt window in a new
  process. Target: <= 3 s.
The last line is `open_ms <value>`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
DATA = Path(tempfile.mkdtemp(prefix="frx-bench-case-"))
os.environ["FRX_DATA_DIR"] = str(DATA)

from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.casework import accounts, gallery  # noqa: E402
from app.casework.accounts import SignedInUser  # noqa: E402
from app.casework.workstation import Workstation  # noqa: E402
from app.engine.models import install_default_model  # noqa: E402
from app.policy.roles import Role  # noqa: E402
from app.settings import load_settings  # noqa: E402
from app.ui import messages  # noqa: E402
from app.ui.case_screens import CaseScreens, install_case_screens  # noqa: E402
from app.ui.case_views import IntakeForm  # noqa: E402
from app.ui.qt_main_window import QtMainWindow  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
LFW = Path(os.environ.get("FRX_SHARED_DATA", REPO.parent / "shared" / "data")) / "lfw-devtrain"
PASSWORD = "bench password 1"


def wait_for(app: QApplication, condition: Callable[[], bool], timeout: float = 120.0) -> float:
    """Seconds until ``condition()`` holds, processing events meanwhile."""
    start = time.perf_counter()
    while not condition():
        if time.perf_counter() - start > timeout:
            raise SystemExit("timed out")
        app.processEvents()
        time.sleep(0.001)
    return time.perf_counter() - start


def people(count: int) -> list[Path]:
    """One photo each of the first ``count`` people with two or more photos (probe: the 2nd)."""
    found = []
    for folder in sorted((LFW / "images").iterdir()):
        pictures = sorted(folder.glob("*.jpg"))
        if len(pictures) >= 2:
            found.append(folder)
        if len(found) == count:
            break
    return found


def build(ws: Workstation, gallery_size: int) -> tuple[SignedInUser, list[Path], IntakeForm]:
    """The examiner, the gallery's people (their first photo enrolled) and a request form."""
    admin = accounts.create_first_admin(ws, username="admin", display_name="Admin",
                                        password=PASSWORD)
    accounts.create_user(ws, by=admin, username="eve", display_name="Eve", password=PASSWORD,
                         roles=[Role.EXAMINER])
    eve = accounts.sign_in(ws, username="eve", password=PASSWORD)
    today = ws.now().date()
    accounts.add_training(ws, by=admin, user_id=eve.user_id, course="Examiner course",
                          completed_on=today - timedelta(days=5),
                          expires_on=today + timedelta(days=300))
    accounts.acknowledge_policy(ws, user=eve, profile_name=ws.profile.name,
                                profile_version=ws.profile.version,
                                profile_sha256=ws.profile.sha256)
    install_default_model(ws.settings.models_dir)
    folders = people(gallery_size)
    for number, folder in enumerate(folders, start=1):
        photo = sorted(folder.glob("*.jpg"))[0]
        try:
            gallery.enrol_photo(
                ws, by=admin, subject_reference=f"SID-{number:05d}", name=folder.name,
                image_bytes=photo.read_bytes(), photo_date=date(2018, 1, 1),
                source_type="arrest_photograph", source_reference=f"ARR-{number}",
                lawful_basis="Arrest record", file_name=photo.name,
            )
        except Exception as exc:  # a photo with two faces: leave it out
            print(f"  skipped {photo.name}: {exc}")
    form = IntakeForm(
        case_number="BENCH-1", requesting_officer="Det. Bench", requesting_agency="PD",
        purpose_code="IV.B.1a", offense="Robbery", narrative="Benchmark case.",
        probe_source="agency_personnel", probe_obtained_how="Benchmark.",
        attests_lawful_source=True, attests_not_protected_basis=True,
        attests_actual_subject=True,
    )
    return eve, folders, form


def cold_start(code: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO,
                   env={**os.environ, "FRX_DATA_DIR": str(DATA)}, capture_output=True)
    return time.perf_counter() - started


LOGIN_CODE = """
import time, os
from PySide6.QtWidgets import QApplication
from app.ui.application import configure_application, open_workstation
from app.ui.qt_login import QtLoginDialog
app = QApplication([])
configure_application(app)
ws = open_workstation()
dialog = QtLoginDialog(ws)
dialog.show()
app.processEvents()
ws.close()
"""
BARE_CODE = """
from PySide6.QtWidgets import QApplication, QLabel
app = QApplication([])
label = QLabel("hello")
label.show()
app.processEvents()
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gallery", type=int, default=60)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication(sys.argv)
    messages.present = lambda box: (print("  message:", box.text()), 1024)[1]
    ws = Workstation.open(load_settings())
    print(f"building a gallery of {args.gallery} LFW subjects in {DATA} ...")
    eve, folders, form = build(ws, args.gallery)
    window = QtMainWindow(ws, eve, ensure_model=False)
    window.resize(1500, 950)
    window.show()
    screens = install_case_screens(window)
    assert isinstance(screens, CaseScreens)
    desk = screens.desk
    request_id = desk.create_request(form)
    probe = sorted(folders[0].glob("*.jpg"))[1]
    desk.add_probe_file(request_id, str(probe))

    # Reference: the case page of the same request before any search.
    page = screens.open_case(request_id)
    wait_for(app, lambda: page.state is not None)
    window.remove_page(f"case-{request_id}")
    started = time.perf_counter()
    page = screens.open_case(request_id)
    wait_for(app, lambda: page.state is not None)
    reference_open = time.perf_counter() - started

    desk.run_search(request_id, probe_version_id=None, face_index=None)
    window.remove_page(f"case-{request_id}")
    started = time.perf_counter()
    page = screens.open_case(request_id)
    wait_for(app, lambda: page.state is not None and bool(page.candidates.rows()))
    open_s = time.perf_counter() - started
    count = len(page.candidates.rows())
    wait_for(app, lambda: all(page.candidates.model.has_thumbnail(r.candidate_id)
                              for r in page.candidates.rows()))
    thumbs_s = time.perf_counter() - started
    print(f"open case with {count} candidates: {open_s * 1000:.0f} ms "
          f"(x{open_s / reference_open:.2f} the case without a search, "
          f"{reference_open * 1000:.0f} ms); all thumbnails after {thumbs_s * 1000:.0f} ms")

    comparison = page.comparison
    loaded = []
    comparison.loaded.connect(lambda: loaded.append(True))
    page.open_candidate(0)
    wait_for(app, lambda: bool(loaded))
    screen = comparison.compare_screen

    def on_screen() -> bool:
        # A checkout from before background face loading always has the face on screen.
        return not getattr(screen, "face_pending", lambda: False)()

    def switches(pause_s: float, steps: int, shown: list[float] | None = None) -> list[float]:
        """GUI-thread time of each PageDown; ``shown``: time until its photo was on screen."""
        times = []
        for _ in range(steps):
            started = time.perf_counter()
            moved = screen.next_candidate()
            times.append(time.perf_counter() - started)
            if not moved:
                break
            end = started + pause_s
            seen = on_screen()
            if shown is not None and seen:
                shown.append(times[-1])
            while time.perf_counter() < end:
                app.processEvents()
                QTest.qWait(5)
                if shown is not None and not seen and on_screen():
                    seen = True
                    shown.append(time.perf_counter() - started)
        return times

    steps = min(20, count - 1)
    paced_shown: list[float] = []
    paced = switches(0.4, steps, paced_shown)
    screen.go_to_candidate(steps + 1)
    wait_for(app, on_screen)
    rushed_count = min(10, count - steps - 2)
    rushed = switches(0.0, rushed_count)  # no event processed in between: pure GUI cost
    last_shown = wait_for(app, on_screen)
    repeat = switches(0.05, min(10, count - 1 - screen.current_index()))  # ~ key auto-repeat
    repeat_shown = wait_for(app, on_screen)
    # The reference: back and forth between two candidates whose faces are prepared.
    screen.go_to_candidate(0)
    wait_for(app, on_screen)
    faces = getattr(comparison, "faces", None)
    if faces is not None:
        wait_for(app, lambda: faces.get(1) is not None)
    warm = []
    for step in range(steps):
        started = time.perf_counter()
        screen.go_to_candidate(1 - step % 2)
        warm.append(time.perf_counter() - started)
        assert on_screen()
    for name, values in (("warm", warm), ("paced", paced), ("shown", paced_shown),
                         ("rushed", rushed), ("repeat", repeat)):
        print(f"  raw {name}: " + " ".join(f"{v * 1000:.0f}" for v in values))

    def ms(values: list[float]) -> str:
        ordered = sorted(values)
        median = statistics.median(ordered) * 1000
        p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] * 1000
        return f"median {median:.0f} ms, p95 {p95:.0f} ms, worst {ordered[-1] * 1000:.0f} ms"

    warm_median = statistics.median(warm)
    print(f"switch candidate at an examiner's pace: {ms(paced)} "
          f"(x{statistics.median(paced) / warm_median:.1f} the prepared faces: {ms(warm)})")
    if paced_shown:
        print(f"  ... until the candidate's photo was on screen: {ms(paced_shown)}")
    if rushed:
        print(f"switch candidate back-to-back (faces not prepared yet): {ms(rushed)} "
              f"(x{statistics.median(rushed) / warm_median:.1f}); the last photo on screen "
              f"{last_shown * 1000:.0f} ms after the last switch")
    if repeat:
        print(f"switch candidate every 50 ms (key repeat): {ms(repeat)}; the last photo on "
              f"screen {repeat_shown * 1000:.0f} ms after the last switch")
    window.shutdown_quietly()
    ws.close()

    bare = min(cold_start(BARE_CODE) for _ in range(2))
    login = min(cold_start(LOGIN_CODE) for _ in range(2))
    print(f"cold start to the sign-in window: {login:.2f} s (x{login / bare:.1f} a bare Qt "
          f"window, {bare:.2f} s)")
    print(f"open_ms {open_s * 1000:.0f}")


if __name__ == "__main__":
    main()
