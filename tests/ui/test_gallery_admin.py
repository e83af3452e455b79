"""Gallery administration page: a real import of Yale photos through the page (worker thread,
progress, result), the subject list and search, sealing with a reason (hidden unless "Include
sealed"), photo seals, the index status and its rebuild; the Tools menu entry by role."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot
from shell_support import ShownMessages, audit_actions

from app.casework import accounts, gallery
from app.casework.accounts import SignedInUser
from app.casework.gallery_import import ImportResult
from app.casework.index_sync import IndexStatus, forget_open_indexes
from app.casework.workstation import Workstation
from app.engine.models import install_default_model
from app.policy.roles import Role
from app.ui.admin.qt_gallery_admin_page import QtGalleryAdminPage

YALE_SUBJECTS = ("subject01", "subject02", "subject03", "subject04")
HEADER = "file,subject_reference,name,photo_date,source_type,source_reference,lawful_basis"


@pytest.fixture(scope="session")
def prepared_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default model converted once per test session, copied into each test's data folder."""
    folder = tmp_path_factory.mktemp("frx-ui-models")
    install_default_model(folder)
    return folder


@pytest.fixture
def model_ws(ws: Workstation, prepared_models: Path, fake_clock: Any) -> Iterator[Workstation]:
    shutil.copytree(prepared_models, ws.settings.models_dir, dirs_exist_ok=True)
    ws.clock = fake_clock
    forget_open_indexes()
    yield ws
    forget_open_indexes()


def write_manifest(tmp_path: Path) -> Path:
    rows = [
        f"{subject}.normal,YALE-{subject[-2:]},Yale Person {subject[-2:]},2020-05-0{n + 1},"
        f"arrest_photograph,BK-{subject},Booking photograph"
        for n, subject in enumerate(YALE_SUBJECTS)
    ]
    path = tmp_path / "manifest.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def references(page: QtGalleryAdminPage) -> list[str]:
    table = page.subject_table
    return [table.item(row, 0).text() for row in range(table.rowCount())]


def imported_page(
    qtbot: QtBot, ws: Workstation, user: SignedInUser, yale_dir: Path, tmp_path: Path
) -> QtGalleryAdminPage:
    page = QtGalleryAdminPage(ws, user)
    qtbot.addWidget(page)
    page.folder_edit.setText(str(yale_dir))
    page.manifest_edit.setText(str(write_manifest(tmp_path)))
    with qtbot.waitSignal(page.import_finished, timeout=60_000) as finished:
        page.import_button.click()
        assert page.import_cancel_button.isEnabled()  # running on a worker: Cancel is offered
    result = finished.args[0]
    assert isinstance(result, ImportResult), result
    return page


def test_import_lists_subjects_seal_hides_them_and_rebuild_counts_live_photos(
    qtbot: QtBot, model_ws: Workstation, admin: SignedInUser, yale_dir: Path, tmp_path: Path,
    shown_messages: ShownMessages,
) -> None:
    ws = model_ws
    page = imported_page(qtbot, ws, admin, yale_dir, tmp_path)
    expected = [f"YALE-{s[-2:]}" for s in YALE_SUBJECTS]
    result_text = page.import_result_label.text()
    assert f"Enrolled: {len(YALE_SUBJECTS)}" in result_text, result_text
    assert "failed: 0" in result_text
    assert references(page) == expected
    assert page.import_button.isEnabled() and not page.import_cancel_button.isEnabled()

    # search by reference and by name
    page.reference_edit.setText("YALE-02")
    page.search_button.click()
    assert references(page) == ["YALE-02"]
    page.reference_edit.clear()
    page.name_edit.setText("person 03")
    page.search_button.click()
    assert references(page) == ["YALE-03"]
    page.name_edit.clear()
    page.search_button.click()

    # seal a subject with a reason: gone from the list unless "Include sealed"
    page.subject_table.selectRow(0)
    assert page.detail is not None and len(page.detail.photos) == 1
    assert page.seal_subject_button.isEnabled()
    asked: list[str] = []
    page.reason_asker = lambda _parent, prompt: asked.append(prompt) or "court order 12"
    page.seal_subject_button.click()
    assert "YALE-01" in asked[0]
    assert references(page) == expected[1:]
    page.include_sealed_box.setChecked(True)
    assert references(page) == expected
    assert page.subject_table.item(0, 6).text() == "SEALED"
    detail = gallery.get_subject(ws, by=admin, subject_reference="YALE-01", include_sealed=True)
    assert detail.summary.sealed and detail.sealed_reason == "court order 12"
    assert (admin.username, "gallery.subject_sealed") in audit_actions(ws) or any(
        "seal" in action for _, action in audit_actions(ws)
    )

    # seal one photo of another subject, then unseal it
    page.subject_table.selectRow(1)
    assert page.detail is not None and page.detail.summary.subject_reference == "YALE-02"
    page.photo_table.selectRow(0)
    assert page.seal_photo_button.isEnabled()
    page.seal_photo_button.click()
    assert page.photo_table.item(0, 1).text() == "sealed"
    page.photo_table.selectRow(0)
    assert page.unseal_photo_button.isEnabled()
    page.unseal_photo_button.click()
    assert page.photo_table.item(0, 1).text() == "searchable"

    # a refused reason (cancelled) changes nothing
    page.subject_table.selectRow(2)
    page.reason_asker = lambda _parent, _prompt: None
    page.seal_subject_button.click()
    assert page.subject_table.item(2, 6).text() == ""

    # rebuild: three live photos (one subject sealed)
    with qtbot.waitSignal(page.rebuild_finished, timeout=30_000) as rebuilt:
        page.rebuild_button.click()
    status = rebuilt.args[0]
    assert isinstance(status, IndexStatus), status
    assert status.live_photos == len(YALE_SUBJECTS) - 1
    assert f"{len(YALE_SUBJECTS) - 1} live photos" in page.rebuild_result_label.text()
    assert f"Live items in the index: {len(YALE_SUBJECTS) - 1}" in page.index_label.text()
    assert ws.settings.model_name in page.index_label.text()
    assert "Layout: 2 graphs of the full 128-number descriptors" in page.index_label.text()
    assert shown_messages.boxes == []


