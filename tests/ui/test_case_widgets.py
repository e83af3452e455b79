"""The case screens' widgets on plain data (no database): queue filters and counts, the new
request form's gate, picking a face by click or key, dropped pictures, edit tools, the quality
panel and the candidate list's wording."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from pytestqt.qtbot import QtBot
from shell_support import ShownMessages

from app.errors import PolicyViolation
from app.policy.profiles import load_profile
from app.ui.case_views import (
    CandidateRow,
    FaceBox,
    IntakeForm,
    QueueFilter,
    QueueKind,
    QueueResult,
    RequestRow,
    quality_rows,
)
from app.ui.qt_candidate_list import QtCandidateList
from app.ui.qt_case_queue import QtCaseQueue
from app.ui.qt_new_request import QtCheckLabel, QtNewRequestDialog
from app.ui.qt_probe_image import QtProbeImageView
from app.ui.qt_probe_tools import QtEditTools, QtQualityPanel

MPTC = load_profile("mptc-2019")


def _row(request_id: int, case_number: str) -> RequestRow:
    return RequestRow(
        request_id=request_id, request_number=f"REQ-2026-{request_id:06d}",
        case_number=case_number, purpose_code="IV.B.1a", purpose_text="To identify...",
        status="open", status_label="Open", opened_at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
        examiner="eve", requesting_agency="Springfield PD", offense="Robbery",
        interagency=True, submitting_agency="County SO",
    )


class FakeLoader:
    def __init__(self) -> None:
        self.calls: list[tuple[QueueKind, QueueFilter]] = []

    def __call__(self, kind: QueueKind, queue_filter: QueueFilter) -> QueueResult:
        self.calls.append((kind, queue_filter))
        rows = [_row(1, "2026-0001"), _row(2, "2026-0002")]
        kept = [r for r in rows if queue_filter.matches(r)]
        return QueueResult(kind, tuple(kept), {QueueKind.MINE: 2, QueueKind.RETURNED: 1},
                           (("open", "Open"), ("closed", "Closed")))


def test_queue_counts_filters_and_opening(qtbot: QtBot) -> None:
    loader = FakeLoader()
    queue = QtCaseQueue(loader=loader, purposes=[(p.code, p.text) for p in MPTC.purposes],
                        kinds=[QueueKind.MINE, QueueKind.RETURNED])
    qtbot.addWidget(queue)
    with qtbot.waitSignal(queue.loaded):
        queue.refresh()
    labels = [queue.sidebar.item(i).text() for i in range(queue.sidebar.count())]
    assert labels == ["My open requests (2)", "Returned to me (1)"]
    assert queue.model.rowCount() == 2
    assert queue.model.data(queue.model.index(0, 6)) == "Springfield PD (via County SO)"
    assert queue.status_combo.count() == 3  # any + the statuses casework knows

    with qtbot.waitSignal(queue.loaded, timeout=3000):
        queue.case_edit.setText("0002")  # typing: one load after the pause
    assert loader.calls[-1][1].case_number == "0002"
    assert queue.model.rowCount() == 1

    queue.date_check.setChecked(True)
    qtbot.waitUntil(lambda: loader.calls[-1][1].opened_from is not None)
    calls = len(loader.calls)
    queue.from_date.setDate(date(2026, 5, 1))
    queue.to_date.setDate(date(2026, 4, 1))
    queue.refresh()
    assert "after the 'to' date" in queue.status_label.text()
    assert len(loader.calls) == calls  # a backwards range is not sent to the database

    queue.clear_filters()
    qtbot.waitUntil(lambda: queue.model.rowCount() == 2)
    opened: list[int] = []
    queue.open_requested.connect(opened.append)
    queue.table.selectRow(1)
    queue.table.setFocus()
    qtbot.keyClick(queue.table, Qt.Key.Key_Return)
    assert opened == [queue.model.row_at(1).request_id]


def test_new_request_create_stays_disabled_with_the_reasons(
    qtbot: QtBot, shown_messages: ShownMessages
) -> None:
    made: list[IntakeForm] = []

    def creator(form: IntakeForm) -> int:
        made.append(form)
        if len(made) == 1:
            raise PolicyViolation("The examiner's training expired on 2026-01-01.")
        return 7

    dialog = QtNewRequestDialog(MPTC, creator=creator)
    qtbot.addWidget(dialog)
    assert not dialog.create_button.isEnabled()
    assert len(dialog.reasons()) == 11
    assert [dialog.purpose_list.item(i).data(Qt.ItemDataRole.UserRole)
            for i in range(dialog.purpose_list.count())] == [p.code for p in MPTC.purposes]
    assert MPTC.purposes[5].text in dialog.purpose_list.item(5).text()  # the full wording
    for edit, text in ((dialog.case_number_edit, "2026-0042"), (dialog.officer_edit, "Det. R"),
                       (dialog.agency_edit, "PD"), (dialog.offense_edit, "Robbery")):
        edit.setText(text)
    dialog.narrative_edit.setPlainText("Camera still.")
    dialog.obtained_edit.setPlainText("Store recorder.")
    dialog.purpose_list.setCurrentRow(2)
    dialog.source_combo.setCurrentIndex(1)
    dialog.kind_combo.setCurrentIndex(dialog.kind_combo.findData("composite_sketch"))
    assert any("sketch" in r.lower() for r in dialog.reasons())
    dialog.kind_combo.setCurrentIndex(0)
    dialog.interagency_check.setChecked(True)
    assert any("agency" in r.lower() for r in dialog.reasons())
    dialog.submitting_edit.setText("County SO")
    dialog.ack_edit.setText("Lt. Hale")
    labels = dialog.findChildren(QtCheckLabel)
    assert [label.buddy() for label in labels] == list(dialog.attestation_checks.values())
    assert MPTC.attestations.not_protected_basis.text in labels[1].text()  # the policy's words
    qtbot.mouseClick(labels[0], Qt.MouseButton.LeftButton)  # the wrapped text ticks its box
    assert dialog.attestation_checks["lawful_source"].isChecked()
    for box in list(dialog.attestation_checks.values())[1:]:
        assert not dialog.create_button.isEnabled()
        box.setChecked(True)
    assert dialog.create_button.isEnabled(), dialog.reasons()
    assert dialog.reasons_label.text() == "The request is complete."

    qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(shown_messages.texts))
    assert shown_messages.texts == ["The examiner's training expired on 2026-01-01."]
    qtbot.waitUntil(dialog.create_button.isEnabled)  # refused: the form stays for a retry
    with qtbot.waitSignal(dialog.created) as created:
        qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
    assert created.args == [7] and dialog.request_id == 7
    form = made[-1]
    intake = form.to_intake()
    assert intake.purpose_code == MPTC.purposes[2].code and intake.interagency
    assert intake.submitting_agency == "County SO" and form.acknowledged_by == "Lt. Hale"


def _picture() -> np.ndarray:
    return np.full((200, 400, 3), 90, dtype=np.uint8)


def test_probe_view_picks_faces_by_click_and_number(qtbot: QtBot) -> None:
    view = QtProbeImageView()
    qtbot.addWidget(view)
    view.resize(600, 340)
    view.show()
    faces = [FaceBox(0, (40, 40, 80, 80), 0.9), FaceBox(1, (260, 50, 90, 90), 0.8)]
    view.set_image(_picture(), faces, None, "Original: test")
    clicked: list[int] = []
    view.face_clicked.connect(clicked.append)
    centre = view.to_widget(faces[1].box).center()
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton,
                     pos=QPoint(round(centre.x()), round(centre.y())))
    corner = view.to_widget((0, 0, 1, 1)).center()  # the picture, but no face
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton,
                     pos=QPoint(round(corner.x()) + 2, round(corner.y()) + 2))
    qtbot.keyClick(view, Qt.Key.Key_1)
    qtbot.keyClick(view, Qt.Key.Key_5)  # no fifth face
    assert clicked == [1, 0]
    assert view.to_image(QPointF(-5, -5)) is None


def test_probe_view_takes_a_dropped_picture_file(qtbot: QtBot, tmp_path: Path) -> None:
    view = QtProbeImageView()
    qtbot.addWidget(view)
    view.resize(400, 300)
    view.show()
    picture = tmp_path / "probe.jpg"
    picture.write_bytes(b"not checked here")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(picture))])
    event = QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(view.file_dropped) as dropped:
        view.dropEvent(event)  # Qt delivers drops only inside a real drag loop
    assert dropped.args == [str(picture)]


def test_edit_tools_offer_only_the_profiles_edits_and_fill_a_face_crop(qtbot: QtBot) -> None:
    tools = QtEditTools(MPTC.allowed_edits)
    qtbot.addWidget(tools)
    names = [tools.combo.itemData(i) for i in range(tools.combo.count())]
    assert "mirror" not in names and {"crop", "rotate", "gamma", "sharpen"} <= set(names)
    assert not tools.apply_button.isEnabled()  # nothing shown yet
    tools.set_context((400, 200), (100, 50, 60, 80))
    tools.choose("crop")
    previews: list[object] = []
    tools.preview_changed.connect(previews.append)
    tools.face_crop_button.click()
    crop = tools.editor("crop").values()
    assert crop == {"x": 64, "y": 2, "width": 132, "height": 176}
    assert previews[-1] == (64.0, 2.0, 132.0, 176.0)
    assert tools.editor("crop").boxes["width"].maximum() == 400
    requested: list[tuple[str, dict]] = []
    tools.edit_requested.connect(lambda name, params: requested.append((name, params)))
    tools.choose("gamma")
    tools.editor("gamma").set_value("gamma", 1.4)
    tools.apply()
    assert requested == [("gamma", {"gamma": 1.4})]


def test_quality_panel_words_and_candidate_list_never_shows_a_percentage(qtbot: QtBot) -> None:
    panel = QtQualityPanel()
    qtbot.addWidget(panel)
    rows = quality_rows([
        {"name": "inter_eye_distance", "value": 38.0, "unit": "px", "level": "warn",
         "message": "Eyes only 38 pixels apart."},
        {"name": "sharpness", "value": 20.0, "unit": "index", "level": "ok", "message": "Sharp."},
    ])
    panel.set_rows(rows, ["The picture was turned upright (EXIF orientation 6)."])
    assert panel.summary.text().startswith("1 quality warning")
    assert panel.warning_texts() == [
        "The picture was turned upright (EXIF orientation 6).", "Eyes only 38 pixels apart.",
    ]
    assert panel.table.item(1, 1).text() == "20"

    candidates = QtCandidateList()
    qtbot.addWidget(candidates)
    listed = [
        CandidateRow(11, 1, 0.412, "SID-1", 5, date(2019, 1, 1), date(2023, 6, 1)),
        CandidateRow(12, 2, 0.55, "SID-2", 6, date(2020, 1, 1), date(2020, 1, 1), "not_a_lead"),
    ]
    candidates.set_candidates(listed, caption="Search 1", metric="euclidean",
                              score_tooltip="Smaller is more similar. It is not a probability.")
    model = candidates.model
    shown = [str(model.data(model.index(r, c))) for r in range(2) for c in range(7)]
    assert not any("%" in text or "match" in text.lower() for text in shown)
    assert model.data(model.index(0, 2)) == "distance 0.412"
    assert "not a probability" in model.data(model.index(0, 2), Qt.ItemDataRole.ToolTipRole)
    assert model.data(model.index(0, 5)) == "2023-06-01 (newer)"
    assert model.data(model.index(1, 6)) == "Not a lead"
    activated: list[int] = []
    candidates.candidate_activated.connect(activated.append)
    candidates.table.selectRow(1)
    qtbot.keyClick(candidates.table, Qt.Key.Key_Return)
    assert activated == [1]
    candidates.set_thumbnail(11, _picture())
    assert model.has_thumbnail(11)
    candidates.set_candidates(listed, caption="Search 1 again", metric="euclidean",
                              score_tooltip="")
    assert model.has_thumbnail(11) and candidates.current_row() == 1  # a refresh keeps both


@pytest.mark.parametrize("kinds", [[QueueKind.ALL], [QueueKind.MINE, QueueKind.DISAGREEMENTS]])
def test_queue_shows_only_the_queues_given(qtbot: QtBot, kinds: list[QueueKind]) -> None:
    queue = QtCaseQueue(loader=FakeLoader(), purposes=[], kinds=kinds)
    qtbot.addWidget(queue)
    assert [queue.sidebar.item(i).text() for i in range(queue.sidebar.count())] == [
        kind.label for kind in kinds
    ]
    assert queue.current_kind() is kinds[0]
