"""The comparison widgets: panes, synchronised view, modes, feature strip, worksheet, screen."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import io
import sys
from collections.abc import Mapping
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from comparison_faces import lfw_face, synthetic_face, worksheet_items
from PIL import Image
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication, QLabel, QWidget
from pytestqt.qtbot import QtBot

from app.errors import PolicyViolation
from app.ui.comparison.model import (
    Answer,
    CandidateView,
    ComparisonMode,
    FaceSide,
    Layer,
    ProbeVersion,
    WorksheetItemView,
)
from app.ui.comparison.qt_comparison_screen import BANNER_TEXT, QtComparisonScreen
from app.ui.comparison.qt_comparison_view import QtComparisonView
from app.ui.comparison.qt_face_graphics import FaceGraphics
from app.ui.comparison.qt_feature_strip import QtFeaturePair, QtFeatureStrip
from app.ui.comparison.qt_image_pane import QtImagePane
from app.ui.comparison.qt_worksheet_panel import QtWorksheetPanel

PROBE_BG = (40, 60, 200)
CANDIDATE_BG = (30, 190, 60)


# -- fixtures (kept here: tests/ui/conftest.py belongs to the GUI shell) -----------------------
@pytest.fixture(scope="module")
def probe() -> FaceSide:
    return synthetic_face(width=640, height=520, eye_distance=90, center=(300, 230),
                          label="probe", background=PROBE_BG)


@pytest.fixture(scope="module")
def edited_probe() -> FaceSide:
    return synthetic_face(width=640, height=520, eye_distance=90, center=(300, 230),
                          label="probe edited", skin=(235, 200, 170), background=PROBE_BG)


@pytest.fixture(scope="module")
def candidate_faces() -> list[FaceSide]:
    # Different size, scale, rotation and position: only the eyes line them up.
    return [
        synthetic_face(width=300, height=380, eye_distance=60, center=(150, 160), angle_deg=12,
                       label="cand-a", background=CANDIDATE_BG),
        synthetic_face(width=500, height=600, eye_distance=140, center=(240, 260),
                       angle_deg=-8, label="cand-b", skin=(160, 120, 90),
                       background=CANDIDATE_BG),
        synthetic_face(width=260, height=300, eye_distance=70, center=(130, 140),
                       label="cand-c", background=CANDIDATE_BG),
    ]


@pytest.fixture(scope="module")
def lfw_pair(lfw_dir: Path) -> tuple[FaceSide, FaceSide]:
    return (lfw_face(lfw_dir / "Colin_Powell" / "Colin_Powell_0001.jpg"),
            lfw_face(lfw_dir / "Colin_Powell" / "Colin_Powell_0002.jpg"))


def make_candidates(faces: list[FaceSide]) -> list[CandidateView]:
    return [
        CandidateView(rank=n + 1, score_text=f"0.{71 - 9 * n}",
                      score_tooltip="Cosine similarity of the dlib ResNet model.",
                      subject_reference=f"NYSID-{100 + n}", photo_date=date(2016, 3, n + 1),
                      most_recent_photo_date=date(2021, 7, 9), face=face)
        for n, face in enumerate(faces)
    ]


def gate_all_answered(items: list[WorksheetItemView]):  # type: ignore[no-untyped-def]
    def gate(answers: Mapping[str, str]) -> tuple[bool, str]:
        missing = len(items) - len(answers)
        return (missing == 0, f"{missing} items unanswered" if missing else "")

    return gate


def show(qtbot: QtBot, widget: QWidget, width: int = 1200, height: int = 800) -> None:
    qtbot.addWidget(widget)
    widget.resize(width, height)
    widget.show()
    qtbot.waitExposed(widget)
    widget.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is widget, timeout=2000)


def viewport_point(pane: QtImagePane, graphics: FaceGraphics, point: tuple[float, float]
                   ) -> QPointF:
    """Where an image point of a face lands in the pane's viewport (float pixels)."""
    scene = graphics.root.sceneTransform().map(QPointF(*point))
    return pane.viewportTransform().map(scene)


def assert_close(a: QPointF, b: QPointF, tolerance: float = 1.5) -> None:
    assert abs(a.x() - b.x()) <= tolerance and abs(a.y() - b.y()) <= tolerance, (a, b)


