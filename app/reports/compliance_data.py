"""What the compliance report and the transparency figures hold, as plain frozen dataclasses.

The casework layer fills them from the records (:mod:`app.casework.compliance`); the report
builder and the chart renderer only lay them out. Times are timezone-aware UTC; a period's
``since`` is inclusive and ``until`` exclusive (None: open-ended).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

__all__ = [
    "ComplianceOverview",
    "CountLine",
    "DisagreementLine",
    "PeriodCounts",
    "RefusalLine",
    "ReleaseLine",
    "ReviewFigures",
    "SealedRecords",
    "TrainingLine",
    "TransparencyFigures",
    "UnreviewedLine",
]


@dataclass(frozen=True)
class CountLine:
    """One row of a count table: a key (code, user name), what it means, and the count."""

    key: str
    label: str
    count: int


@dataclass(frozen=True)
class PeriodCounts:
    """How the unit worked in the period."""

    requests: int
    searches: int
    comparisons_concluded: int
    possible_leads: int
    no_lead_conclusions: int  # comparisons concluded as not a lead
    lead_reports: int
    no_lead_reports: int
    disseminations: int
    refused_actions: int


@dataclass(frozen=True)
class ReviewFigures:
    """Second reviews of the possible leads concluded in the period."""

    done: int
    skipped: int  # not done, with the reason recorded (where the profile allows it)
    awaiting: int  # not done yet
    disagreements: int  # reviews recorded in the period that disagreed

    @property
    def missing(self) -> int:
        return self.skipped + self.awaiting


@dataclass(frozen=True)
class UnreviewedLine:
    request_number: str
    case_number: str
    subject_reference: str
    examiner: str
    concluded_at: datetime | None
    review_state: str
    skip_reason: str | None


@dataclass(frozen=True)
class DisagreementLine:
    request_number: str
    case_number: str
    examiner: str
    first_conclusion: str
    reviewer: str
    reviewer_conclusion: str
    recorded_at: datetime | None
    resolved: bool


@dataclass(frozen=True)
class ReleaseLine:
    """One release of a report: which report went to whom, why and how."""

    report_number: str
    version: int
    kind: str
    case_number: str
    recipient_agency: str
    official: str
    recipient_type: str
    method: str
    released_by: str
    released_at: datetime


@dataclass(frozen=True)
class RefusalLine:
    """A refused action (policy refusal or permission denial) from the audit log."""

    sequence: int
    occurred_at: str  # as recorded in the audit log (ISO 8601 UTC)
    actor: str
    action: str
    reason: str


@dataclass(frozen=True)
class TrainingLine:
    """An active examiner whose training is missing, expired, or expires within the window."""

    username: str
    display_name: str
    state: str  # "missing", "expired", "expiring"
    valid_until: date | None
    days_left: int | None
    sentence: str


@dataclass(frozen=True)
class SealedRecords:
    """Sealed gallery records: how many are sealed now, and the seals lifted or made in the
    period (from the audit log)."""

    subjects_sealed_now: int
    photos_sealed_now: int
    sealed_in_period: int
    unsealed_in_period: int


@dataclass(frozen=True)
class ComplianceOverview:
    """Everything the compliance dashboard and the PDF compliance report show for a period."""

    since: datetime | None
    until: datetime | None
    generated_at: datetime
    generated_by: str  # display name (user name)
    agency: str
    unit: str
    profile_name: str
    profile_version: str
    profile_sha256: str
    paper: str  # "letter" or "a4"
    counts: PeriodCounts
    reviews: ReviewFigures
    searches_per_purpose: tuple[CountLine, ...]
    searches_per_examiner: tuple[CountLine, ...]
    unreviewed_leads: tuple[UnreviewedLine, ...]
    disagreements: tuple[DisagreementLine, ...]
    releases: tuple[ReleaseLine, ...]
    releases_per_recipient: tuple[CountLine, ...]
    refusals: tuple[RefusalLine, ...]
    refusals_per_action: tuple[CountLine, ...]
    training_window_days: int
    training_due: tuple[TrainingLine, ...] | None  # None: the reader may not see training
    sealed: SealedRecords


@dataclass(frozen=True)
class TransparencyFigures:
    """The unit's published figures for one calendar year (UTC)."""

    year: int
    requests: int
    searches: int
    searches_per_purpose: tuple[CountLine, ...]
    searches_per_offense: tuple[CountLine, ...]
    possible_leads: int
    lead_reports: int
    no_lead_reports: int
    reports_disseminated: int
    generated_at: datetime
