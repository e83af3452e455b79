"""The candidate list as a grid of photo cards: thumbnail, rank, score (explained in the tooltip,
never a percent), photo date and most recent photo date; List/Grid and Ctrl+G switch the view
keeping the selection; Enter and double-click open the comparison from the grid too; the
pictures are kept for the session so a case opens again with its pictures at once; the choice of
list or grid is remembered."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from case_ui_support import enrol_gallery
from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.casework.accounts import SignedInUser
from app.casework.index_sync import forget_open_indexes
from app.casework.workstation import Workstation
from app.ui import case_desk
from app.ui.case_desk import CaseDesk
from app.ui.case_screens import CaseScreens, install_case_screens
from app.ui.case_views import CandidateRow, IntakeForm
from app.ui.qt_candidate_list import CARD_COLUMN, GRID_THUMB_SIZE, THUMB_SIZE, QtCandidateList
from app.ui.qt_main_window import QtMainWindow

TOOLTIP = "Smaller is more similar. It is not a probability."
ROWS = [
    CandidateRow(11, 1, 0.412, "SID-1", 5, date(2019, 1, 1), date(2023, 6, 1)),
    CandidateRow(12, 2, 0.55, "SID-2", 6, date(2020, 1, 1), date(2020, 1, 1), "not_a_lead"),
    CandidateRow(13, 3, 0.61, "SID-3", 7, None, None, None, "4 of 21 answered"),
]


def shown_list(qtbot: QtBot) -> QtCandidateList:
    widget = QtCandidateList()
    qtbot.addWidget(widget)
    widget.set_candidates(ROWS, caption="Search 1", metric="euclidean", score_tooltip=TOOLTIP)
    widget.resize(900, 600)
    widget.show()
    qtbot.waitExposed(widget)
    widget.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is widget, timeout=2000)
    return widget


def test_grid_cards_show_rank_score_and_dates_never_a_percent(qtbot: QtBot) -> None:
    widget = shown_list(qtbot)
    model = widget.model
    assert widget.table.isColumnHidden(CARD_COLUMN)  # the card belongs to the grid only
    first = model.data(model.index(0, CARD_COLUMN))
    assert first.splitlines() == ["#1  distance 0.412", "SID-1", "photo 2019-01-01",
                                  "most recent 2023-06-01 (newer)", "not compared yet"]
    assert model.data(model.index(1, CARD_COLUMN)).splitlines()[-1] == "Not a lead"
    third = model.data(model.index(2, CARD_COLUMN)).splitlines()
    assert third[2:4] == ["photo unknown", "most recent unknown"]
    assert third[-1] == "4 of 21 answered"
    tip = model.data(model.index(0, CARD_COLUMN), Qt.ItemDataRole.ToolTipRole)
    assert TOOLTIP in tip and "distance 0.412" in tip and "newer" in tip
    for row in range(len(ROWS)):
        for role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            text = str(model.data(model.index(row, CARD_COLUMN), role))
            assert "%" not in text and "match" not in text.lower()

    # Before its picture arrives a card shows a grey square of the final size; then the photo,
    # larger than the list's thumbnail.
    waiting = model.data(model.index(0, CARD_COLUMN), Qt.ItemDataRole.DecorationRole)
    assert isinstance(waiting, QPixmap) and waiting.width() == GRID_THUMB_SIZE
    assert not model.has_thumbnail(11)
    picture = np.zeros((256, 200, 3), dtype=np.uint8)
    picture[:, :, 0] = 200
    widget.set_thumbnail(11, picture)
    card = model.data(model.index(0, CARD_COLUMN), Qt.ItemDataRole.DecorationRole)
    small = model.data(model.index(0, 0), Qt.ItemDataRole.DecorationRole)
    assert card.height() == GRID_THUMB_SIZE and small.height() == THUMB_SIZE
    assert card.toImage().pixelColor(card.width() // 2, card.height() // 2).red() > 150

    changes: list[tuple[int, int, int, int]] = []
    model.dataChanged.connect(lambda top, bottom, _roles: changes.append(
        (top.row(), top.column(), bottom.row(), bottom.column())))
    widget.set_thumbnails({12: picture, 13: picture})  # as the worker delivers them: at once
    assert model.has_thumbnail(12) and model.has_thumbnail(13)
    assert changes == [(1, 0, 2, CARD_COLUMN)]  # one change for both rows and both views


def test_list_and_grid_switch_keeping_the_selection_and_open_by_keyboard(qtbot: QtBot) -> None:
    widget = shown_list(qtbot)
    assert not widget.grid_mode() and widget.list_button.isChecked()
    widget.select_row(1)
    qtbot.mouseClick(widget.grid_button, Qt.MouseButton.LeftButton)
    assert widget.grid_mode() and widget.grid.isVisible() and not widget.table.isVisible()
    assert widget.grid.selectionModel().isRowSelected(1)
    assert widget.current_row() == 1

    # Cards side by side in rows, each with room for the picture and its lines.
    first = widget.grid.visualRect(widget.model.index(0, CARD_COLUMN))
    second = widget.grid.visualRect(widget.model.index(1, CARD_COLUMN))
    assert first.width() >= GRID_THUMB_SIZE and first.height() > GRID_THUMB_SIZE
    longest = widget.grid.fontMetrics().horizontalAdvance("most recent 2023-06-01 (newer)")
    assert first.width() >= longest  # the card's lines are never cut short
    assert second.left() > first.left() and second.top() == first.top()

    activated: list[int] = []
    widget.candidate_activated.connect(activated.append)
    widget.grid.setFocus()
    qtbot.keyClick(widget.grid, Qt.Key.Key_Right)  # arrow keys move through the cards
    assert widget.current_row() == 2
    qtbot.keyClick(widget.grid, Qt.Key.Key_Return)
    assert activated == [2]
    qtbot.mouseClick(widget.grid.viewport(), Qt.MouseButton.LeftButton, pos=first.center())
    assert widget.current_row() == 0
    qtbot.mouseDClick(widget.grid.viewport(), Qt.MouseButton.LeftButton, pos=first.center())
    assert activated == [2, 0]

    qtbot.keyClick(widget.grid, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier)
    assert not widget.grid_mode() and widget.table.hasFocus()
    assert widget.current_row() == 0 and widget.table.selectionModel().isRowSelected(0)
    qtbot.keyClick(widget.table, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier)
    assert widget.grid_mode() and widget.grid.hasFocus()


def test_thumbnails_are_kept_for_the_session_least_recently_used_dropped(
    ws: Workstation, admin: SignedInUser, examiner: SignedInUser, lfw_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    forget_open_indexes()
    photos = list(enrol_gallery(ws, admin, lfw_dir).values())
    desk = CaseDesk(ws, examiner)
    reads: list[int] = []
    read_photo = case_desk.case_gallery.photo_image

    def counted(ws: Workstation, *, photo_id: int) -> bytes:
        reads.append(photo_id)
        return read_photo(ws, photo_id=photo_id)

    monkeypatch.setattr(case_desk.case_gallery, "photo_image", counted)
    monkeypatch.setattr(case_desk, "THUMBNAIL_CACHE_SIZE", 3)
    first = desk.thumbnail(photos[0])
    assert first.ndim == 3 and min(first.shape[:2]) >= 128 and first.dtype == np.uint8
    assert desk.thumbnail(photos[0]) is first and reads == [photos[0]]  # kept, not read again
    for photo in photos[1:4]:
        desk.thumbnail(photo)
    assert reads == photos[:4]
    desk.thumbnail(photos[3])
    assert reads == photos[:4]
    again = desk.thumbnail(photos[0])  # the least recently used one was dropped: read again
    assert reads == [*photos[:4], photos[0]] and np.array_equal(again, first)
    forget_open_indexes()


def _request(screens: CaseScreens, ws: Workstation, case_number: str) -> int:
    return screens.desk.create_request(IntakeForm(
        case_number=case_number, requesting_officer="Det. Ray", requesting_agency="PD",
        purpose_code=ws.profile.purposes[0].code, offense="Burglary", narrative="Door camera.",
        probe_source="agency_personnel", probe_obtained_how="Exported by Det. Ray.",
        attests_lawful_source=True, attests_not_protected_basis=True,
        attests_actual_subject=True,
    ))


def test_the_choice_of_list_or_grid_is_remembered(
    qtbot: QtBot, ws: Workstation, examiner: SignedInUser,
    make_main_window: Callable[..., object],
) -> None:
    window = make_main_window(examiner, ensure_model=False)
    assert isinstance(window, QtMainWindow)
    screens = install_case_screens(window)
    assert isinstance(screens, CaseScreens)
    first, second = _request(screens, ws, "2026-CR-0201"), _request(screens, ws, "2026-CR-0202")
    page = screens.open_case(first)
    assert not page.candidates.grid_mode()  # the list until the examiner chooses the grid
    page.candidates.grid_button.click()
    assert page.candidates.grid_mode()
    assert screens.open_case(second).candidates.grid_mode()  # the next case opens as a grid

    later = make_main_window(examiner, ensure_model=False)  # the next session, same machine
    assert isinstance(later, QtMainWindow)
    later_screens = install_case_screens(later)
    assert isinstance(later_screens, CaseScreens)
    again = later_screens.open_case(first)
    assert again.candidates.grid_mode()
    again.candidates.list_button.click()
    assert not later_screens.open_case(second).candidates.grid_mode()
