"""Random audit samples (MPTC VI.C: periodic and random audits), and the access rules that the
supervisors' queries share.

A sample of N requests is drawn from the requests opened in a period with a seeded generator;
the seed, size, period, population and the requests drawn are recorded, so the same sample can be
drawn again (:func:`reproduce_audit_sample`). Findings are recorded per sampled request. Reading
is for supervisors, administrators and legal advisors; drawing and recording findings for
supervisors and administrators; refusals are audited as ``permission.denied``.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.casework.account_rules import SignedInUser
from app.casework.audit_log import current_roles, refuse
from app.casework.case_access import audit, dumps
from app.casework.workstation import Workstation
from app.errors import InvalidInput, NotFound
from app.policy.gates import Decision
from app.policy.roles import Role
from app.policy.supervision import evaluate_audit_reading
from app.records.case_models import CaseRequest, json_value
from app.records.report_models import AuditFinding, AuditSample

__all__ = [
    "AuditFindingSummary",
    "AuditSampleSummary",
    "check_period",
    "draw_audit_sample",
    "get_audit_sample",
    "list_audit_samples",
    "record_audit_finding",
    "reproduce_audit_sample",
    "require_auditor",
    "require_supervision_reader",
    "sample_requests",
    "within",
]

AUDITOR_ROLES = frozenset({Role.SUPERVISOR, Role.ADMINISTRATOR})
MAX_SAMPLE = 10_000
FINDING_MAX = 20_000


@dataclass(frozen=True)
class AuditFindingSummary:
    finding_id: int
    sample_id: int
    request_id: int
    request_number: str
    compliant: bool
    finding: str
    recorded_by: str
    recorded_at: datetime


@dataclass(frozen=True)
class AuditSampleSummary:
    sample_id: int
    seed: int
    sample_size: int
    period_start: datetime
    period_end: datetime
    population: int
    request_ids: tuple[int, ...]
    drawn_by: str
    drawn_at: datetime
    findings: tuple[AuditFindingSummary, ...] = ()


# ----------------------------------------------------------------------------- access
def require_supervision_reader(
    ws: Workstation, session: Session, user: SignedInUser, attempted: str
) -> None:
    decision = evaluate_audit_reading(current_roles(session, user), attempted)
    if not decision.allowed:
        session.rollback()
        refuse(ws, user, decision, attempted)


def require_auditor(ws: Workstation, session: Session, user: SignedInUser, attempted: str) -> None:
    if not current_roles(session, user) & AUDITOR_ROLES:
        session.rollback()
        reason = f"Only an active supervisor or administrator may {attempted} (MPTC VI.C)."
        refuse(ws, user, Decision(False, (reason,)), attempted)


def check_period(since: datetime | None, until: datetime | None) -> None:
    for moment in (since, until):
        if moment is not None and moment.tzinfo is None:
            raise InvalidInput("Dates of a period must carry a time zone.")
    if since is not None and until is not None and since >= until:
        raise InvalidInput("The start of the period must be before its end.")


def within(column: Any, since: datetime | None, until: datetime | None) -> list[Any]:
    conditions = []
    if since is not None:
        conditions.append(column >= since)
    if until is not None:
        conditions.append(column < until)
    return conditions


# ----------------------------------------------------------------------------- audit samples
def sample_requests(population: Sequence[int], n: int, seed: int) -> tuple[int, ...]:
    """The sample: ``n`` of the request ids (all when fewer), drawn by a generator seeded with
    ``seed`` from the ids in ascending order. The same inputs always give the same sample."""
    ordered = sorted(set(population))
    return tuple(random.Random(seed).sample(ordered, min(n, len(ordered))))


def _population(session: Session, since: datetime, until: datetime) -> list[int]:
    stmt = select(CaseRequest.id).where(*within(CaseRequest.created_at, since, until))
    return [int(i) for i in session.execute(stmt).scalars()]


def _sample_summary(row: AuditSample) -> AuditSampleSummary:
    return AuditSampleSummary(
        sample_id=row.id,
        seed=row.seed,
        sample_size=row.sample_size,
        period_start=row.period_start,
        period_end=row.period_end,
        population=row.population,
        request_ids=tuple(int(i) for i in json_value(row.request_ids) or ()),
        drawn_by=row.drawn_by,
        drawn_at=row.drawn_at,
        findings=tuple(
            AuditFindingSummary(
                f.id,
                f.sample_id,
                f.request_id,
                f.request_number,
                f.compliant,
                f.finding,
                f.recorded_by,
                f.recorded_at,
            )
            for f in row.findings
        ),
    )


def draw_audit_sample(
    ws: Workstation,
    *,
    user: SignedInUser,
    n: int,
    since: datetime,
    until: datetime,
    seed: int | None = None,
) -> AuditSampleSummary:
    """Draw ``n`` requests opened in [since, until) at random for an audit; the seed (random
    when not given), the period and the requests drawn are recorded."""
    check_period(since, until)
    if not 1 <= n <= MAX_SAMPLE:
        raise InvalidInput(f"Draw between 1 and {MAX_SAMPLE} requests.")
    if seed is not None and not 0 <= seed < 2**63:
        raise InvalidInput("The seed must be a whole number from 0 to 2^63 - 1.")
    used_seed = seed if seed is not None else secrets.randbits(63)
    with ws.database.session() as session:
        require_auditor(ws, session, user, "draw an audit sample")
        population = _population(session, since, until)
        if not population:
            raise InvalidInput("No request was opened in that period; there is nothing to draw.")
        chosen = sample_requests(population, n, used_seed)
        row = AuditSample(
            seed=used_seed,
            sample_size=n,
            period_start=since,
            period_end=until,
            population=len(population),
            request_ids=dumps(list(chosen)),
            drawn_by=user.username,
            drawn_at=ws.now(),
        )
        session.add(row)
        session.flush()
        found = session.execute(
            select(CaseRequest.id, CaseRequest.request_number).where(CaseRequest.id.in_(chosen))
        )
        numbers = {int(row[0]): str(row[1]) for row in found}
        audit(
            ws,
            session,
            user=user,
            action="audit.sample_drawn",
            object_type="audit_sample",
            object_id=row.id,
            details={
                "seed": used_seed,
                "n": n,
                "since": since,
                "until": until,
                "population": len(population),
                "request_ids": list(chosen),
                "request_numbers": [numbers.get(i) for i in chosen],
            },
        )
        session.refresh(row)
        return _sample_summary(row)


def _load_sample(session: Session, sample_id: int) -> AuditSample:
    row = session.get(AuditSample, sample_id)
    if row is None:
        raise NotFound(f"There is no audit sample with number {sample_id}.")
    return row


def reproduce_audit_sample(
    ws: Workstation, *, user: SignedInUser, sample_id: int
) -> tuple[int, ...]:
    """Draw a recorded sample again from its seed, size and period (compare with the record;
    a purge of old case files since the draw changes the population, and so the result)."""
    with ws.database.session(read_only=True) as session:
        require_supervision_reader(ws, session, user, "reproduce an audit sample")
        row = _load_sample(session, sample_id)
        population = _population(session, row.period_start, row.period_end)
        return sample_requests(population, row.sample_size, row.seed)


def get_audit_sample(ws: Workstation, *, user: SignedInUser, sample_id: int) -> AuditSampleSummary:
    with ws.database.session(read_only=True) as session:
        require_supervision_reader(ws, session, user, "read an audit sample")
        return _sample_summary(_load_sample(session, sample_id))


def list_audit_samples(ws: Workstation, *, user: SignedInUser) -> list[AuditSampleSummary]:
    with ws.database.session(read_only=True) as session:
        require_supervision_reader(ws, session, user, "read the audit samples")
        rows = session.execute(select(AuditSample).order_by(AuditSample.id.desc())).scalars()
        return [_sample_summary(r) for r in rows]


def record_audit_finding(
    ws: Workstation,
    *,
    user: SignedInUser,
    sample_id: int,
    request_id: int,
    finding: str,
    compliant: bool,
) -> AuditFindingSummary:
    """Record what the audit found about one request of the sample."""
    text = " ".join(str(finding or "").split())
    if len(text) < 5:
        raise InvalidInput("Write down the finding.")
    if len(text) > FINDING_MAX:
        raise InvalidInput(f"The finding is too long: at most {FINDING_MAX} characters.")
    with ws.database.session() as session:
        require_auditor(ws, session, user, "record an audit finding")
        sample = _load_sample(session, sample_id)
        drawn = [int(i) for i in json_value(sample.request_ids) or ()]
        if request_id not in drawn:
            raise InvalidInput(
                f"Request {request_id} is not in audit sample {sample_id}; findings are recorded "
                "for the requests drawn."
            )
        request = session.get(CaseRequest, request_id)
        number = request.request_number if request is not None else f"request {request_id}"
        row = AuditFinding(
            sample_id=sample.id,
            request_id=request_id,
            request_number=number,
            compliant=compliant,
            finding=text,
            recorded_by=user.username,
            recorded_at=ws.now(),
        )
        session.add(row)
        session.flush()
        audit(
            ws,
            session,
            user=user,
            action="audit.finding_recorded",
            object_type="audit_sample",
            object_id=sample.id,
            details={
                "finding_id": row.id,
                "request_id": request_id,
                "request_number": number,
                "case_number": request.case_number if request is not None else None,
                "compliant": compliant,
                "finding": text,
            },
        )
        return AuditFindingSummary(
            row.id,
            sample.id,
            request_id,
            number,
            compliant,
            text,
            row.recorded_by,
            row.recorded_at,
        )
