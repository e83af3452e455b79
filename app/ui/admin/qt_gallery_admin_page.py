"""QtGalleryAdminPage: import, browse, seal/unseal and the face index (supervisors, administrators).

Every action is a casework call; casework checks the live roles again and audits the change or
the refusal. The import and the index rebuild run on a worker thread
(:func:`app.ui.workers.run_in_background`) with a progress bar and Cancel; a cancelled import
keeps what was committed and continues when started again with the same manifest. Seal and
unseal ask for a reason, which the audit log keeps.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.casework import gallery, index_sync
from app.casework.accounts import SignedInUser
from app.casework.gallery import SubjectDetail, SubjectSummary
from app.casework.gallery_import import ImportResult, import_gallery
from app.casework.index_sync import IndexStatus
from app.casework.workstation import Workstation
from app.ui import messages
from app.ui.admin.page_frame import frame_page, page_heading
from app.ui.qt_lead_banner import QtLeadBanner
from app.ui.workers import BackgroundTask, run_in_background

log = logging.getLogger(__name__)

SUBJECT_COLUMNS = ("Reference", "Name", "Born", "Photos", "Searchable", "Latest photo", "Status")
PHOTO_COLUMNS = ("Photo", "Status", "Date", "Source", "Source reference", "Models")
PHOTO_STATUS_COLUMN = 1
ReasonAsker = Callable[[QWidget, str], str | None]


def _date(value: object) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else "-"


def _moment(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M} UTC" if value is not None else "-"


def ask_reason(parent: QWidget, prompt: str) -> str | None:
    """A reason typed by the user (None when cancelled or left empty)."""
    text, ok = QInputDialog.getMultiLineText(parent, "Reason", prompt)
    return text.strip() if ok and text.strip() else None


def import_result_text(result: ImportResult) -> str:
    lines = [
        f"Import {result.status}: {result.rows_processed} of {result.rows_total} rows in "
        f"{result.seconds:.1f} s.",
        f"Enrolled: {result.enrolled}; already in the gallery: {result.already_in_gallery}; "
        f"failed: {result.failed}. Gallery generation {result.generation}.",
    ]
    if result.error_report_path is not None:
        lines.append(f"Error report (row, file, reason): {result.error_report_path}")
    if result.status == "cancelled":
        lines.append("Cancelled: start the same import again to continue where it stopped.")
    return "\n".join(lines)


def _read_only_table(columns: tuple[str, ...]) -> QTableWidget:
    table = QTableWidget(0, len(columns))
    table.setHorizontalHeaderLabels(list(columns))
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.verticalHeader().setVisible(False)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    table.setAlternatingRowColors(True)
    return table


class QtGalleryAdminPage(QWidget):
    """Gallery administration: import with progress, subjects, seals and the face index."""

    import_finished = Signal(object)  # ImportResult
    rebuild_finished = Signal(object)  # IndexStatus
    subjects_listed = Signal(int)

    def __init__(self, ws: Workstation, user: SignedInUser, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws = ws
        self.user = user
        self.reason_asker: ReasonAsker = ask_reason
        self.subjects: list[SubjectSummary] = []
        self.detail: SubjectDetail | None = None
        self._import_task: BackgroundTask | None = None
        self._rebuild_task: BackgroundTask | None = None
        self.banner = QtLeadBanner()

        heading = page_heading("Gallery administration")

        body = QWidget()
        column = QVBoxLayout(body)
        column.setContentsMargins(12, 8, 12, 8)
        column.addWidget(heading)
        top = QHBoxLayout()
        top.addWidget(self._build_import_box(), 3)
        top.addWidget(self._build_index_box(), 2)
        column.addLayout(top)
        column.addWidget(self._build_search_bar())
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("gallerySplitter")
        self.splitter.addWidget(self._build_subject_box())
        self.splitter.addWidget(self._build_photo_box())
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        column.addWidget(self.splitter, 1)

        frame_page(self, self.banner, body)
        self.refresh()

    # ------------------------------------------------------------------------------ layout
    def _build_import_box(self) -> QGroupBox:
        box = QGroupBox("Import photographs (folder and CSV manifest)")
        self.folder_edit = QLineEdit()
        self.folder_edit.setPlaceholderText("Folder that holds the photographs")
        self.manifest_edit = QLineEdit()
        self.manifest_edit.setPlaceholderText(
            "CSV: file, subject_reference, photo_date, source_type, source_reference"
        )
        folder_button = QPushButton("Browse...")
        folder_button.clicked.connect(self._choose_folder)
        manifest_button = QPushButton("Browse...")
        manifest_button.clicked.connect(self._choose_manifest)
        form = QFormLayout()
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder_edit, 1)
        folder_row.addWidget(folder_button)
        manifest_row = QHBoxLayout()
        manifest_row.addWidget(self.manifest_edit, 1)
        manifest_row.addWidget(manifest_button)
        form.addRow("Folder:", folder_row)
        form.addRow("Manifest:", manifest_row)
        self.import_button = QPushButton("Import")
        self.import_button.clicked.connect(self.start_import)
        self.import_cancel_button = QPushButton("Cancel")
        self.import_cancel_button.setEnabled(False)
        self.import_cancel_button.clicked.connect(self.cancel_import)
        self.import_progress = QProgressBar()
        self.import_progress.setRange(0, 1)
        self.import_progress.setValue(0)
        self.import_result_label = QLabel("No import in this session yet.")
        self.import_result_label.setWordWrap(True)
        self.import_result_label.setTextFormat(Qt.TextFormat.PlainText)
        self.import_result_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
        )
        buttons = QHBoxLayout()
        buttons.addWidget(self.import_button)
        buttons.addWidget(self.import_cancel_button)
        buttons.addWidget(self.import_progress, 1)
        layout = QVBoxLayout(box)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.import_result_label)
        return box

    def _build_index_box(self) -> QGroupBox:
        box = QGroupBox("Face index")
        self.index_label = QLabel()
        self.index_label.setWordWrap(True)
        self.index_label.setTextFormat(Qt.TextFormat.PlainText)
        self.rebuild_button = QPushButton("Rebuild index")
        self.rebuild_button.setToolTip("Build the index afresh from the database")
        self.rebuild_button.clicked.connect(self.start_rebuild)
        self.rebuild_cancel_button = QPushButton("Cancel")
        self.rebuild_cancel_button.setEnabled(False)
        self.rebuild_cancel_button.clicked.connect(self.cancel_rebuild)
        self.rebuild_progress = QProgressBar()
        self.rebuild_progress.setRange(0, 1)
        self.rebuild_progress.setValue(0)
        self.rebuild_result_label = QLabel()
        self.rebuild_result_label.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.rebuild_button)
        row.addWidget(self.rebuild_cancel_button)
        row.addWidget(self.rebuild_progress, 1)
        layout = QVBoxLayout(box)
        layout.addWidget(self.index_label)
        layout.addLayout(row)
        layout.addWidget(self.rebuild_result_label)
        layout.addStretch(1)
        return box

    def _build_search_bar(self) -> QWidget:
        bar = QWidget()
        self.reference_edit = QLineEdit()
        self.reference_edit.setPlaceholderText("Reference starts with...")
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("Name contains...")
        self.include_sealed_box = QCheckBox("Include sealed")
        self.search_button = QPushButton("Find subjects")
        self.search_button.setDefault(True)
        for edit in (self.reference_edit, self.name_edit):
            edit.returnPressed.connect(self.list_subjects)
        self.search_button.clicked.connect(self.list_subjects)
        self.include_sealed_box.toggled.connect(lambda _on: self.list_subjects())
        self.stats_label = QLabel()
        row = QHBoxLayout(bar)
        row.setContentsMargins(0, 6, 0, 0)
        row.addWidget(QLabel("Subjects:"))
        row.addWidget(self.reference_edit, 1)
        row.addWidget(self.name_edit, 1)
        row.addWidget(self.include_sealed_box)
        row.addWidget(self.search_button)
        row.addWidget(self.stats_label)
        return bar

    def _build_subject_box(self) -> QWidget:
        box = QGroupBox("Subjects")
        self.subject_table = _read_only_table(SUBJECT_COLUMNS)
        # The name takes the spare width, so the photo list beside it keeps its columns.
        self.subject_table.horizontalHeader().setStretchLastSection(False)
        self.subject_table.horizontalHeader().setSectionResizeMode(
            1, QHeaderView.ResizeMode.Stretch
        )
        self.subject_table.itemSelectionChanged.connect(self._subject_selected)
        self.seal_subject_button = QPushButton("Seal subject...")
        self.unseal_subject_button = QPushButton("Unseal subject...")
        self.seal_subject_button.clicked.connect(lambda: self.seal_selected_subject(seal=True))
        self.unseal_subject_button.clicked.connect(lambda: self.seal_selected_subject(seal=False))
        row = QHBoxLayout()
        row.addWidget(self.seal_subject_button)
        row.addWidget(self.unseal_subject_button)
        row.addStretch(1)
        layout = QVBoxLayout(box)
        layout.addWidget(self.subject_table, 1)
        layout.addLayout(row)
        return box

    def _build_photo_box(self) -> QWidget:
        box = QGroupBox("Photographs of the selected subject")
        self.subject_label = QLabel("Select a subject.")
        self.subject_label.setWordWrap(True)
        self.subject_label.setTextFormat(Qt.TextFormat.PlainText)
        self.photo_table = _read_only_table(PHOTO_COLUMNS)
        self.photo_table.itemSelectionChanged.connect(self._update_buttons)
        self.seal_photo_button = QPushButton("Seal photo...")
        self.unseal_photo_button = QPushButton("Unseal photo...")
        self.seal_photo_button.clicked.connect(lambda: self.seal_selected_photo(seal=True))
        self.unseal_photo_button.clicked.connect(lambda: self.seal_selected_photo(seal=False))
        row = QHBoxLayout()
        row.addWidget(self.seal_photo_button)
        row.addWidget(self.unseal_photo_button)
        row.addStretch(1)
        layout = QVBoxLayout(box)
        layout.addWidget(self.subject_label)
        layout.addWidget(self.photo_table, 1)
        layout.addLayout(row)
        return box

    # ------------------------------------------------------------------------------ reading
    def refresh(self) -> None:
        """Re-read the counts, the subject list and the index status."""
        self.list_subjects()
        self.refresh_index_status()

    def list_subjects(self) -> None:
        try:
            stats = gallery.gallery_stats(self.ws)
            self.subjects = gallery.find_subjects(
                self.ws,
                by=self.user,
                reference_prefix=self.reference_edit.text().strip() or None,
                name_contains=self.name_edit.text().strip() or None,
                include_sealed=self.include_sealed_box.isChecked(),
            )
        except Exception as exc:
            messages.show_error(self, exc)
            return
        self.stats_label.setText(
            f"{stats.subjects} subjects ({stats.sealed_subjects} sealed), {stats.photos} photos "
            f"({stats.searchable_photos} searchable)"
        )
        selected = self.detail.summary.subject_reference if self.detail else None
        table = self.subject_table
        table.blockSignals(True)
        table.setRowCount(len(self.subjects))
        for row, s in enumerate(self.subjects):
            cells = (
                s.subject_reference,
                s.name,
                _date(s.date_of_birth),
                str(s.photo_count),
                str(s.searchable_photo_count),
                _date(s.most_recent_photo_date),
                "SEALED" if s.sealed else "",
            )
            for col, text in enumerate(cells):
                table.setItem(row, col, QTableWidgetItem(text))
        table.blockSignals(False)
        references = [s.subject_reference for s in self.subjects]
        if selected in references:
            table.selectRow(references.index(selected))
        else:
            table.clearSelection()
            self._show_detail(None)
        self._update_buttons()
        self.subjects_listed.emit(len(self.subjects))

    def selected_subject(self) -> SubjectSummary | None:
        rows = self.subject_table.selectionModel().selectedRows()
        return self.subjects[rows[0].row()] if rows else None

    def _subject_selected(self) -> None:
        subject = self.selected_subject()
        if subject is None:
            self._show_detail(None)
            return
        try:
            detail = gallery.get_subject(
                self.ws,
                by=self.user,
                subject_reference=subject.subject_reference,
                include_sealed=True,
            )
        except Exception as exc:
            messages.show_error(self, exc)
            return
        self._show_detail(detail)

    def _show_detail(self, detail: SubjectDetail | None) -> None:
        self.detail = detail
        table = self.photo_table
        table.setRowCount(0)
        if detail is None:
            self.subject_label.setText("Select a subject.")
            self._update_buttons()
            return
        s = detail.summary
        text = f"{s.subject_reference}: {s.name or '(no name)'}, born {_date(s.date_of_birth)}"
        if s.sealed:
            text += f"\nSEALED {_moment(detail.sealed_at)} by {detail.sealed_by}: "
            text += detail.sealed_reason or ""
        self.subject_label.setText(text)
        table.setRowCount(len(detail.photos))
        for row, p in enumerate(detail.photos):
            status = "sealed" if p.sealed else "searchable" if p.searchable else "subject sealed"
            cells = (
                str(p.photo_id),
                status,
                _date(p.photo_date),
                p.source_type,
                p.source_reference,
                ", ".join(p.models) or "none",
            )
            for col, cell in enumerate(cells):
                table.setItem(row, col, QTableWidgetItem(cell))
        self._update_buttons()

    def selected_photo_id(self) -> int | None:
        rows = self.photo_table.selectionModel().selectedRows()
        if not rows or self.detail is None:
            return None
        return self.detail.photos[rows[0].row()].photo_id

    def _update_buttons(self) -> None:
        subject = self.selected_subject()
        self.seal_subject_button.setEnabled(subject is not None and not subject.sealed)
        self.unseal_subject_button.setEnabled(subject is not None and subject.sealed)
        photo = None
        photo_id = self.selected_photo_id()
        if photo_id is not None and self.detail is not None:
            photo = next(p for p in self.detail.photos if p.photo_id == photo_id)
        self.seal_photo_button.setEnabled(photo is not None and not photo.sealed)
        self.unseal_photo_button.setEnabled(photo is not None and photo.sealed)

    # ------------------------------------------------------------------------------ seals
    def seal_selected_subject(self, *, seal: bool) -> None:
        subject = self.selected_subject()
        if subject is None:
            return
        verb = "Seal" if seal else "Unseal"
        reason = self.reason_asker(
            self, f"{verb} subject {subject.subject_reference}: why (kept in the audit log)?"
        )
        if reason is None:
            return
        act = gallery.seal_subject if seal else gallery.unseal_subject
        self._change(
            lambda: act(
                self.ws, by=self.user, subject_reference=subject.subject_reference, reason=reason
            )
        )

    def seal_selected_photo(self, *, seal: bool) -> None:
        photo_id = self.selected_photo_id()
        if photo_id is None:
            return
        verb = "Seal" if seal else "Unseal"
        reason = self.reason_asker(self, f"{verb} photo {photo_id}: why (kept in the audit log)?")
        if reason is None:
            return
        act = gallery.seal_photo if seal else gallery.unseal_photo
        self._change(lambda: act(self.ws, by=self.user, photo_id=photo_id, reason=reason))

    def _change(self, call: Callable[[], Any]) -> None:
        try:
            call()
        except Exception as exc:
            messages.show_error(self, exc)
        self.list_subjects()
        if self.detail is not None:
            self._subject_selected()
        self.refresh_index_status()

    # ------------------------------------------------------------------------------ import
    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder of photographs")
        if folder:
            self.folder_edit.setText(folder)

    def _choose_manifest(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Manifest", "", "CSV files (*.csv)")
        if path:
            self.manifest_edit.setText(path)

    def start_import(self) -> None:
        folder_text = self.folder_edit.text().strip()
        manifest_text = self.manifest_edit.text().strip()
        if not folder_text or not manifest_text:
            messages.show_info(self, "Choose the folder of photographs and the CSV manifest.")
            return
        folder, manifest = Path(folder_text), Path(manifest_text)
        ws, user = self.ws, self.user
        self.import_button.setEnabled(False)
        self.import_cancel_button.setEnabled(True)
        self.import_progress.setRange(0, 0)
        self.import_result_label.setText("Importing...")
        self._import_task = run_in_background(
            lambda progress, cancelled: import_gallery(
                ws,
                by=user,
                folder=folder,
                manifest_csv=manifest,
                progress=progress,
                cancelled=cancelled,
            ),
            on_done=self._import_done,
            on_error=self._import_failed,
            on_progress=lambda done, total, message: self._show_progress(
                self.import_progress, self.import_result_label, done, total, message
            ),
            parent=self,
            description="importing gallery photographs",
        )

    def cancel_import(self) -> None:
        if self._import_task is not None:
            self._import_task.cancel()
            self.import_cancel_button.setEnabled(False)
            self.import_result_label.setText("Stopping after the photographs in hand...")

    @staticmethod
    def _show_progress(
        bar: QProgressBar, label: QLabel, done: int, total: int, message: str
    ) -> None:
        bar.setRange(0, max(total, 1))
        bar.setValue(min(done, max(total, 1)))
        label.setText(f"{done} of {total}: {message}" if message else f"{done} of {total}")

    def _import_ended(self) -> None:
        self._import_task = None
        self.import_button.setEnabled(True)
        self.import_cancel_button.setEnabled(False)

    def _import_done(self, result: ImportResult) -> None:
        self._import_ended()
        self.import_progress.setRange(0, max(result.rows_total, 1))
        self.import_progress.setValue(result.rows_processed)
        self.import_result_label.setText(import_result_text(result))
        self.refresh()
        self.import_finished.emit(result)

    def _import_failed(self, error: BaseException) -> None:
        self._import_ended()
        self.import_progress.setRange(0, 1)
        self.import_progress.setValue(0)
        self.import_result_label.setText(f"Import stopped: {messages.error_text(error)}")
        messages.show_error(self, error)
        self.refresh()
        self.import_finished.emit(error)

    # ------------------------------------------------------------------------------ index
    def refresh_index_status(self) -> None:
        try:
            report = index_sync.index_report(self.ws)
        except Exception as exc:
            self.index_label.setText(f"Index status unavailable: {messages.error_text(exc)}")
            return
        lines = [f"Model: {report.model_name}", f"Folder: {report.path}"]
        if not report.exists:
            lines.append("No index on disk yet (it is built before the first search).")
        else:
            lines.append(
                f"Live items in the index: {report.live_photos_in_index}; "
                f"generation {report.generation}"
            )
            if report.layout:
                lines.append(f"Layout: {report.layout}")
        lines.append(
            f"Database: {report.live_photos_in_database} searchable embeddings; "
            f"generation {report.database_generation}"
        )
        if report.problem:
            lines.append(f"Problem: {report.problem}")
        elif report.exists and report.generation != report.database_generation:
            lines.append("Behind the database: it catches up before the next search.")
        self.index_label.setText("\n".join(lines))

    def start_rebuild(self) -> None:
        ws = self.ws
        self.rebuild_button.setEnabled(False)
        self.rebuild_cancel_button.setEnabled(True)
        self.rebuild_progress.setRange(0, 0)
        self.rebuild_result_label.setText("Rebuilding...")
        self._rebuild_task = run_in_background(
            lambda progress, cancelled: index_sync.rebuild_index(
                ws, progress=progress, cancelled=cancelled
            ),
            on_done=self._rebuild_done,
            on_error=self._rebuild_failed,
            on_progress=lambda done, total, message: self._show_progress(
                self.rebuild_progress, self.rebuild_result_label, done, total, message
            ),
            parent=self,
            description="rebuilding the face index",
        )

    def cancel_rebuild(self) -> None:
        if self._rebuild_task is not None:
            self._rebuild_task.cancel()
            self.rebuild_cancel_button.setEnabled(False)

    def _rebuild_ended(self) -> None:
        self._rebuild_task = None
        self.rebuild_button.setEnabled(True)
        self.rebuild_cancel_button.setEnabled(False)
        self.rebuild_progress.setRange(0, 1)
        self.rebuild_progress.setValue(1)

    def _rebuild_done(self, status: IndexStatus) -> None:
        self._rebuild_ended()
        self.rebuild_result_label.setText(
            f"Index {status.action}: {status.live_photos} live photos, generation "
            f"{status.generation}."
        )
        self.refresh_index_status()
        self.rebuild_finished.emit(status)

    def _rebuild_failed(self, error: BaseException) -> None:
        self._rebuild_ended()
        self.rebuild_progress.setValue(0)
        self.rebuild_result_label.setText(f"Rebuild stopped: {messages.error_text(error)}")
        messages.show_error(self, error)
        self.rebuild_finished.emit(error)


__all__ = ["QtGalleryAdminPage", "ask_reason", "import_result_text"]
