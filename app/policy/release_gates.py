"""Gates on what leaves the unit and what is kept: results, disclosure, retention, gallery.

Pure checks like those in :mod:`app.policy.gates` (which re-exports everything here):
``check_*`` raise :class:`PolicyViolation` or :class:`PermissionDenied` with a plain reason
naming the clause; ``evaluate_*`` return a :class:`Decision` with every reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from app.errors import PolicyViolation
from app.policy.decision import Decision, require_role
from app.policy.profiles import PolicyProfile
from app.policy.roles import Role

MIN_NEED_TO_KNOW_CHARS = 10  # "case agent" is the shortest plausible reason


# --------------------------------------------------------------------------- IV.F interagency
def check_results_release(*, interagency: bool, acknowledgment_recorded: bool) -> None:
    """Another agency's request: no result leaves before its written acknowledgment (IV.F)."""
    if interagency and not acknowledgment_recorded:
        raise PolicyViolation(
            "Results of another agency's request cannot be released until that agency's written "
            "acknowledgment that a result is only an investigative lead is recorded (MPTC IV.F)."
        )


# --------------------------------------------------------------------------- IV.G dissemination
def recipient_is_law_enforcement(profile: PolicyProfile, recipient_type: str) -> bool:
    """Whether a recipient type of the profile counts as law enforcement (unknown: no)."""
    kind = profile.recipient_type(recipient_type)
    return kind is not None and kind.law_enforcement


def dissemination_problems(
    *,
    recipient_agency: str,
    recipient_official: str,
    recipient_is_law_enforcement: bool,
    need_to_know_reason: str,
    method: str,
    report_issued: bool,
) -> tuple[str, ...]:
    """Everything wrong with releasing a report to this recipient, not just the first."""
    problems: list[str] = []
    if not report_issued:
        problems.append("Only an issued report can be released; issue the report first.")
    if not recipient_agency.strip():
        problems.append("Record the receiving agency (MPTC IV.G).")
    if not recipient_official.strip():
        problems.append("Record the receiving official (MPTC IV.G).")
    if not recipient_is_law_enforcement:
        problems.append(
            "Results may only be released to law enforcement with a need to know, for an "
            "authorized purpose (MPTC IV.G)."
        )
    if len(need_to_know_reason.strip()) < MIN_NEED_TO_KNOW_CHARS:
        problems.append(
            "Record why the recipient needs to know, in words (e.g. 'assigned investigator on "
            "this case') (MPTC IV.G)."
        )
    if not method.strip():
        problems.append(
            "Record how the report is released (e.g. printed and handed over, PDF by secure "
            "email) (MPTC IV.G)."
        )
    return tuple(problems)


def evaluate_dissemination(
    *,
    recipient_agency: str,
    recipient_official: str,
    recipient_is_law_enforcement: bool,
    need_to_know_reason: str,
    method: str,
    report_issued: bool,
) -> Decision:
    return Decision.of(
        dissemination_problems(
            recipient_agency=recipient_agency,
            recipient_official=recipient_official,
            recipient_is_law_enforcement=recipient_is_law_enforcement,
            need_to_know_reason=need_to_know_reason,
            method=method,
            report_issued=report_issued,
        )
    )


def check_dissemination(
    *,
    recipient_agency: str,
    recipient_official: str,
    recipient_is_law_enforcement: bool,
    need_to_know_reason: str,
    method: str,
    report_issued: bool,
) -> None:
    """PolicyViolation listing everything missing or not allowed in a release (IV.G)."""
    evaluate_dissemination(
        recipient_agency=recipient_agency,
        recipient_official=recipient_official,
        recipient_is_law_enforcement=recipient_is_law_enforcement,
        need_to_know_reason=need_to_know_reason,
        method=method,
        report_issued=report_issued,
    ).enforce(PolicyViolation)


# --------------------------------------------------------------------------- VI.E disclosure
def check_disclosure_release(*, approved_by_legal_advisor: bool) -> None:
    """Records leave on a disclosure (e.g. FOIL) request only with the legal advisor's approval."""
    if not approved_by_legal_advisor:
        raise PolicyViolation(
            "Records can only be released on a disclosure request after the legal advisor's "
            "approval is recorded (MPTC VI.E)."
        )


def check_can_approve_disclosure(roles: Iterable[Role]) -> None:
    require_role(
        roles, Role.LEGAL_ADVISOR, "approve the release of records on a disclosure request"
    )


# ----------------------------------------------------------------------------- VI.A retention
def retained_until(record_type: str, created_on: date, profile: PolicyProfile) -> date | None:
    """The last day a record must still be kept; None when it is never purged (audit)."""
    days = profile.retention_days(record_type)
    return None if days is None else created_on + timedelta(days=days)


def retention_due(
    record_type: str, created_on: date, profile: PolicyProfile, today: date, legal_hold: bool
) -> bool:
    """True once a record has been kept its full retention period and is not on legal hold.

    A record made on day D with a period of N days is kept through D + N and due from D + N + 1.
    Legal hold suspends purging whatever the age; audit records are never due.
    """
    if legal_hold:
        return False
    last_day = retained_until(record_type, created_on, profile)
    return last_day is not None and today > last_day


# ----------------------------------------------------------------------------- IV.C gallery
def gallery_record_problems(
    *,
    source_type: str,
    source_reference: str,
    lawful_basis: str,
    photo_date: date | None,
    today: date,
    profile: PolicyProfile,
) -> tuple[str, ...]:
    """Everything that keeps a photograph out of the gallery (IV.C), not just the first."""
    problems: list[str] = []
    if profile.gallery_source(source_type) is None:
        problems.append(_gallery_source_message(source_type, profile))
    if not source_reference.strip():
        problems.append(
            "Record the source reference of the photograph (e.g. arrest number) (MPTC IV.C)."
        )
    if not lawful_basis.strip():
        problems.append("Record the lawful basis on which the photograph is held (MPTC IV.C).")
    if photo_date is None:
        problems.append("Record the date the photograph was taken (MPTC IV.C).")
    elif photo_date > today:
        problems.append(f"The photograph's date {photo_date.isoformat()} is in the future.")
    return tuple(problems)


def _gallery_source_message(source_type: str, profile: PolicyProfile) -> str:
    allowed = ", ".join(f"{s.code} ({s.label})" for s in profile.gallery_sources)
    return (
        f"Gallery photographs of source type '{source_type}' are not allowed by {profile.title}; "
        f"allowed: {allowed} (MPTC IV.C)."
    )


def check_gallery_source(source_type: str, profile: PolicyProfile) -> None:
    if profile.gallery_source(source_type) is None:
        raise PolicyViolation(_gallery_source_message(source_type, profile))


def check_can_seal(roles: Iterable[Role]) -> None:
    """Sealing (and unsealing) a gallery record is for a supervisor or an administrator."""
    require_role(roles, (Role.SUPERVISOR, Role.ADMINISTRATOR), "seal or unseal gallery records")


__all__ = [
    "check_can_approve_disclosure",
    "check_can_seal",
    "check_disclosure_release",
    "check_dissemination",
    "check_gallery_source",
    "check_results_release",
    "dissemination_problems",
    "evaluate_dissemination",
    "gallery_record_problems",
    "recipient_is_law_enforcement",
    "retained_until",
    "retention_due",
]
