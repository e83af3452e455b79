"""QtSystemInfoPage: installed face models (verify, install the default) and where the data is.

For administrators. Listing verifies every model (file digest, loadable, shapes), so it and the
installation run on a worker thread. The database address is shown with any password masked.
"""

from __future__ import annotations

import logging
import re

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.casework import models
from app.casework.accounts import SignedInUser
from app.casework.models import ModelStatus
from app.casework.workstation import Workstation
from app.ui import facts, messages
from app.ui.admin.page_frame import (
    body_with_margins,
    frame_page,
    page_heading,
    read_only_table,
)
from app.ui.qt_lead_banner import QtLeadBanner
from app.ui.workers import run_in_background

log = logging.getLogger(__name__)

MODEL_COLUMNS = (
    "Model", "Version", "Dimension", "Metric", "Threshold", "In use", "State", "SHA-256"
)
_PASSWORD_IN_URL = re.compile(r"(?P<head>://[^:/@]*:)(?P<password>[^@]*)(?P<tail>@)")


def masked_url(url: str) -> str:
    """A database address with its password (if any) replaced by ***."""
    return _PASSWORD_IN_URL.sub(lambda m: f"{m['head']}***{m['tail']}", url)


def database_address(ws: Workstation) -> str:
    shown = facts.database_text(ws)
    return masked_url(shown if shown != "unknown" else ws.settings.database_url)


def _selectable(label: QLabel) -> QLabel:
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setWordWrap(True)
    return label


class QtSystemInfoPage(QWidget):
    """Models and data: what this workstation runs with."""

    models_listed = Signal(object)  # list[ModelStatus] or the exception
    model_installed = Signal(object)  # ModelStatus or the exception

    def __init__(
        self, ws: Workstation, user: SignedInUser, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.ws = ws
        self.user = user
        self.model_statuses: list[ModelStatus] = []
        self.banner = QtLeadBanner()
        heading = page_heading("Models and data")

        models_box = QGroupBox("Installed face models")
        self.model_table = read_only_table(MODEL_COLUMNS)
        self.model_state_label = _selectable(QLabel("Checking the installed models..."))
        self.verify_button = QPushButton("Verify again")
        self.verify_button.clicked.connect(self.refresh_models)
        self.install_button = QPushButton("Install the default model")
        self.install_button.setToolTip(
            "Convert the default face model from the installed package (nothing is downloaded)"
        )
        self.install_button.clicked.connect(self.install_default)
        buttons = QHBoxLayout()
        buttons.addWidget(self.verify_button)
        buttons.addWidget(self.install_button)
        buttons.addStretch(1)
        models_layout = QVBoxLayout(models_box)
        models_layout.addWidget(self.model_table, 1)
        models_layout.addWidget(self.model_state_label)
        models_layout.addLayout(buttons)

        data_box = QGroupBox("Data and policy")
        self.facts_form = QFormLayout(data_box)
        self.fact_labels: dict[str, QLabel] = {}
        for key, label in (
            ("data", "Data folder:"),
            ("database", "Database:"),
            ("evidence", "Evidence folder:"),
            ("models", "Models folder:"),
            ("index", "Index folder:"),
            ("profile", "Policy profile in force:"),
            ("profile_file", "Policy file:"),
            ("profile_sha", "Policy file SHA-256:"),
        ):
            value = _selectable(QLabel())
            value.setObjectName(f"fact_{key}")
            self.fact_labels[key] = value
            self.facts_form.addRow(label, value)

        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setObjectName("systemSplitter")
        self.splitter.addWidget(models_box)
        self.splitter.addWidget(data_box)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setSizes([300, 340])  # a few models; the facts need the room

        body = body_with_margins()
        body.addWidget(heading)
        body.addWidget(self.splitter, 1)
        frame_page(self, self.banner, body)
        self.refresh()

    def refresh(self) -> None:
        self.show_facts()
        self.refresh_models()

    def show_facts(self) -> None:
        settings = self.ws.settings
        profile = self.ws.profile
        values = {
            "data": str(settings.data_dir),
            "database": database_address(self.ws),
            "evidence": str(settings.evidence_dir),
            "models": str(settings.models_dir),
            "index": str(settings.index_dir),
            "profile": f"{profile.title} ({profile.version}), issued by {profile.issuer} "
            f"[{profile.name}]",
            "profile_file": str(profile.path),
            "profile_sha": profile.sha256,
        }
        for key, text in values.items():
            self.fact_labels[key].setText(text)

    def refresh_models(self) -> None:
        settings = self.ws.settings
        self.verify_button.setEnabled(False)
        self.model_state_label.setText("Checking the installed models...")
        run_in_background(
            lambda progress, cancelled: models.list_installed_models(settings),
            on_done=self._show_models,
            on_error=self._models_failed,
            parent=self,
            description="verifying the installed models",
        )

    def _show_models(self, statuses: list[ModelStatus]) -> None:
        self.verify_button.setEnabled(True)
        self.model_statuses = statuses
        table = self.model_table
        table.setRowCount(len(statuses))
        for row, s in enumerate(statuses):
            cells = (
                s.name,
                s.version,
                "-" if s.dimension is None else str(s.dimension),
                s.metric,
                "-" if s.threshold is None else f"{s.threshold:g}",
                "yes" if s.is_configured else "",
                "verified" if s.verified else f"NOT VERIFIED: {s.problem}",
                s.sha256,
            )
            for col, text in enumerate(cells):
                table.setItem(row, col, QTableWidgetItem(text))
        configured = self.ws.settings.model_name
        if not statuses:
            text = f"No model is installed; searches need '{configured}'."
        elif not any(s.is_configured for s in statuses):
            text = f"The configured model '{configured}' is not installed."
        elif all(s.verified for s in statuses):
            text = f"{len(statuses)} model(s) installed and verified; searches use '{configured}'."
        else:
            text = "At least one model did not verify; see its state above."
        self.model_state_label.setText(text)
        self.models_listed.emit(statuses)

    def _models_failed(self, error: BaseException) -> None:
        self.verify_button.setEnabled(True)
        self.model_state_label.setText(
            f"The models could not be checked: {messages.error_text(error)}"
        )
        self.models_listed.emit(error)

    def install_default(self) -> None:
        settings = self.ws.settings
        self.install_button.setEnabled(False)
        self.model_state_label.setText("Installing the default model...")
        run_in_background(
            lambda progress, cancelled: models.install_default_model(settings, progress=progress),
            on_done=self._installed,
            on_error=self._install_failed,
            on_progress=lambda done, total, message: self.model_state_label.setText(
                f"Installing the default model: step {done} of {total} {message}"
            ),
            parent=self,
            description="installing the default model",
        )

    def _installed(self, status: ModelStatus) -> None:
        self.install_button.setEnabled(True)
        self.model_installed.emit(status)
        self.refresh_models()

    def _install_failed(self, error: BaseException) -> None:
        self.install_button.setEnabled(True)
        self.model_state_label.setText(f"Installation failed: {messages.error_text(error)}")
        messages.show_error(self, error)
        self.model_installed.emit(error)


__all__ = ["QtSystemInfoPage", "database_address", "masked_url"]
