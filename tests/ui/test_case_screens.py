"""A whole case through the real widgets, on real photographs: new request, probe pasted with two
faces, pick the face, edit a copy and go back to the original, search, compare, answer the
worksheet by keyboard, conclude, save a screenshot, submit; then a second examiner reviews blind
and sees the first examiner's answers only after recording a conclusion."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path

import pytest
from case_ui_support import (
    PROBE_PERSON,
    enrol_gallery,
    lfw_path,
    qualify,
    second_examiner,
    two_face_probe,
)
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication, QInputDialog
from pytestqt.qtbot import QtBot
from shell_support import ShownMessages, audit_actions

from app.casework import comparisons, reviews
from app.casework.accounts import SignedInUser
from app.casework.index_sync import forget_open_indexes
from app.casework.workstation import Workstation
from app.ui.case_screens import CaseScreens, install_case_screens
from app.ui.case_views import IntakeForm, QueueKind
from app.ui.comparison.model import Conclusion, ProbeVersion
from app.ui.qt_case_page import QtCasePage
from app.ui.qt_new_request import QtNewRequestDialog
from app.ui.qt_review_page import QtReviewPage

WAIT = 60_000


@pytest.fixture
def case_ws(ws: Workstation, admin: SignedInUser, lfw_dir: Path) -> Workstation:
    forget_open_indexes()
    enrol_gallery(ws, admin, lfw_dir)
    yield ws
    forget_open_indexes()


def _fill_request(dialog: QtNewRequestDialog, qtbot: QtBot) -> None:
    assert not dialog.create_button.isEnabled()
    assert "Record the case number" in dialog.reasons_label.text()
    dialog.case_number_edit.setText("2026-CR-0042")
    dialog.officer_edit.setText("Det. Alex Moreno")
    dialog.agency_edit.setText("Springfield PD")
    dialog.offense_edit.setText("Robbery")
    dialog.narrative_edit.setPlainText("Store camera still of the suspect at the counter.")
    dialog.purpose_list.setCurrentRow(0)
    dialog.source_combo.setCurrentIndex(1)
    dialog.obtained_edit.setPlainText("Exported from the store's recorder by Det. Moreno.")
    for code, box in dialog.attestation_checks.items():
        assert not dialog.create_button.isEnabled(), code
        qtbot.mouseClick(box, Qt.MouseButton.LeftButton)
    assert dialog.create_button.isEnabled(), dialog.reasons_label.text()


def test_whole_case_through_the_widgets_then_a_blind_second_review(
    qtbot: QtBot,
    case_ws: Workstation,
    admin: SignedInUser,
    examiner: SignedInUser,
    make_main_window: object,
    shown_messages: ShownMessages,
    lfw_dir: Path,
) -> None:
    ws = case_ws
    qualify(ws, admin, examiner)
    rex = second_examiner(ws, admin)
    window = make_main_window(examiner, ensure_model=False)  # type: ignore[operator]
    window.show()
    screens = install_case_screens(window)
    assert isinstance(screens, CaseScreens)
    assert window.current_page_key() == "queue"
    assert window.case_actions["new_request"].isEnabled()

    # -- new request (Ctrl+N) -----------------------------------------------------------------
    window.case_actions["new_request"].trigger()
    dialog = screens.last_dialog
    assert isinstance(dialog, QtNewRequestDialog)
    _fill_request(dialog, qtbot)
    with qtbot.waitSignal(dialog.created, timeout=WAIT):
        qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
    page = window.stack.currentWidget()
    assert isinstance(page, QtCasePage)
    qtbot.waitUntil(lambda: page.state is not None, timeout=WAIT)
    assert "2026-CR-0042" in page.summary.title.text()
    assert not page.search_button.isEnabled()  # no probe yet
    assert "probe" in page.blockers_label.text().lower()

    # -- probe pasted from the clipboard: two faces, the examiner picks the right one ----------
    QApplication.clipboard().setImage(QImage.fromData(two_face_probe(lfw_dir)))
    with qtbot.waitSignal(page.probe_shown, timeout=WAIT):
        page.probe_panel.paste()
    qtbot.waitUntil(lambda: page.shown is not None and len(page.shown.faces) == 2, timeout=WAIT)
    assert page.shown is not None and page.shown.chosen is None
    assert "Choose the face" in page.blockers_label.text()
    view = page.probe_panel.image_view
    right_face = max(page.shown.faces, key=lambda face: face.box[0])
    target = view.to_widget(right_face.box).center()
    with qtbot.waitSignal(page.probe_shown, timeout=WAIT):
        qtbot.mouseClick(view, Qt.MouseButton.LeftButton,
                         pos=QPoint(round(target.x()), round(target.y())))
    qtbot.waitUntil(lambda: page.shown is not None and page.shown.chosen == right_face.index,
                    timeout=WAIT)
    assert page.probe_panel.quality.rows(), "the chosen face has quality measures"

    # -- an edit on a copy, then back to the original ------------------------------------------
    tools = page.probe_panel.edit_tools
    tools.choose("brightness")
    tools.editor("brightness").set_value("amount", 12)
    with qtbot.waitSignal(page.probe_shown, timeout=WAIT):
        qtbot.mouseClick(tools.apply_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.shown is not None and page.shown.version_id != 0, timeout=WAIT)
    history = page.probe_panel.history.texts()
    assert len(history) == 2 and "Brightness +12" in history[1]
    with qtbot.waitSignal(page.probe_shown, timeout=WAIT):
        qtbot.mouseClick(page.probe_panel.history.back_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.shown is not None and page.shown.version_id == 0, timeout=WAIT)
    qtbot.waitUntil(page.search_button.isEnabled, timeout=WAIT)

    # -- search ----------------------------------------------------------------------------------
    with qtbot.waitSignal(page.search_shown, timeout=WAIT):
        qtbot.mouseClick(page.search_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.search is not None and bool(page.candidates.rows()),
                    timeout=WAIT)
    rows = page.candidates.rows()
    assert rows[0].subject_reference == "SID-0001"  # the probe person's arrest photo first
    model = page.candidates.model
    score = model.data(model.index(0, 2))
    assert score.startswith("distance ") and "%" not in score
    assert "not a probability" in model.data(model.index(0, 2), Qt.ItemDataRole.ToolTipRole)
    qtbot.waitUntil(lambda: model.has_thumbnail(rows[0].candidate_id), timeout=WAIT)

    # -- comparison: Enter on the first candidate ---------------------------------------------
    comparison = page.comparison
    page.candidates.table.setFocus()
    with qtbot.waitSignal(comparison.loaded, timeout=WAIT):
        qtbot.keyClick(page.candidates.table, Qt.Key.Key_Return)
    assert page.showing_comparison()
    screen = comparison.compare_screen
    panel = screen.worksheet
    items = ws.worksheet.item_ids
    assert not panel.conclusion_buttons[Conclusion.POSSIBLE_LEAD].isEnabled()
    panel.setFocus()
    for _ in items:
        qtbot.keyClick(panel, Qt.Key.Key_1)
    assert panel.progress_text() == f"{len(items)} of {len(items)} answered"

    def saved_complete() -> bool:
        summary = comparison.current_summary()
        return summary is not None and summary.progress.complete

    qtbot.waitUntil(saved_complete, timeout=WAIT)
    conclude = panel.conclusion_buttons[Conclusion.POSSIBLE_LEAD]
    assert conclude.isEnabled()
    qtbot.mouseClick(conclude, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: comparison.current_summary().status == "concluded", timeout=WAIT)
    with qtbot.waitSignal(comparison.changed, timeout=WAIT):
        screen.save_screenshot()
    attachments = comparisons.list_attachments(ws, user=examiner, request_id=page.request_id)
    assert [a.kind for a in attachments] == ["screenshot"]
    assert comparison.submit_button.isEnabled()
    qtbot.mouseClick(comparison.submit_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: comparison.current_summary().review_state == "awaiting_review", timeout=WAIT
    )

    # -- the second examiner reviews blind --------------------------------------------------------
    window2 = make_main_window(rex, ensure_model=False)  # type: ignore[operator]
    window2.show()
    screens2 = install_case_screens(window2)
    assert isinstance(screens2, CaseScreens)
    queue = screens2.queue
    queue.set_kind(QueueKind.AWAITING_MY_REVIEW)
    qtbot.waitUntil(lambda: queue.model.rowCount() == 1
                    and queue.current_kind() is QueueKind.AWAITING_MY_REVIEW, timeout=WAIT)
    assert "Awaiting my second review (1)" in [
        queue.sidebar.item(i).text() for i in range(queue.sidebar.count())
    ]
    queue.table.selectRow(0)
    queue.open_selected()
    qtbot.waitUntil(lambda: isinstance(window2.stack.currentWidget(), QtReviewPage),
                    timeout=WAIT)
    review_page = window2.stack.currentWidget()
    assert isinstance(review_page, QtReviewPage)
    qtbot.waitUntil(lambda: review_page.view is not None, timeout=WAIT)
    assert review_page.view.first_examiner is None  # casework did not even send it
    review_panel = review_page.compare_screen.worksheet
    assert all(review_panel.first_examiner_text(item) == "" for item in items)
    review_panel.setFocus()
    qtbot.keyClick(review_panel, Qt.Key.Key_2)  # one item judged differently
    for _ in items[1:]:
        qtbot.keyClick(review_panel, Qt.Key.Key_1)
    qtbot.waitUntil(
        lambda: review_page.compare_screen.session().worksheet().is_complete, timeout=WAIT
    )
    with qtbot.waitSignal(review_page.revealed, timeout=WAIT):
        qtbot.mouseClick(review_panel.conclusion_buttons[Conclusion.POSSIBLE_LEAD],
                         Qt.MouseButton.LeftButton)
    assert review_page.compare_screen.session().difference_count() == 1
    assert review_panel.row_differs(items[0])
    assert "You agree" in review_page.state_label.text()
    recorded = reviews.review_view(ws, user=rex, review_id=review_page.review_id)
    assert recorded.review.agreement is True

    actions = [action for _actor, action in audit_actions(ws)]
    for expected in ("request.opened", "probe.added", "probe.face_chosen", "probe.edited",
                     "search.run", "comparison.concluded", "attachment.saved",
                     "review.recorded"):
        assert any(a == expected for a in actions), expected
    assert not [text for text in shown_messages.texts if "Unexpected" in text]


def test_refusals_are_plain_the_edited_copy_locks_the_worksheet_and_others_only_read(
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
    case_ws: Workstation,
    admin: SignedInUser,
    examiner: SignedInUser,
    make_main_window: object,
    shown_messages: ShownMessages,
    lfw_dir: Path,
) -> None:
    ws = case_ws
    rex = second_examiner(ws, admin)
    window = make_main_window(examiner, ensure_model=False)  # type: ignore[operator]
    window.show()
    screens = install_case_screens(window)
    assert isinstance(screens, CaseScreens)
    desk = screens.desk
    form = IntakeForm(
        case_number="2026-CR-0077", requesting_officer="Det. Ruiz", requesting_agency="PD",
        purpose_code="IV.B.1c", offense="Missing person", narrative="Found wandering.",
        probe_source="agency_personnel", probe_obtained_how="Photographed at the station.",
        attests_lawful_source=True, attests_not_protected_basis=True,
        attests_actual_subject=True,
    )
    request_id = desk.create_request(form)
    shown = desk.add_probe_file(request_id, str(lfw_path(lfw_dir, *PROBE_PERSON)))
    desk.edit_probe(shown.probe_id, 0, "gamma", {"gamma": 1.3})
    page = screens.open_case(request_id)
    qtbot.waitUntil(lambda: page.state is not None and page.shown is not None, timeout=WAIT)
    assert page.shown.version_id == 0  # a case opens on the original

    # Eve has no training on record: casework refuses the search, in its own words.
    qtbot.waitUntil(page.search_button.isEnabled, timeout=WAIT)
    qtbot.mouseClick(page.search_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(shown_messages.texts), timeout=WAIT)
    refusal = shown_messages.texts[-1]
    assert "training" in refusal and "Unexpected" not in refusal and "Traceback" not in refusal
    assert page.search is None

    qualify(ws, admin, examiner)
    with qtbot.waitSignal(page.search_shown, timeout=WAIT):
        qtbot.mouseClick(page.search_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.search is not None, timeout=WAIT)
    comparison = page.comparison
    with qtbot.waitSignal(comparison.loaded, timeout=WAIT):
        page.open_candidate(0)
    screen = comparison.compare_screen
    assert screen.view.has_edited_probe()
    panel = screen.worksheet
    total = len(ws.worksheet.item_ids)
    screen.view.set_probe_version(ProbeVersion.EDITED)
    assert "EDITED copy is shown" in comparison.state_label.text()
    panel.setFocus()
    qtbot.keyClick(panel, Qt.Key.Key_1)  # locked: answers are given on the original only
    assert panel.progress_text() == f"0 of {total} answered"
    screen.view.set_probe_version(ProbeVersion.ORIGINAL)
    assert "EDITED" not in comparison.state_label.text()
    panel.setFocus()
    qtbot.keyClick(panel, Qt.Key.Key_2)
    assert panel.progress_text() == f"1 of {total} answered"
    qtbot.waitUntil(lambda: comparison.current_summary() is not None
                    and comparison.current_summary().progress.answered == 1, timeout=WAIT)
    for _ in range(total - 1):
        qtbot.keyClick(panel, Qt.Key.Key_3)
    qtbot.waitUntil(lambda: comparison.current_summary().progress.complete, timeout=WAIT)
    qtbot.mouseClick(panel.conclusion_buttons[Conclusion.NOT_A_LEAD], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: comparison.current_summary().status == "concluded", timeout=WAIT)

    # No second review: the reason is the policy's to judge, and a refusal is plain.
    reasons = iter(["too busy", "Not practicable because no other trained examiner is on duty"])
    monkeypatch.setattr(QInputDialog, "getMultiLineText",
                        staticmethod(lambda *args, **kwargs: (next(reasons), True)))
    assert comparison.skip_button.isEnabled()
    before = len(shown_messages.texts)
    qtbot.mouseClick(comparison.skip_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(shown_messages.texts) > before, timeout=WAIT)
    assert "not practicable" in shown_messages.texts[-1]
    qtbot.mouseClick(comparison.skip_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: comparison.current_summary().review_state == "skipped",
                    timeout=WAIT)
    assert not comparison.skip_button.isEnabled()
    assert comparison.state_label.text() == (
        "Concluded: not a lead; no second review (reason recorded)."
    )

    # Another examiner may read the case but not work on it.
    window2 = make_main_window(rex, ensure_model=False)  # type: ignore[operator]
    screens2 = install_case_screens(window2)
    assert isinstance(screens2, CaseScreens)
    other = screens2.open_case(request_id)
    qtbot.waitUntil(lambda: other.state is not None and other.search is not None, timeout=WAIT)
    assert not other.state.can_work
    assert "assigned to eve" in other.blockers_label.text()
    assert not other.search_button.isEnabled()
    assert not other.probe_panel.add_button.isEnabled()
    assert not other.probe_panel.edit_tools.isEnabled()
    assert not [text for text in shown_messages.texts if "Unexpected" in text]


def test_acknowledgment_is_recorded_from_the_case_page_and_the_layout_is_remembered(
    qtbot: QtBot,
    ws: Workstation,
    examiner: SignedInUser,
    make_main_window: object,
    shown_messages: ShownMessages,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    window = make_main_window(examiner, ensure_model=False)  # type: ignore[operator]
    window.show()
    screens = install_case_screens(window)
    assert isinstance(screens, CaseScreens)
    request_id = screens.desk.create_request(IntakeForm(
        case_number="2026-CR-0100", requesting_officer="Lt. Marsh", requesting_agency="PD",
        purpose_code="IV.B.1d", offense="Unattended death", narrative="Unidentified deceased.",
        probe_source="other_agency", probe_obtained_how="Sent by the county coroner.",
        attests_lawful_source=True, attests_not_protected_basis=True,
        attests_actual_subject=True, interagency=True, submitting_agency="County Coroner",
    ))
    page = screens.open_case(request_id)
    qtbot.waitUntil(lambda: page.state is not None, timeout=WAIT)
    assert "NOT recorded" in page.summary.agency.text()
    assert page.summary.ack_button.isVisible()
    monkeypatch.setattr(QInputDialog, "getText",
                        staticmethod(lambda *args, **kwargs: ("Dr. Okafor", True)))
    qtbot.mouseClick(page.summary.ack_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.state.request.acknowledgment_recorded, timeout=WAIT)
    assert "acknowledgment recorded (Dr. Okafor" in page.summary.agency.text()
    assert not page.summary.ack_button.isVisible()

    # The queue and case splitters come back as the examiner left them.
    page.splitter.setSizes([300, 900])
    screens.queue.splitter.setSizes([330, 900])
    wanted = (page.splitter.sizes(), screens.queue.splitter.sizes())
    window.save_window_state()
    window2 = make_main_window(examiner, ensure_model=False)  # type: ignore[operator]
    window2.resize(window.size())
    window2.show()
    screens2 = install_case_screens(window2)
    assert isinstance(screens2, CaseScreens)
    page2 = screens2.open_case(request_id)
    qtbot.waitUntil(lambda: page2.state is not None, timeout=WAIT)
    assert (page2.splitter.sizes(), screens2.queue.splitter.sizes()) == wanted
