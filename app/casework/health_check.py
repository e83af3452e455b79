"""The workstation health check (``frx admin check``): supervisors and administrators only.

:func:`run_health_check` checks, read-only, the database (SQLite integrity check), the audit
chain, every evidence file, each installed model's search index and the face models (see
:mod:`app.casework.health_sections`), then records one ``admin.checked`` audit event with the
counts and the verdict. A refusal is audited as ``permission.denied``. Nothing is repaired,
rebuilt or deleted; the report says what is wrong and what the workstation will do about it.

The verdict is ``ok`` when no section has a PROBLEM. Warnings (files in the evidence store no
record refers to, an index the next search catches up, no index yet) are not problems: they are
what normal operation or an interrupted write leaves behind, harmless and listed for the record.
:func:`write_report_json` writes the whole report for monitoring tools, atomically.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from app import __version__
from app.casework.account_rules import SignedInUser
from app.casework.audit_samples import require_auditor
from app.casework.health_sections import (
    PROBLEM,
    Section,
    check_audit,
    check_database,
    check_evidence,
    check_indexes,
    check_models,
)
from app.casework.models import list_installed_models
from app.casework.workstation import Workstation
from app.engine.atomic_files import write_atomically
from app.errors import FrxError, ImportCancelled, InvalidInput, StorageError
from app.records.audit import append_event, format_timestamp

Progress = Callable[[int, int, str], None]
Cancelled = Callable[[], bool]

ATTEMPTED = "run the workstation health check"
REPORT_FORMAT = "frx-health-check"


@dataclass
class HealthReport:
    """Everything the check found; ``ok`` when no section has a problem."""

    quick: bool
    checked_by: str
    started_at: datetime
    finished_at: datetime
    sections: list[Section] = field(default_factory=list)
    recorded_sequence: int | None = None  # the admin.checked event

    @property
    def ok(self) -> bool:
        return all(section.status != PROBLEM for section in self.sections)

    @property
    def verdict(self) -> str:
        return "ok" if self.ok else "problems"

    def section(self, key: str) -> Section:
        for section in self.sections:
            if section.key == key:
                return section
        raise KeyError(key)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": REPORT_FORMAT,
            "app_version": __version__,
            "verdict": self.verdict,
            "ok": self.ok,
            "quick": self.quick,
            "checked_by": self.checked_by,
            "started_at": format_timestamp(self.started_at),
            "finished_at": format_timestamp(self.finished_at),
            "audit_event": self.recorded_sequence,
            "sections": [section.to_dict() for section in self.sections],
        }


def check_report_destination(path: Path) -> Path:
    """The ``--json`` destination, checked before the long work starts (InvalidInput)."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise InvalidInput(f"{path} is a folder; give a file name for the JSON report.")
    if not path.parent.is_dir():
        raise InvalidInput(
            f"The folder {path.parent} does not exist; the JSON report cannot be written there."
        )
    return path


def write_report_json(report: HealthReport, path: Path) -> Path:
    """Write the full report (every problem and warning) as JSON, atomically."""
    path = check_report_destination(path)
    data = json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"
    try:
        write_atomically(path, data.encode("utf-8"))
    except OSError as exc:
        raise StorageError(
            f"The JSON report could not be written to {path}: {exc.strerror or exc}."
        ) from exc
    return path


def _record(ws: Workstation, by: SignedInUser, report: HealthReport) -> None:
    details = {
        "verdict": report.verdict,
        "quick": report.quick,
        "sections": {
            s.key: {
                "status": s.status,
                "problems": len(s.problems),
                "warnings": len(s.warnings),
                **s.counts,
            }
            for s in report.sections
        },
    }
    with ws.database.session() as session:
        event = append_event(
            session,
            actor=by.username,
            action="admin.checked",
            object_type="workstation",
            object_id=None,
            details=details,
            occurred_at=ws.now(),
        )
        report.recorded_sequence = event.sequence


def run_health_check(
    ws: Workstation,
    *,
    by: SignedInUser,
    quick: bool = False,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
) -> HealthReport:
    """Check the whole workstation (supervisors and administrators; refusal audited).

    ``quick``: SQLite ``quick_check`` instead of ``integrity_check`` and evidence files checked
    for existence and size without hashing. ImportCancelled when ``cancelled`` says stop (nothing
    is recorded then).
    """
    with ws.database.session(read_only=True) as session:
        require_auditor(ws, session, by, ATTEMPTED)
    report = HealthReport(
        quick=quick, checked_by=by.username, started_at=ws.now(), finished_at=ws.now()
    )

    def step(message: str) -> None:
        if cancelled is not None and cancelled():
            raise ImportCancelled("The health check was stopped; nothing was changed.")
        if progress is not None:
            progress(0, 1, message)

    try:
        step("database")
        report.sections.append(check_database(ws, quick=quick))
        step("audit chain")
        report.sections.append(check_audit(ws))
        step("evidence")
        report.sections.append(
            check_evidence(ws, quick=quick, progress=progress, cancelled=cancelled)
        )
        step("face models")
        statuses = list_installed_models(ws.settings)
        step("search index")
        report.sections.append(check_indexes(ws, statuses))
        report.sections.append(check_models(ws, statuses))
    except ImportCancelled:
        raise ImportCancelled("The health check was stopped; nothing was changed.") from None
    if progress is not None:
        progress(1, 1, "done")
    report.finished_at = ws.now()
    try:
        _record(ws, by, report)
    except FrxError as exc:  # e.g. the audit log's anchor is gone: nothing can be appended
        report.section("audit").problem(f"The check could not be recorded in the audit log: {exc}")
    return report


__all__ = [
    "ATTEMPTED",
    "HealthReport",
    "check_report_destination",
    "run_health_check",
    "write_report_json",
]