def test_import_of_a_bad_manifest_shows_why_and_a_failed_row_gives_the_report(
    qtbot: QtBot, model_ws: Workstation, admin: SignedInUser, tmp_path: Path,
    shown_messages: ShownMessages,
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("file,name\na.jpg,Al\n", encoding="utf-8")
    page = QtGalleryAdminPage(model_ws, admin)
    qtbot.addWidget(page)
    page.folder_edit.setText(str(tmp_path))
    page.manifest_edit.setText(str(bad))
    with qtbot.waitSignal(page.import_finished, timeout=30_000) as finished:
        page.import_button.click()
    assert isinstance(finished.args[0], Exception)
    assert "Import stopped" in page.import_result_label.text()
    assert shown_messages.boxes  # the plain sentence was shown
    assert page.import_button.isEnabled()

    missing = tmp_path / "missing.csv"
    missing.write_text(
        HEADER + "\nnot-there.jpg,X-1,Nobody,2020-01-01,arrest_photograph,BK-1,Booking\n",
        encoding="utf-8",
    )
    page.manifest_edit.setText(str(missing))
    with qtbot.waitSignal(page.import_finished, timeout=30_000) as finished:
        page.import_button.click()
    result = finished.args[0]
    assert isinstance(result, ImportResult) and result.failed == 1
    assert result.error_report_path is not None and result.error_report_path.exists()
    assert str(result.error_report_path) in page.import_result_label.text()


def test_tools_menu_offers_the_gallery_page_to_supervisors_only(
    qtbot: QtBot, ws: Workstation, admin: SignedInUser, make_main_window: Any,
) -> None:
    from app.ui.admin.menu import GALLERY_PAGE, SYSTEM_PAGE

    plain = accounts.create_user(
        ws, by=admin, username="exa", display_name="Exa Miner", password="examiner pass 99",
        roles=[Role.EXAMINER],
    )
    examiner = accounts.sign_in(ws, username=plain.username, password="examiner pass 99")
    window = make_main_window(examiner, ensure_model=False)
    assert not window.tool_actions[GALLERY_PAGE].isVisible()
    assert not window.tool_actions[SYSTEM_PAGE].isVisible()

    window = make_main_window(admin, ensure_model=False)
    action = window.tool_actions[GALLERY_PAGE]
    assert action.isVisible() and action.isEnabled()
    action.trigger()
    assert isinstance(window.page(GALLERY_PAGE), QtGalleryAdminPage)
    assert window.current_page_key() == GALLERY_PAGE
    window.tool_actions[SYSTEM_PAGE].trigger()
    assert window.current_page_key() == SYSTEM_PAGE


def test_models_and_data_page_lists_the_verified_model_and_masks_the_password(
    qtbot: QtBot, model_ws: Workstation, admin: SignedInUser,
) -> None:
    from app.ui.admin.qt_system_info_page import QtSystemInfoPage, masked_url

    with qtbot.waitCallback(timeout=30_000) as listed:
        page = QtSystemInfoPage(model_ws, admin)
        qtbot.addWidget(page)
        page.models_listed.connect(listed)
    statuses = listed.args[0]
    assert [s.name for s in statuses] == [model_ws.settings.model_name]
    table = page.model_table
    assert table.item(0, 0).text() == model_ws.settings.model_name
    assert table.item(0, 5).text() == "yes"
    assert table.item(0, 6).text() == "verified"
    assert table.item(0, 7).text() == statuses[0].sha256 and len(statuses[0].sha256) == 64
    assert "verified" in page.model_state_label.text()
    profile = model_ws.profile
    assert page.fact_labels["profile_sha"].text() == profile.sha256
    assert profile.title in page.fact_labels["profile"].text()
    assert page.fact_labels["data"].text() == str(model_ws.settings.data_dir)
    assert page.fact_labels["evidence"].text() == str(model_ws.settings.evidence_dir)
    assert page.fact_labels["index"].text() == str(model_ws.settings.index_dir)
    assert page.fact_labels["database"].text()
    assert masked_url("postgresql+psycopg://frx:s3cret@db:5432/frx") == (
        "postgresql+psycopg://frx:***@db:5432/frx"
    )
    assert masked_url("sqlite:////data/frx.sqlite") == "sqlite:////data/frx.sqlite"
