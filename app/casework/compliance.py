"""The compliance overview of a period and the yearly transparency figures (MPTC VI.C).

:func:`compliance_overview` gathers, for a period, everything the supervisors' dashboard and the
PDF compliance report show: searches per purpose and per examiner, leads and no-leads, second
reviews done, missing and disagreeing, reports released and to whom, refused actions, examiners
whose training runs out within 30 days, and sealed gallery records. It reuses the queries of
:mod:`app.casework.supervision`; reading it is recorded as ``compliance.viewed``.

:func:`transparency_figures` counts one calendar year (UTC): requests, searches (per purpose and
per offense as the requests record them), leads, no-lead reports and releases, for publication.
Files (the PDF report, the CSV of figures) are written by :mod:`app.casework.compliance_files`.

Reading is for supervisors, administrators and legal advisors (refusals audited as
``permission.denied``); the training list only for supervisors and administrators, so for a
legal advisor it is left out (None), not refused.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.casework import supervision, training
from app.casework.account_rules import SignedInUser
from app.casework.audit_log import current_roles
from app.casework.audit_samples import check_period, require_supervision_reader, within
from app.casework.case_access import audit
from app.casework.report_data import display_name
from app.casework.workstation import Workstation
from app.errors import InvalidInput
from app.policy.supervision import evaluate_training_oversight
from app.records.audit import format_timestamp
from app.records.case_models import CaseRequest, CaseSearch, Comparison
from app.records.gallery_models import GalleryPhoto, GallerySubject
from app.records.models import AuditEvent
from app.records.report_models import Dissemination, Report
from app.reports.compliance_data import (
    ComplianceOverview,
    CountLine,
    DisagreementLine,
    PeriodCounts,
    RefusalLine,
    ReleaseLine,
    ReviewFigures,
    SealedRecords,
    TrainingLine,
    TransparencyFigures,
    UnreviewedLine,
)

__all__ = [
    "REFUSALS_LISTED",
    "TRAINING_WINDOW_DAYS",
    "ComplianceOverview",
    "TransparencyFigures",
    "compliance_overview",
    "transparency_figures",
    "year_period",
]

TRAINING_WINDOW_DAYS = 30
REFUSALS_LISTED = 200  # newest refusals listed one by one; all are counted
FIRST_YEAR, LAST_YEAR = 2000, 2200
SEALED_ACTIONS = ("gallery.subject_sealed", "gallery.photo_sealed")
UNSEALED_ACTIONS = ("gallery.subject_unsealed", "gallery.photo_unsealed")


def _counted(values: Counter[str]) -> tuple[CountLine, ...]:
    ordered = sorted(values.items(), key=lambda item: (-item[1], item[0]))
    return tuple(CountLine(key, key, count) for key, count in ordered)


def _audit_period(since: datetime | None, until: datetime | None) -> list[Any]:
    # Audit times are ISO-8601 UTC text, compared as text.
    conditions = []
    if since is not None:
        conditions.append(AuditEvent.occurred_at >= format_timestamp(since))
    if until is not None:
        conditions.append(AuditEvent.occurred_at < format_timestamp(until))
    return conditions


def _audit_count(
    session: Session, actions: tuple[str, ...], since: datetime | None, until: datetime | None
) -> int:
    stmt = select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action.in_(actions), *_audit_period(since, until)
    )
    return int(session.execute(stmt).scalar_one())


def _refusals_per_action(
    session: Session, since: datetime | None, until: datetime | None
) -> tuple[CountLine, ...]:
    """Refused actions by kind, as :func:`app.casework.supervision.refused_actions` selects
    them (``...refused`` actions and ``permission.denied``)."""
    stmt = (
        select(AuditEvent.action, func.count())
        .where(
            or_(
                AuditEvent.action.like(supervision.REFUSED_PREFIX_FREE),
                AuditEvent.action == supervision.PERMISSION_DENIED,
            ),
            *_audit_period(since, until),
        )
        .group_by(AuditEvent.action)
    )
    return _counted(Counter({str(action): int(n) for action, n in session.execute(stmt)}))


def _sealed(session: Session, since: datetime | None, until: datetime | None) -> SealedRecords:
    def sealed_now(model: Any) -> int:
        stmt = select(func.count()).select_from(model).where(model.sealed.is_(True))
        return int(session.execute(stmt).scalar_one())

    return SealedRecords(
        subjects_sealed_now=sealed_now(GallerySubject),
        photos_sealed_now=sealed_now(GalleryPhoto),
        sealed_in_period=_audit_count(session, SEALED_ACTIONS, since, until),
        unsealed_in_period=_audit_count(session, UNSEALED_ACTIONS, since, until),
    )


def _training(ws: Workstation, user: SignedInUser, roles: Any) -> tuple[TrainingLine, ...] | None:
    if not evaluate_training_oversight(roles).allowed:
        return None
    due = training.training_due(ws, by=user, within_days=TRAINING_WINDOW_DAYS)
    return tuple(
        TrainingLine(
            username=item.username,
            display_name=item.display_name,
            state=item.state.value,
            valid_until=item.valid_until,
            days_left=item.days_left,
            sentence=item.status.sentence,
        )
        for item in due
    )


def _refusals(rows: list[Any]) -> tuple[RefusalLine, ...]:
    return tuple(
        RefusalLine(
            sequence=row.sequence,
            occurred_at=row.occurred_at,
            actor=row.actor,
            action=row.action,
            reason=str(row.details.get("reason") or row.details.get("attempted") or ""),
        )
        for row in rows
    )


def compliance_overview(
    ws: Workstation,
    *,
    user: SignedInUser,
    since: datetime | None = None,
    until: datetime | None = None,
    audited: bool = True,
) -> ComplianceOverview:
    """Everything the compliance dashboard shows for the period (``since`` inclusive, ``until``
    exclusive, UTC). Recorded as ``compliance.viewed`` unless ``audited`` is False (the caller
    records its own event, e.g. the PDF report)."""
    check_period(since, until)
    with ws.database.session(read_only=True) as session:
        require_supervision_reader(ws, session, user, "see the compliance overview")
        roles = current_roles(session, user)
        generated_by = display_name(session, user.username)
        not_lead = select(func.count()).select_from(Comparison).where(
            Comparison.status == "concluded",
            Comparison.conclusion != "possible_lead",
            *within(Comparison.finished_at, since, until),
        )
        no_lead_conclusions = int(session.execute(not_lead).scalar_one())
        sealed = _sealed(session, since, until)
        per_action = _refusals_per_action(session, since, until)
    period: dict[str, Any] = {"user": user, "since": since, "until": until}
    counts = supervision.compliance_counts(ws, **period)
    per_purpose = supervision.searches_per_purpose(ws, **period)
    per_examiner = supervision.searches_per_examiner(ws, **period)
    unreviewed = supervision.searches_without_review(ws, **period)
    disagreements = supervision.review_disagreements(ws, **period)
    released = supervision.reports_disseminated(ws, **period)
    refused = supervision.refused_actions(ws, **period, limit=REFUSALS_LISTED)
    overview = ComplianceOverview(
        since=since,
        until=until,
        generated_at=ws.now(),
        generated_by=generated_by,
        agency=ws.settings.agency_name,
        unit=ws.settings.unit_name,
        profile_name=ws.profile.name,
        profile_version=ws.profile.version,
        profile_sha256=ws.profile.sha256,
        paper="a4" if ws.settings.paper_size == "a4" else "letter",
        counts=PeriodCounts(
            requests=counts.requests,
            searches=counts.searches,
            comparisons_concluded=counts.comparisons_concluded,
            possible_leads=counts.possible_leads,
            no_lead_conclusions=no_lead_conclusions,
            lead_reports=counts.lead_reports,
            no_lead_reports=counts.no_lead_reports,
            disseminations=counts.disseminations,
            refused_actions=counts.refused_actions,
        ),
        reviews=ReviewFigures(
            done=counts.leads_reviewed,
            skipped=counts.leads_review_skipped,
            awaiting=counts.leads_awaiting_review,
            disagreements=counts.disagreements,
        ),
        searches_per_purpose=tuple(per_purpose),
        searches_per_examiner=tuple(per_examiner),
        unreviewed_leads=tuple(
            UnreviewedLine(
                request_number=u.request_number,
                case_number=u.case_number,
                subject_reference=u.subject_reference,
                examiner=u.examiner,
                concluded_at=u.concluded_at,
                review_state=u.review_state,
                skip_reason=u.skip_reason,
            )
            for u in unreviewed
        ),
        disagreements=tuple(
            DisagreementLine(
                request_number=d.request_number,
                case_number=d.case_number,
                examiner=d.examiner,
                first_conclusion=d.first_conclusion or "",
                reviewer=d.reviewer,
                reviewer_conclusion=d.reviewer_conclusion or "",
                recorded_at=d.recorded_at,
                resolved=d.resolved_at is not None,
            )
            for d in disagreements
        ),
        releases=tuple(
            ReleaseLine(
                report_number=r.report_number,
                version=r.version,
                kind=r.kind,
                case_number=r.case_number,
                recipient_agency=r.recipient_agency,
                official=r.official,
                recipient_type=r.recipient_type,
                method=r.method,
                released_by=r.released_by,
                released_at=r.released_at,
            )
            for r in released
        ),
        releases_per_recipient=_counted(Counter(r.recipient_agency for r in released)),
        refusals=_refusals(refused),
        refusals_per_action=per_action,
        training_window_days=TRAINING_WINDOW_DAYS,
        training_due=_training(ws, user, roles),
        sealed=sealed,
    )
    if audited:
        with ws.database.session() as session:
            audit(
                ws,
                session,
                user=user,
                action="compliance.viewed",
                object_type="compliance",
                object_id=None,
                details=period_details(since, until),
            )
    return overview


def period_details(since: datetime | None, until: datetime | None) -> dict[str, str | None]:
    """The period as recorded in audit events."""
    return {
        "since": format_timestamp(since) if since is not None else None,
        "until": format_timestamp(until) if until is not None else None,
    }


# ----------------------------------------------------------------------------- transparency
def year_period(year: int) -> tuple[datetime, datetime]:
    """1 January of ``year`` 00:00 UTC to 1 January of the next year (exclusive)."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise InvalidInput(f"The year must be between {FIRST_YEAR} and {LAST_YEAR}.")
    return datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)