def wheel(pane: QtImagePane, position: QPointF, notches: int) -> None:
    event = QWheelEvent(
        position, pane.viewport().mapToGlobal(position), QPoint(0, 0), QPoint(0, 120 * notches),
        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(pane.viewport(), event)


def mouse(widget: QWidget, kind: QEvent.Type, x: float, y: float,
          buttons: Qt.MouseButton = Qt.MouseButton.LeftButton) -> None:
    button = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseMove else Qt.MouseButton.LeftButton
    event = QMouseEvent(kind, QPointF(x, y), widget.mapToGlobal(QPointF(x, y)), button, buttons,
                        Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


def png_image(data: bytes) -> Image.Image:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.fixture
def view(qtbot: QtBot, probe: FaceSide, edited_probe: FaceSide,
         candidate_faces: list[FaceSide]) -> QtComparisonView:
    widget = QtComparisonView()
    widget.set_probe(probe, edited_probe)
    widget.set_candidate(candidate_faces[0], "#1")
    show(qtbot, widget, 1000, 600)
    widget.fit_face()
    return widget


@pytest.fixture
def screen(qtbot: QtBot, probe: FaceSide, edited_probe: FaceSide,
           candidate_faces: list[FaceSide]) -> QtComparisonScreen:
    items = worksheet_items()
    widget = QtComparisonScreen()
    widget.load(probe=probe, probe_edited=edited_probe, items=items,
                candidates=make_candidates(candidate_faces),
                conclusion_allowed=gate_all_answered(items))
    show(qtbot, widget, 1300, 850)
    return widget


# -- image pane -----------------------------------------------------------------------------
def test_pane_fit_and_one_to_one_keys(qtbot: QtBot, probe: FaceSide) -> None:
    pane = QtImagePane()
    pane.set_face(probe)
    show(qtbot, pane, 500, 400)
    pane.setFocus()
    qtbot.keyClick(pane, Qt.Key.Key_1)
    assert pane.image_pixel_scale() == pytest.approx(1.0)
    qtbot.keyClick(pane, Qt.Key.Key_F)
    # The face box (3.2 x 4.1 eye distances) fills the viewport's limiting side.
    eyes = viewport_point(pane, pane.primary, probe.eye_points[1]).x() - viewport_point(  # type: ignore[arg-type]
        pane, pane.primary, probe.eye_points[0]).x()  # type: ignore[arg-type]
    assert eyes * 4.1 == pytest.approx(pane.viewport().height() * 0.96, rel=0.02)
    qtbot.keyClick(pane, Qt.Key.Key_F, Qt.KeyboardModifier.ShiftModifier)
    rect = pane.mapFromScene(pane.primary.frame_rect()).boundingRect()  # type: ignore[union-attr]
    assert rect.width() <= pane.viewport().width() + 1
    assert max(rect.width() / pane.viewport().width(),
               rect.height() / pane.viewport().height()) == pytest.approx(0.96, abs=0.02)


def test_pane_wheel_zooms_at_the_cursor_and_keys_zoom_and_pan(qtbot: QtBot,
                                                              probe: FaceSide) -> None:
    pane = QtImagePane()
    pane.set_face(probe)
    show(qtbot, pane, 500, 400)
    pane.fit_face()
    cursor = QPointF(120.0, 90.0)
    inverse, _ = pane.viewportTransform().inverted()
    under = inverse.map(cursor)
    before = pane.scale_factor()
    wheel(pane, cursor, 2)
    assert pane.scale_factor() == pytest.approx(before * 1.2**2)
    assert_close(pane.viewportTransform().map(under), cursor, 1.0)
    pane.setFocus()
    scale = pane.scale_factor()
    qtbot.keyClick(pane, Qt.Key.Key_Minus)
    assert pane.scale_factor() == pytest.approx(scale / 1.25)
    center = pane.center()
    qtbot.keyClick(pane, Qt.Key.Key_Right)
    assert pane.center().x() - center.x() == pytest.approx(48 / pane.scale_factor(), abs=0.6)


def test_layers_are_items_over_an_unchanged_pixmap(qtbot: QtBot, probe: FaceSide) -> None:
    pane = QtImagePane()
    graphics = pane.set_face(probe)
    assert graphics is not None
    show(qtbot, pane, 400, 300)
    key = graphics.pixmap_item.pixmap().cacheKey()
    before = pane.grab().toImage()
    for layer in Layer:
        assert not graphics.layers[layer].isVisible()
    pane.set_layer_visible(Layer.REGIONS, True)
    pane.set_layer_visible(Layer.LANDMARKS, True)
    pane.set_layer_visible(Layer.EYE_LINE, True)
    assert all(graphics.layers[layer].isVisible() for layer in Layer)
    assert graphics.region_items["right_ear"].pen().style() == Qt.PenStyle.DashLine  # estimated
    assert graphics.region_items["nose"].pen().style() == Qt.PenStyle.SolidLine
    assert "estimated" in graphics.labels["hairline"].text
    assert graphics.pixmap_item.pixmap().cacheKey() == key
    assert pane.grab().toImage() != before  # drawn over the picture on screen
    pane.set_layer_visible(Layer.REGIONS, False)
    assert not graphics.region_items["nose"].isVisible()
    assert graphics.pixmap_item.pixmap().cacheKey() == key
    assert probe.image.flags.writeable  # the caller's array is untouched by display


# -- synchronised view ----------------------------------------------------------------------
def test_zoom_in_one_pane_shows_the_same_facial_area_in_the_other(
        view: QtComparisonView, probe: FaceSide, candidate_faces: list[FaceSide]) -> None:
    left, right = view.probe_pane, view.candidate_pane
    wheel(left, QPointF(100.0, 150.0), 3)
    assert right.transform() == left.transform()
    for eye in (0, 1):
        assert_close(viewport_point(left, left.primary, probe.eye_points[eye]),  # type: ignore[arg-type, index]
                     viewport_point(right, right.primary, candidate_faces[0].eye_points[eye]))  # type: ignore[arg-type, index]
    # The candidate's eyes are level on screen although its picture is rotated by 12 degrees.
    a = viewport_point(right, right.primary, candidate_faces[0].eye_points[0])  # type: ignore[arg-type, index]
    b = viewport_point(right, right.primary, candidate_faces[0].eye_points[1])  # type: ignore[arg-type, index]
    assert abs(a.y() - b.y()) < 0.5


def test_pan_in_either_pane_follows_in_the_other(qtbot: QtBot, view: QtComparisonView) -> None:
    left, right = view.probe_pane, view.candidate_pane
    view.zoom_by(3.0)
    right.setFocus()
    start = left.center()
    qtbot.keyClick(right, Qt.Key.Key_Down)
    qtbot.keyClick(right, Qt.Key.Key_Left, Qt.KeyboardModifier.ShiftModifier)
    assert left.center().y() > start.y() and left.center().x() < start.x()
    assert_close(left.center(), right.center(), 1.0 / left.scale_factor())
    # Dragging pans too (hand drag on the viewport).
    vp = left.viewport()
    before = right.center()
    mouse(vp, QEvent.Type.MouseButtonPress, 200, 200)
    mouse(vp, QEvent.Type.MouseMove, 150, 170)
    mouse(vp, QEvent.Type.MouseButtonRelease, 150, 170, Qt.MouseButton.NoButton)
    assert right.center().x() > before.x() and right.center().y() > before.y()
    assert_close(left.center(), right.center(), 1.0 / left.scale_factor())


def test_overlay_opacity_slider_sets_the_candidate_opacity(qtbot: QtBot,
                                                           view: QtComparisonView) -> None:
    qtbot.keyClick(view.probe_pane, Qt.Key.Key_O)
    assert view.mode() is ComparisonMode.OVERLAY and view.stack.currentIndex() == 1
    blend = view.blend_pane
    assert blend.candidate is not None and blend.primary is not None
    view.opacity_slider.setValue(30)
    assert blend.candidate.root.opacity() == pytest.approx(0.30)
    assert blend.candidate.root.effectiveOpacity() == pytest.approx(0.30)
    qtbot.keyClick(view.blend_pane, Qt.Key.Key_BracketRight)
    assert blend.candidate.root.opacity() == pytest.approx(0.40)
    assert blend.primary.root.opacity() == 1.0 and blend.primary.root.isVisible()
    # The blend pane keeps the synchronised view: eyes of both faces at the same place.
    blend.zoom_by(2.0)
    for eye in (0, 1):
        assert_close(viewport_point(blend, blend.primary, blend.primary.face.eye_points[eye]),  # type: ignore[index]
                     viewport_point(blend, blend.candidate,
                                    blend.candidate.face.eye_points[eye]))  # type: ignore[index]
    assert view.probe_pane.transform() == blend.transform()


def test_wipe_divider_moves_the_clip(qtbot: QtBot, view: QtComparisonView) -> None:
    view.set_mode(ComparisonMode.WIPE)
    blend = view.blend_pane
    qtbot.waitUntil(lambda: blend.isVisible())
    vp = blend.viewport()

    def clip_left_px() -> float:
        return blend.viewportTransform().map(blend.clip_item.rect().topLeft()).x()

    assert clip_left_px() == pytest.approx(0.5 * vp.width(), abs=1.0)
    blend.set_divider(0.25)
    assert clip_left_px() == pytest.approx(0.25 * vp.width(), abs=1.0)
    # Drag the divider with the mouse.
    x = 0.25 * vp.width()
    mouse(vp, QEvent.Type.MouseButtonPress, x, vp.height() / 2)
    mouse(vp, QEvent.Type.MouseMove, 0.7 * vp.width(), vp.height() / 2)
    mouse(vp, QEvent.Type.MouseButtonRelease, 0.7 * vp.width(), vp.height() / 2,
          Qt.MouseButton.NoButton)
    assert blend.divider() == pytest.approx(0.7, abs=0.01)
    assert clip_left_px() == pytest.approx(0.7 * vp.width(), abs=1.0)
    qtbot.keyClick(blend, Qt.Key.Key_BracketLeft)
    assert blend.divider() == pytest.approx(0.65, abs=0.01)


def _background_at(graphics: FaceGraphics, scene: QPointF, colour: tuple[int, int, int]
                   ) -> bool:
    """Whether the face's picture has its plain background around this scene point."""
    inverse, _ = graphics.root.sceneTransform().inverted()
    point = inverse.map(scene)
    x, y = int(point.x()), int(point.y())
    image = graphics.face.image
    if not (3 <= x < image.shape[1] - 3 and 3 <= y < image.shape[0] - 3):
        return False
    patch = image[y - 3:y + 4, x - 3:x + 4].reshape(-1, 3)
    return bool((patch == np.array(colour)).all())


def test_wipe_shows_probe_left_and_candidate_right(qtbot: QtBot, view: QtComparisonView) -> None:
    view.set_mode(ComparisonMode.WIPE)
    blend = view.blend_pane
    blend.set_divider(0.5)
    view.fit_image()
    assert blend.primary is not None and blend.candidate is not None
    image = blend.viewport().grab().toImage()
    inverse, _ = blend.viewportTransform().inverted()
    checked = {"left": 0, "right": 0}
    for vx in range(4, image.width() - 4, 9):
        if abs(vx - image.width() / 2) < 6:
            continue
        for vy in range(40, image.height() - 4, 9):  # below the caption plate
            scene = inverse.map(QPointF(vx, vy))
            if not (_background_at(blend.primary, scene, PROBE_BG)
                    and _background_at(blend.candidate, scene, CANDIDATE_BG)):
                continue
            side = "left" if vx < image.width() / 2 else "right"
            expected = PROBE_BG if side == "left" else CANDIDATE_BG
            colour = image.pixelColor(vx, vy)
            got = (colour.red(), colour.green(), colour.blue())
            assert got == pytest.approx(expected, abs=3), (vx, vy, side)
            checked[side] += 1
    assert checked["left"] > 20 and checked["right"] > 20


def test_flicker_alternates_on_a_timer_and_pauses(qtbot: QtBot, view: QtComparisonView) -> None:
    blend = view.blend_pane
    view.rate_spin.setValue(10.0)
    view.set_mode(ComparisonMode.FLICKER)
    assert blend.primary is not None and blend.candidate is not None
    seen: list[bool] = []
    blend.flicker_switched.connect(seen.append)
    qtbot.waitUntil(lambda: len(seen) >= 3, timeout=3000)
    assert True in seen and False in seen
    assert blend.primary.root.isVisible() != blend.candidate.root.isVisible()
    assert blend.candidate.root.isVisible() == blend.showing_candidate
    qtbot.keyClick(blend, Qt.Key.Key_P)  # pause
    assert blend.flicker_paused and view.pause_button.isChecked()
    count = len(seen)
    qtbot.wait(350)
    assert len(seen) == count
    shown = blend.showing_candidate
    qtbot.keyClick(blend, Qt.Key.Key_Period)  # one step while paused
    assert blend.showing_candidate is not shown
    view.pause_button.click()  # resume
    assert blend.flicker_running
    view.hide()
    assert not blend.flicker_running  # no work while nobody sees it
    view.show()
    assert blend.flicker_running
    view.set_mode(ComparisonMode.SIDE_BY_SIDE)
    assert not blend.flicker_running


def test_layer_toggle_keys_reach_every_pane(qtbot: QtBot, view: QtComparisonView) -> None:
    panes = view.panes()
    keys = {Layer.LANDMARKS: Qt.Key.Key_L, Layer.REGIONS: Qt.Key.Key_R,
            Layer.EYE_LINE: Qt.Key.Key_E}
    view.probe_pane.setFocus()
    pixmaps = [p.primary.pixmap_item.pixmap().cacheKey() for p in panes]  # type: ignore[union-attr]
    for layer, key in keys.items():
        qtbot.keyClick(view.probe_pane, key)
        assert view.layer_visible(layer)
        for pane in panes:
            for graphics in pane.faces():
                assert graphics.layers[layer].isVisible()
    qtbot.keyClick(view.probe_pane, Qt.Key.Key_R)
    assert not view.candidate_pane.primary.layers[Layer.REGIONS].isVisible()  # type: ignore[union-attr]
    assert [p.primary.pixmap_item.pixmap().cacheKey() for p in panes] == pixmaps  # type: ignore[union-attr]


def test_probe_version_switch_keeps_the_view(qtbot: QtBot, view: QtComparisonView,
                                             edited_probe: FaceSide) -> None:
    assert view.probe_version() is ProbeVersion.ORIGINAL
    assert "ORIGINAL" in view.probe_caption.text()
    view.zoom_by(2.5)
    state = view.probe_pane.transform(), view.probe_pane.center()
    with qtbot.waitSignal(view.probe_version_changed) as signal:
        qtbot.keyClick(view.probe_pane, Qt.Key.Key_V)
    assert signal.args == ["edited"]
    assert view.probe_pane.primary.face is edited_probe  # type: ignore[union-attr]
    assert "EDITED" in view.probe_caption.text() and "original" in view.probe_caption.text()
    assert view.probe_pane.transform() == state[0]
    assert_close(view.probe_pane.center(), state[1], 0.01)
    view.set_probe(view.probe() or edited_probe)  # no edited copy: the switch is off
    assert not view.version_button.isEnabled()
    view.set_probe_version("edited")
    assert view.probe_version() is ProbeVersion.ORIGINAL


# -- feature strip --------------------------------------------------------------------------
def test_feature_strip_pairs_equal_crops_and_selects_items(qtbot: QtBot, probe: FaceSide,
                                                           candidate_faces: list[FaceSide]
                                                           ) -> None:
    strip = QtFeatureStrip()
    items = worksheet_items()
    strip.set_items(items)
    strip.set_faces(probe, candidate_faces[1])
    show(qtbot, strip, 900, 200)
    assert strip.regions_shown()[:2] == ["forehead", "hairline"]
    assert "right_eye" in strip.regions_shown() and "left_ear" in strip.regions_shown()
    for pair in strip.pairs.values():
        a, b = pair.probe_label.pixmap(), pair.candidate_label.pixmap()
        assert a.size() == b.size() and not a.isNull()
    assert strip.pairs["right_ear"].estimated and strip.pairs["hairline"].estimated
    assert "estimated" in strip.pairs["left_ear"].title_label.text()
    assert not strip.pairs["nose"].estimated
    # The eye crops line up: the iris in the middle of both, white sclera beside it.
    for label in (strip.pairs["right_eye"].probe_label, strip.pairs["right_eye"].candidate_label):
        image = label.pixmap().toImage()
        centre = image.pixelColor(image.width() // 2, image.height() // 2)
        assert (centre.red(), centre.green(), centre.blue()) == pytest.approx((60, 90, 50), abs=12)
        row = [image.pixelColor(x, image.height() // 2).lightness() for x in range(image.width())]
        assert max(row) > 235
    with qtbot.waitSignal(strip.item_requested) as signal:
        qtbot.mouseClick(strip.pairs["left_ear"], Qt.MouseButton.LeftButton)
    assert signal.args == ["ears"]
    strip.pairs["nose"].setFocus()
    with qtbot.waitSignal(strip.item_requested) as signal:
        qtbot.keyClick(strip.pairs["nose"], Qt.Key.Key_Return)
    assert signal.args == ["nose"]
    strip.set_selected_item("eyes")
    assert strip.pairs["left_eye"].selected and not strip.pairs["nose"].selected
    strip.set_only_selected(True)
    assert strip.regions_shown() == ["right_eye", "left_eye"]
    visible = [p.region for p in strip.findChildren(QtFeaturePair) if p.isVisible()]
    assert visible == ["right_eye", "left_eye"]  # no stale pairs left on screen


# -- worksheet panel ------------------------------------------------------------------------
def test_worksheet_keys_answer_move_and_count(qtbot: QtBot) -> None:
    items = worksheet_items()
    panel = QtWorksheetPanel()
    panel.set_items(items)
    panel.set_conclusion_gate(gate_all_answered(items))
    show(qtbot, panel, 500, 700)
    changes: list[tuple[str, str, str]] = []
    panel.answer_changed.connect(lambda *args: changes.append(args))
    panel.select_item("skin", focus=True)
    assert panel.progress_label.text() == f"0 of {len(items)} answered"
    qtbot.keyClick(panel.focusWidget(), Qt.Key.Key_1)
    assert changes[-1] == ("skin", "similar", "")
    assert panel.current_item_id() == "face_outline"
    qtbot.keyClick(panel.focusWidget(), Qt.Key.Key_2)
    qtbot.keyClick(panel.focusWidget(), Qt.Key.Key_3)
    assert panel.answers()["face_outline"].answer is Answer.NOT_SIMILAR
    assert panel.answers()["hair"].answer is Answer.NOT_VISIBLE
    assert panel.progress_label.text() == f"3 of {len(items)} answered"
    # N skips answered items; typing digits in a note writes text, never answers.
    panel.select_item("skin", focus=True)
    qtbot.keyClick(panel.focusWidget(), Qt.Key.Key_N)
    assert panel.current_item_id() == "forehead"
    note = panel._rows["forehead"].note
    note.setFocus()
    qtbot.keyClicks(note, "scar 1 cm")
    assert "forehead" not in panel.answers()
    qtbot.keyClick(note, Qt.Key.Key_Tab)
    panel._rows["forehead"].buttons[Answer.SIMILAR].click()
    assert panel.answers()["forehead"].note == "scar 1 cm"
    assert changes[-1] == ("forehead", "similar", "scar 1 cm")
    # Changing the note of an answered item is reported too.
    note.setText("scar 2 cm")
    note.editingFinished.emit()
    assert changes[-1] == ("forehead", "similar", "scar 2 cm")
    assert panel.answers()["forehead"].note == "scar 2 cm"


def test_conclusion_buttons_follow_the_gate(qtbot: QtBot) -> None:
    items = worksheet_items()
    panel = QtWorksheetPanel()
    panel.set_items(items)
    calls: list[int] = []

    def gate(answers: Mapping[str, str]) -> tuple[bool, str]:
        calls.append(len(answers))
        if any(value == "not_visible" for value in answers.values()) and len(answers) >= 3:
            return True, ""
        return False, "Policy: not yet"

    panel.set_conclusion_gate(gate)
    show(qtbot, panel, 500, 700)
    buttons = panel.conclusion_buttons.values()
    assert not any(b.isEnabled() for b in buttons)
    assert all(b.toolTip() == "Policy: not yet" for b in buttons)
    assert panel.reason_label.text() == "Policy: not yet"
    panel.select_item("skin", focus=True)
    for key in (Qt.Key.Key_1, Qt.Key.Key_1, Qt.Key.Key_3):
        qtbot.keyClick(panel.focusWidget(), key)
    assert all(b.isEnabled() for b in buttons)
    assert calls[-1] == 3
    assert not panel.reason_label.isVisible()
    with qtbot.waitSignal(panel.conclusion_requested) as signal:
        qtbot.mouseClick(panel.conclusion_buttons[next(iter(panel.conclusion_buttons))],
                         Qt.MouseButton.LeftButton)
    assert signal.args == ["possible_lead"]
    assert "none yet" in panel.recorded_label.text()  # the caller records, then reflects
    panel.set_recorded_conclusion("possible_lead")
    assert "Possible lead" in panel.recorded_label.text()


# -- the screen -----------------------------------------------------------------------------
def test_screen_shows_banner_header_and_score_meaning(screen: QtComparisonScreen) -> None:
    texts = [w.text() for w in screen.findChildren(QWidget) if hasattr(w, "text")]
    assert any(BANNER_TEXT in str(t) for t in texts)
    header = screen.header
    assert "Candidate 1 of 3" in header.position_label.text()
    assert "Rank <b>1</b>" in header.rank_label.text()
    assert "0.71" in header.score_label.text() and "%" not in header.score_label.text()
    assert "not a percentage" in header.score_label.toolTip()
    assert "Cosine similarity" in header.score_label.toolTip()
    assert "NYSID-100" in header.subject_label.text()
    assert "2016-03-01" in header.photo_label.text()
    assert "2021-07-09" in header.recent_label.text() and "newer" in header.recent_label.text()
    assert not header.previous_button.isEnabled() and header.next_button.isEnabled()


def test_page_down_changes_candidate_and_keeps_zoom(qtbot: QtBot, screen: QtComparisonScreen,
                                                   candidate_faces: list[FaceSide]) -> None:
    view = screen.view
    view.probe_pane.setFocus()
    wheel(view.probe_pane, QPointF(150, 120), 4)
    qtbot.keyClick(view.probe_pane, Qt.Key.Key_Right)
    transform, center = view.probe_pane.transform(), view.probe_pane.center()
    with qtbot.waitSignal(screen.candidate_changed) as signal:
        qtbot.keyClick(view.probe_pane, Qt.Key.Key_PageDown)
    assert signal.args == [1]
    assert view.candidate_pane.primary.face is candidate_faces[1]  # type: ignore[union-attr]
    for pane in view.panes():
        assert pane.transform() == transform
        assert_close(pane.center(), center, 1.0 / transform.m11())
    # The new candidate's eyes land where the probe's are.
    left, right = view.probe_pane, view.candidate_pane
    assert_close(viewport_point(left, left.primary, left.primary.face.eye_points[0]),  # type: ignore[arg-type, union-attr, index]
                 viewport_point(right, right.primary, candidate_faces[1].eye_points[0]))  # type: ignore[arg-type, union-attr, index]
    qtbot.keyClick(screen.worksheet, Qt.Key.Key_PageUp)
    assert screen.current_index() == 0
    qtbot.keyClick(screen.worksheet, Qt.Key.Key_PageUp)
    assert screen.current_index() == 0  # nothing before the first


def test_strip_follows_the_screen(qtbot: QtBot, screen: QtComparisonScreen,
                                  edited_probe: FaceSide) -> None:
    strip, panel = screen.strip, screen.worksheet
    with qtbot.waitSignal(strip.item_requested):
        qtbot.mouseClick(strip.pairs["nose"], Qt.MouseButton.LeftButton)
    assert panel.current_item_id() == "nose"
    panel.select_item("ears")
    assert strip.pairs["left_ear"].selected and not strip.pairs["nose"].selected
    before = strip.pairs["nose"].probe_label.pixmap().toImage()
    assert strip.probe_version_label.text() == "Probe: original"
    screen.view.set_probe_version(ProbeVersion.EDITED)
    assert "EDITED" in strip.probe_version_label.text()
    assert strip.pairs["nose"].probe_label.pixmap().toImage() != before  # cut from the edit
    screen.next_candidate()
    assert screen.view.probe_version() is ProbeVersion.EDITED  # kept across candidates


def test_answers_belong_to_their_candidate(qtbot: QtBot, screen: QtComparisonScreen) -> None:
    events: list[tuple[int, str, str, str]] = []
    screen.answer_changed.connect(lambda *a: events.append(a))
    panel = screen.worksheet
    panel.select_item("eyes", focus=True)
    qtbot.keyClick(panel.focusWidget(), Qt.Key.Key_1)
    assert events[-1] == (0, "eyes", "similar", "")
    assert screen.is_dirty()
    screen.next_candidate()
    assert panel.progress_label.text() == f"0 of {len(worksheet_items())} answered"
    screen.view.probe_pane.setFocus()
    qtbot.keyClick(screen.view.probe_pane, Qt.Key.Key_2, Qt.KeyboardModifier.AltModifier)
    assert events[-1][0] == 1 and events[-1][2] == "not_similar"
    screen.previous_candidate()
    assert panel.answers()["eyes"].answer is Answer.SIMILAR
    screen.mark_saved()
    assert not screen.is_dirty()


def test_screenshot_signal_delivers_png_of_the_view(qtbot: QtBot,
                                                    screen: QtComparisonScreen) -> None:
    screen.view.set_mode(ComparisonMode.OVERLAY)
    with qtbot.waitSignal(screen.screenshot_to_case) as signal:
        qtbot.mouseClick(screen.header.screenshot_button, Qt.MouseButton.LeftButton)
    data, description = signal.args
    image = png_image(data)
    display = screen.view.display
    assert image.size == (display.width(), display.height() + 46)
    assert "rank 1" in description and "overlay" in description and "original" in description
    pixels = np.asarray(image.convert("RGB"))
    assert tuple(pixels[10, 2]) == (139, 0, 0)  # the banner band
    assert pixels[60:].std() > 10  # the pictures, not a blank grab
    with qtbot.waitSignal(screen.screenshot_to_case):
        qtbot.keyClick(screen.view.probe_pane, Qt.Key.Key_S,
                       Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)


def test_blind_review_hides_then_reveals_with_differences(qtbot: QtBot,
                                                          screen: QtComparisonScreen) -> None:
    items = worksheet_items()
    screen.set_review_mode(blind=True)
    panel = screen.worksheet
    assert panel.review_label.isVisible() and "hidden" in panel.review_label.text()
    first = {item.id: "similar" for item in items}
    first["nose"] = "not_similar"
    with pytest.raises(PolicyViolation):
        screen.reveal_first_examiner(first, "possible_lead")
    assert all(panel.first_examiner_text(item.id) == "" for item in items)
    panel.select_item(items[0].id, focus=True)
    for _ in items:
        qtbot.keyClick(panel.focusWidget(), Qt.Key.Key_1)
    assert panel.progress_text() == f"{len(items)} of {len(items)} answered"
    with pytest.raises(PolicyViolation):  # conclusion not recorded yet
        screen.reveal_first_examiner(first, "possible_lead")
    with qtbot.waitSignal(screen.conclusion_requested) as signal:
        panel.conclusion_buttons[next(iter(panel.conclusion_buttons))].click()
    assert signal.args == [0, "possible_lead"]
    screen.set_conclusion("inconclusive")
    screen.reveal_first_examiner(first, "possible_lead")
    assert panel.row_differs("nose") and not panel.row_differs("eyes")
    assert "Not similar" in panel.first_examiner_text("nose")
    assert "DIFFERS" in panel.first_examiner_text("nose")
    assert "Similar" in panel.first_examiner_text("eyes")
    assert panel.compare_label.isVisible()
    assert "1 of" in panel.compare_label.text() and "DIFFER" in panel.compare_label.text()
    # The reviewer's recorded answers are now read-only.
    assert not panel._rows["nose"].buttons[Answer.NOT_SIMILAR].isEnabled()
    assert not any(b.isEnabled() for b in panel.conclusion_buttons.values())


def test_state_save_and_restore(qtbot: QtBot, screen: QtComparisonScreen, probe: FaceSide,
                                candidate_faces: list[FaceSide]) -> None:
    screen.top_splitter.setSizes([700, 560])
    screen.view.set_mode(ComparisonMode.WIPE)
    screen.view.set_layer_visible(Layer.EYE_LINE, True)
    sizes = screen.top_splitter.sizes()
    data = screen.save_state()
    other = QtComparisonScreen()
    other.load(probe=probe, items=worksheet_items(), candidates=make_candidates(candidate_faces))
    show(qtbot, other, 1300, 850)
    assert other.restore_state(data)
    qtbot.wait(10)
    assert other.top_splitter.sizes() == sizes
    assert other.view.mode() is ComparisonMode.WIPE
    assert other.view.layer_visible(Layer.EYE_LINE)
    assert not other.restore_state(b"not a layout")
    assert not other.restore_state(b'{"version": 99}')
    assert other.view.mode() is ComparisonMode.WIPE


def test_keyboard_reaches_every_area(qtbot: QtBot, screen: QtComparisonScreen) -> None:
    screen.header.previous_button.setEnabled(True)
    screen.header.next_button.setFocus()
    reached: set[str] = set()
    for _ in range(80):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        focus = QApplication.focusWidget()
        for name, area in (("view", screen.view), ("worksheet", screen.worksheet),
                           ("strip", screen.strip)):
            if focus is not None and area.isAncestorOf(focus):
                reached.add(name)
    assert reached == {"view", "worksheet", "strip"}
    screen.view.probe_pane.setFocus()
    qtbot.keyClick(screen.view.probe_pane, Qt.Key.Key_F6)
    assert screen.worksheet.isAncestorOf(QApplication.focusWidget())
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_F6)
    assert screen.strip.isAncestorOf(QApplication.focusWidget())
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_F6)
    assert QApplication.focusWidget() is screen.view.probe_pane


def test_real_photographs_pair(qtbot: QtBot, lfw_pair: tuple[FaceSide, FaceSide]) -> None:
    probe, candidate = lfw_pair
    items = worksheet_items()
    screen = QtComparisonScreen()
    screen.load(probe=probe, items=items, candidates=make_candidates([candidate]))
    show(qtbot, screen, 1300, 850)
    for mode in ComparisonMode:
        screen.view.set_mode(mode)
        grabbed = screen.view.display.grab().toImage()
        assert not grabbed.isNull()
    screen.view.set_mode(ComparisonMode.SIDE_BY_SIDE)
    pixels = png_image(screen.capture_screenshot())
    assert np.asarray(pixels.convert("L")).std() > 20
    pair = screen.strip.pairs["left_eye"]
    assert pair.probe_label.pixmap().size() == pair.candidate_label.pixmap().size()
    crop = np.asarray(Image.open(io.BytesIO(_pixmap_bytes(pair.probe_label.pixmap()))))
    assert crop.std() > 5  # a real crop, not an empty placeholder
    assert screen.strip.pairs["left_ear"].estimated


def _pixmap_bytes(pixmap: object) -> bytes:
    from app.ui.comparison.qt_comparison_view import pixmap_png

    return pixmap_png(pixmap)


def test_large_probe_uses_a_pyramid_level(qtbot: QtBot) -> None:
    big = synthetic_face(width=4000, height=3000, eye_distance=600, center=(2000, 1300),
                         label="big")
    pane = QtImagePane()
    graphics = pane.set_face(big)
    show(qtbot, pane, 640, 480)
    pane.fit_face()
    pane.viewport().grab()
    assert graphics is not None
    pixmaps = graphics.pixmap_item._pixmaps
    assert pixmaps.level_count >= 3  # drawn from a reduced copy at this zoom
    assert graphics.pixmap_item.pixmap().width() == 4000


def test_qt_binding_keeps_reference_counts(qtbot: QtBot) -> None:
    """PySide6 6.12.0 on CPython 3.11 drops a reference to None on every void call and to True on
    every signal emission, so a long session (or the test run's exit) aborts with
    'deallocating None/True'. 6.11.3 is correct; this test names the problem if it comes back."""
    label = QLabel()
    qtbot.addWidget(label)
    none_before, true_before = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(200):
        label.setText("x")
        label.objectNameChanged.emit("y")
    assert sys.getrefcount(None) >= none_before - 5, "the Qt binding leaks references to None"
    assert sys.getrefcount(True) >= true_before - 5, "the Qt binding leaks references to True"

