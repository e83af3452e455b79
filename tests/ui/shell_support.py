"""Helpers shared by the GUI shell tests (imported by tests/ui/conftest.py and the tests)."""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtWidgets import QMessageBox

ADMIN_PASSWORD = "correct horse battery"
EXAMINER_PASSWORD = "examiner staple 42"


@dataclass
class ShownMessages:
    """Every message box the code under test showed, answered with ``answer``."""

    boxes: list[tuple[str, str]] = field(default_factory=list)  # (title, text)
    answer: QMessageBox.StandardButton = QMessageBox.StandardButton.Ok

    @property
    def texts(self) -> list[str]:
        return [text for _, text in self.boxes]


def audit_actions(ws: object) -> list[tuple[str, str]]:
    """(actor, action) of every audit event, oldest first."""
    from sqlalchemy import select

    from app.records.models import AuditEvent

    with ws.database.session(read_only=True) as session:  # type: ignore[attr-defined]
        rows = session.execute(select(AuditEvent).order_by(AuditEvent.sequence)).scalars()
        return [(row.actor, row.action) for row in rows]