def _offense_key(offense: str) -> str:
    return " ".join(offense.split()).casefold()


def transparency_figures(
    ws: Workstation, *, user: SignedInUser, year: int
) -> TransparencyFigures:
    """The year's counts for publication (no names, no case numbers). Not audited by itself:
    the export that publishes them is (:func:`app.casework.compliance_files.export_transparency`).
    """
    since, until = year_period(year)
    with ws.database.session(read_only=True) as session:
        require_supervision_reader(ws, session, user, "see the transparency figures")

        def count(model: Any, *conditions: Any) -> int:
            stmt = select(func.count()).select_from(model).where(*conditions)
            return int(session.execute(stmt).scalar_one())

        def reports_of(kind: str) -> int:
            stmt = select(func.count(func.distinct(Report.report_number))).where(
                Report.kind == kind, *within(Report.issued_at, since, until)
            )
            return int(session.execute(stmt).scalar_one())

        searched = session.execute(
            select(CaseRequest.purpose_code, CaseRequest.purpose_text, CaseRequest.offense)
            .select_from(CaseSearch)
            .join(CaseRequest, CaseRequest.id == CaseSearch.request_id)
            .where(*within(CaseSearch.created_at, since, until))
            .order_by(CaseSearch.id)
        ).all()
        purposes: Counter[str] = Counter()
        purpose_text: dict[str, str] = {}
        offenses: Counter[str] = Counter()
        offense_text: dict[str, str] = {}
        for code, text, offense in searched:
            purposes[code] += 1
            purpose_text.setdefault(code, text)
            key = _offense_key(offense)
            offenses[key] += 1
            offense_text.setdefault(key, " ".join(offense.split()))
        return TransparencyFigures(
            year=year,
            requests=count(CaseRequest, *within(CaseRequest.created_at, since, until)),
            searches=len(searched),
            searches_per_purpose=tuple(
                CountLine(key, purpose_text[key], n)
                for key, n in sorted(purposes.items(), key=lambda i: (-i[1], i[0]))
            ),
            searches_per_offense=tuple(
                CountLine(offense_text[key], offense_text[key], n)
                for key, n in sorted(offenses.items(), key=lambda i: (-i[1], i[0]))
            ),
            possible_leads=count(
                Comparison,
                Comparison.status == "concluded",
                Comparison.conclusion == "possible_lead",
                *within(Comparison.finished_at, since, until),
            ),
            lead_reports=reports_of("lead"),
            no_lead_reports=reports_of("no_lead"),
            reports_disseminated=count(
                Dissemination, *within(Dissemination.released_at, since, until)
            ),
            generated_at=ws.now(),
        )
