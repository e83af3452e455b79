"""QtAboutDialog: product, version, every component's version and this installation's facts.

The text is plain and selectable, with a Copy button, so an examiner can paste it into a support
request or a case note exactly.
"""

from __future__ import annotations

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import Qt, qVersion
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from app import APP_NAME, __version__
from app.casework.workstation import Workstation
from app.ui import facts
from app.ui.qt_lead_banner import QtLeadBanner


def about_text(ws: Workstation, *, model_text: str | None = None) -> str:
    """The copyable About text: versions, then the installation."""
    rows = facts.component_versions((pyside_version, qVersion()))
    install = [
        ("Data folder", str(ws.settings.data_dir)),
        ("Database", facts.database_text(ws)),
        ("Evidence folder", str(ws.settings.evidence_dir)),
        ("Policy profile", facts.profile_text(ws)),
        ("Face model", model_text or f"{ws.settings.model_name} (not checked)"),
    ]
    sha = getattr(getattr(ws, "profile", None), "sha256", "")
    if sha:
        install.append(("Policy file SHA-256", str(sha)))
    width = max(len(name) for name, _ in rows + install) + 2
    lines = [f"{APP_NAME} {__version__}", "", "Components:"]
    lines += [f"  {name + ':':<{width}}{value}" for name, value in rows]
    lines += ["", "This installation:"]
    lines += [f"  {name + ':':<{width}}{value}" for name, value in install]
    return "\n".join(lines) + "\n"


class QtAboutDialog(QDialog):
    def __init__(
        self, ws: Workstation, parent: QWidget | None = None, *, model_text: str | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"About {APP_NAME}")
        self.resize(820, 600)
        heading = QLabel(f"<h2>{APP_NAME}</h2><p>Version {__version__}</p>")
        heading.setTextFormat(Qt.TextFormat.RichText)
        purpose = QLabel(
            "Facial recognition for trained examiners. A result is an investigative lead only: "
            "never a positive identification and never probable cause to arrest."
        )
        purpose.setWordWrap(True)
        self.text_view = QPlainTextEdit(about_text(ws, model_text=model_text))
        self.text_view.setReadOnly(True)
        self.text_view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text_view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = self.buttons.addButton(
            "Copy", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.copy_button.clicked.connect(self.copy_to_clipboard)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QtLeadBanner())
        layout.addWidget(heading)
        layout.addWidget(purpose)
        layout.addWidget(self.text_view, 1)
        layout.addWidget(self.buttons)

    def text(self) -> str:
        return self.text_view.toPlainText()

    def copy_to_clipboard(self) -> None:
        QGuiApplication.clipboard().setText(self.text())
        self.copy_button.setText("Copied")


__all__ = ["QtAboutDialog", "about_text"]
