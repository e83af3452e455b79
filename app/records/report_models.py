"""Report, release and retention tables: issued reports, disseminations, disclosure requests with
the legal advisor's decisions and releases, legal holds, and random audit samples with findings.

An issued report is a PDF in the evidence store; its row holds the SHA-256 (unique: one row per
file, so a file is looked up by its hash) and the fingerprint of the content it was built from.
Re-issuing makes a new row with the same report number and the next version, and marks the
earlier one superseded (it is kept). Every release of a report is a dissemination row (IV.G).

Legal holds, audit samples and findings name requests by plain id and number (no foreign key):
they are audit records that must outlive a case file purged at the end of its retention.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.records.base import Base, UtcDateTime
from app.records.models import SHA256_HEX_LENGTH, USERNAME_MAX

REPORT_KINDS = ("lead", "no_lead")
REPORT_STATUSES = ("issued", "superseded")
DISCLOSURE_STATUSES = ("received", "approved", "denied", "released")
DISCLOSURE_DECISIONS = ("approved", "denied")
HOLD_RECORD_TYPES = (
    "request",
    "probe",
    "search",
    "comparison",
    "report",
    "dissemination",
    "disclosure",
)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Report(Base):
    """One issued version of a lead or no-lead report (the PDF is evidence)."""

    __tablename__ = "case_reports"
    __table_args__ = (
        CheckConstraint(_in("kind", REPORT_KINDS), name="known_kind"),
        CheckConstraint(_in("status", REPORT_STATUSES), name="known_status"),
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint(
            "(kind = 'lead' AND comparison_id IS NOT NULL) OR (kind = 'no_lead')",
            name="lead_has_comparison",
        ),
        UniqueConstraint("report_number", "version"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_number: Mapped[str] = mapped_column(String(40), index=True)  # FRX-<year>-<seq>
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    request_id: Mapped[int] = mapped_column(ForeignKey("case_requests.id"), index=True)
    comparison_id: Mapped[int | None] = mapped_column(ForeignKey("case_comparisons.id"), index=True)
    case_number: Mapped[str] = mapped_column(String(100), index=True)
    pdf_sha256: Mapped[str] = mapped_column(ForeignKey("evidence_files.sha256"), unique=True)
    pdf_size: Mapped[int] = mapped_column(Integer)
    content_fingerprint: Mapped[str] = mapped_column(String(SHA256_HEX_LENGTH))
    paper: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20))
    issued_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    issued_by: Mapped[str] = mapped_column(String(USERNAME_MAX))
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("case_reports.id"))
    superseded_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    version_id: Mapped[int] = mapped_column(Integer)

    disseminations: Mapped[list[Dissemination]] = relationship(
        back_populates="report", order_by="Dissemination.id"
    )

    __mapper_args__ = {"version_id_col": version_id}  # noqa: RUF012 (SQLAlchemy's own hook)


class Dissemination(Base):
    """One release of a report to a recipient with a need to know (MPTC IV.G)."""

    __tablename__ = "case_disseminations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("case_reports.id"), index=True)
    recipient_agency: Mapped[str] = mapped_column(String(200))
    official: Mapped[str] = mapped_column(String(200))
    recipient_type: Mapped[str] = mapped_column(String(50))
    need_to_know: Mapped[str] = mapped_column(Text)
    method: Mapped[str] = mapped_column(String(200))
    released_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    released_by: Mapped[str] = mapped_column(String(USERNAME_MAX), index=True)
    released_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)

    report: Mapped[Report] = relationship(back_populates="disseminations")


class DisclosureRequest(Base):
    """A request from outside for records, e.g. under a freedom of information law (MPTC VI.E)."""

    __tablename__ = "disclosure_requests"
    __table_args__ = (CheckConstraint(_in("status", DISCLOSURE_STATUSES), name="known_status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    requester: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    description: Mapped[str] = mapped_column(Text)
    request_id: Mapped[int | None] = mapped_column(Integer, index=True)  # the case, if one
    case_number: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))
    recorded_by: Mapped[str] = mapped_column(String(USERNAME_MAX))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    version_id: Mapped[int] = mapped_column(Integer)

    decisions: Mapped[list[DisclosureDecision]] = relationship(
        back_populates="disclosure", order_by="DisclosureDecision.id"
    )
    releases: Mapped[list[DisclosureRelease]] = relationship(
        back_populates="disclosure", order_by="DisclosureRelease.id"
    )

    __mapper_args__ = {"version_id_col": version_id}  # noqa: RUF012


class DisclosureDecision(Base):
    """The legal advisor's recorded approval or denial of a disclosure request."""

    __tablename__ = "disclosure_decisions"
    __table_args__ = (
        CheckConstraint(_in("decision", DISCLOSURE_DECISIONS), name="known_decision"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    disclosure_id: Mapped[int] = mapped_column(ForeignKey("disclosure_requests.id"), index=True)
    decision: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    decided_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decided_by: Mapped[str] = mapped_column(String(USERNAME_MAX))
    decided_at: Mapped[datetime] = mapped_column(UtcDateTime)

    disclosure: Mapped[DisclosureRequest] = relationship(back_populates="decisions")


class DisclosureRelease(Base):
    """What was released on an approved disclosure request, by whom and when."""

    __tablename__ = "disclosure_releases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    disclosure_id: Mapped[int] = mapped_column(ForeignKey("disclosure_requests.id"), index=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("disclosure_decisions.id"))
    description: Mapped[str] = mapped_column(Text)  # what was released
    items: Mapped[str] = mapped_column(Text)  # JSON list of released records (type, id, sha256)
    method: Mapped[str] = mapped_column(String(200))
    released_by: Mapped[str] = mapped_column(String(USERNAME_MAX))
    released_at: Mapped[datetime] = mapped_column(UtcDateTime)

    disclosure: Mapped[DisclosureRequest] = relationship(back_populates="releases")


class LegalHold(Base):
    """A hold that keeps a case file (or a disclosure request) from being purged (MPTC VI.A)."""

    __tablename__ = "legal_holds"
    __table_args__ = (
        CheckConstraint(_in("record_type", HOLD_RECORD_TYPES), name="known_record_type"),
        CheckConstraint(
            "(lifted_at IS NULL AND lifted_by IS NULL) OR "
            "(lifted_at IS NOT NULL AND lifted_by IS NOT NULL)",
            name="lifted_with_who",
        ),
        Index("ix_legal_holds_record", "record_type", "record_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_type: Mapped[str] = mapped_column(String(20))
    record_id: Mapped[int] = mapped_column(Integer)
    request_id: Mapped[int | None] = mapped_column(Integer, index=True)  # the case file held
    case_number: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)
    placed_by: Mapped[str] = mapped_column(String(USERNAME_MAX))
    placed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    lifted_by: Mapped[str | None] = mapped_column(String(USERNAME_MAX))
    lifted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    lift_reason: Mapped[str | None] = mapped_column(Text)
    version_id: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": version_id}  # noqa: RUF012

    @property
    def active(self) -> bool:
        return self.lifted_at is None


class AuditSample(Base):
    """A random sample of requests drawn for a compliance audit (MPTC VI.C), reproducible from
    its seed, its size and the period it was drawn from."""

    __tablename__ = "audit_samples"
    __table_args__ = (
        CheckConstraint("sample_size >= 1", name="size_positive"),
        CheckConstraint("period_end > period_start", name="period_forward"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seed: Mapped[int] = mapped_column(BigInteger)
    sample_size: Mapped[int] = mapped_column(Integer)
    period_start: Mapped[datetime] = mapped_column(UtcDateTime)
    period_end: Mapped[datetime] = mapped_column(UtcDateTime)  # exclusive
    population: Mapped[int] = mapped_column(Integer)  # requests in the period when drawn
    request_ids: Mapped[str] = mapped_column(Text)  # JSON list, in drawing order
    drawn_by: Mapped[str] = mapped_column(String(USERNAME_MAX))
    drawn_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)

    findings: Mapped[list[AuditFinding]] = relationship(
        back_populates="sample", order_by="AuditFinding.id"
    )


class AuditFinding(Base):
    """What the auditor found about one sampled request."""

    __tablename__ = "audit_findings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sample_id: Mapped[int] = mapped_column(ForeignKey("audit_samples.id"), index=True)
    request_id: Mapped[int] = mapped_column(Integer, index=True)
    request_number: Mapped[str] = mapped_column(String(40))
    compliant: Mapped[bool] = mapped_column(Boolean)
    finding: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(USERNAME_MAX))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)

    sample: Mapped[AuditSample] = relationship(back_populates="findings")

