"""Plain data the case screens show, and the small rules behind them (no Qt, unit-tested).

The case queue, the new-request form, the probe panel and the candidate list show these objects;
:mod:`app.ui.case_desk` fills them from casework results. Keeping the wording and the filtering
here means a test can check what the examiner reads without building a widget.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from app.policy.gates import RequestIntake
from app.policy.worksheet import WorksheetDefinition
from app.ui.comparison.model import WorksheetItemView


# ------------------------------------------------------------------------------ case queue
class QueueKind(StrEnum):
    """The lists of the case queue's sidebar."""

    MINE = "mine"
    AWAITING_MY_REVIEW = "awaiting_my_review"
    RETURNED = "returned"
    ALL = "all"
    DISAGREEMENTS = "disagreements"

    @property
    def label(self) -> str:
        return _QUEUE_LABELS[self]

    @property
    def description(self) -> str:
        return _QUEUE_DESCRIPTIONS[self]


_QUEUE_LABELS = {
    QueueKind.MINE: "My open requests",
    QueueKind.AWAITING_MY_REVIEW: "Awaiting my second review",
    QueueKind.RETURNED: "Returned to me",
    QueueKind.ALL: "All requests",
    QueueKind.DISAGREEMENTS: "Disagreements to resolve",
}
_QUEUE_DESCRIPTIONS = {
    QueueKind.MINE: "Requests you opened that are not closed yet.",
    QueueKind.AWAITING_MY_REVIEW: (
        "Comparisons by another examiner that wait for a second examiner's blind review."
    ),
    QueueKind.RETURNED: (
        "Your requests where the second examiner disagreed or a supervisor sent them back."
    ),
    QueueKind.ALL: "Every request of the unit (supervisors only).",
    QueueKind.DISAGREEMENTS: (
        "Requests where the second examiner disagreed and a supervisor has not resolved it."
    ),
}


def queue_kinds_for(roles: Iterable[str]) -> list[QueueKind]:
    """The queues a user with these roles may open (casework refuses the others anyway)."""
    held = {str(role) for role in roles}
    kinds: list[QueueKind] = []
    if "examiner" in held:
        kinds += [QueueKind.MINE, QueueKind.AWAITING_MY_REVIEW, QueueKind.RETURNED]
    if held & {"supervisor", "legal_advisor"}:
        kinds.append(QueueKind.ALL)
    if "supervisor" in held:
        kinds.append(QueueKind.DISAGREEMENTS)
    return kinds


@dataclass(frozen=True)
class RequestRow:
    """One request as a line of the case queue."""

    request_id: int
    request_number: str
    case_number: str
    purpose_code: str
    purpose_text: str
    status: str
    status_label: str
    opened_at: datetime
    examiner: str
    requesting_agency: str
    offense: str = ""
    interagency: bool = False
    submitting_agency: str = ""

    @property
    def agency_text(self) -> str:
        if self.interagency and self.submitting_agency:
            return f"{self.requesting_agency} (via {self.submitting_agency})"
        return self.requesting_agency

    @property
    def opened_on(self) -> date:
        return self.opened_at.astimezone().date()


@dataclass(frozen=True)
class QueueFilter:
    """What the examiner typed or chose above the queue; empty fields match everything."""

    case_number: str = ""
    purpose_code: str = ""
    status: str = ""
    opened_from: date | None = None
    opened_to: date | None = None

    @property
    def is_empty(self) -> bool:
        return self == QueueFilter()

    def problems(self) -> tuple[str, ...]:
        if (
            self.opened_from is not None
            and self.opened_to is not None
            and self.opened_from > self.opened_to
        ):
            return ("The 'from' date is after the 'to' date.",)
        return ()

    def matches(self, row: RequestRow) -> bool:
        text = self.case_number.strip().lower()
        if text and text not in row.case_number.lower():
            return False
        if self.purpose_code and row.purpose_code != self.purpose_code:
            return False
        if self.status and row.status != self.status:
            return False
        opened = row.opened_on
        if self.opened_from is not None and opened < self.opened_from:
            return False
        return not (self.opened_to is not None and opened > self.opened_to)


def filter_rows(rows: Iterable[RequestRow], queue_filter: QueueFilter) -> list[RequestRow]:
    """The rows the filter lets through, newest first."""
    kept = [row for row in rows if queue_filter.matches(row)]
    kept.sort(key=lambda row: (row.opened_at, row.request_id), reverse=True)
    return kept


@dataclass(frozen=True)
class QueueResult:
    """One queue's rows (already filtered) and the count of every queue the user may see."""

    kind: QueueKind
    rows: tuple[RequestRow, ...]
    counts: Mapping[QueueKind, int]
    statuses: tuple[tuple[str, str], ...] = ()  # (value, label) the status filter offers


def status_label(status: str) -> str:
    """'awaiting_review' -> 'Awaiting review'; 'concluded_no_lead' -> 'Concluded, no lead'."""
    return _STATUS_LABELS.get(status, status.replace("_", " ").capitalize())


_STATUS_LABELS = {
    "open": "Open",
    "searched": "Searched",
    "in_comparison": "In comparison",
    "awaiting_review": "Awaiting second review",
    "returned": "Returned",
    "concluded_lead": "Concluded, possible lead",
    "concluded_no_lead": "Concluded, no lead",
    "closed": "Closed",
}


REQUEST_STATUSES: tuple[str, ...] = tuple(_STATUS_LABELS)


def count_text(kind: QueueKind, counts: Mapping[QueueKind, int]) -> str:
    """Sidebar line: "My open requests (3)"."""
    count = counts.get(kind)
    return kind.label if count is None else f"{kind.label} ({count})"


# ------------------------------------------------------------------------------ new request
@dataclass
class IntakeForm:
    """The new-request form's fields as typed (``interagency`` decides the submitting agency)."""

    case_number: str = ""
    requesting_officer: str = ""
    requesting_agency: str = ""
    purpose_code: str = ""
    offense: str = ""
    narrative: str = ""
    probe_source: str = ""
    probe_obtained_how: str = ""
    probe_kind: str = "photograph"
    attests_lawful_source: bool = False
    attests_not_protected_basis: bool = False
    attests_actual_subject: bool = False
    interagency: bool = False
    submitting_agency: str = ""
    acknowledged_by: str = ""  # official of the submitting agency who acknowledged in writing

    def to_intake(self) -> RequestIntake:
        """The policy's plain intake record (text fields trimmed)."""
        return RequestIntake(
            case_number=self.case_number.strip(),
            requesting_officer=self.requesting_officer.strip(),
            requesting_agency=self.requesting_agency.strip(),
            purpose_code=self.purpose_code,
            offense=self.offense.strip(),
            narrative=self.narrative.strip(),
            probe_source=self.probe_source,
            probe_obtained_how=self.probe_obtained_how.strip(),
            attests_lawful_source=self.attests_lawful_source,
            attests_not_protected_basis=self.attests_not_protected_basis,
            attests_actual_subject=self.attests_actual_subject,
            probe_kind=self.probe_kind,
            interagency=self.interagency,
            submitting_agency=self.submitting_agency.strip() if self.interagency else "",
        )


PHOTOGRAPH_KIND = ("photograph", "Photograph or video still of the person sought")


# ------------------------------------------------------------------------------ probe
@dataclass(frozen=True)
class FaceBox:
    """A face the detector found in the probe: box (x, y, w, h) in image pixels and score."""

    index: int
    box: tuple[float, float, float, float]
    score: float

    @property
    def label(self) -> str:
        return f"Face {self.index + 1}"

    def contains(self, x: float, y: float) -> bool:
        bx, by, bw, bh = self.box
        return bx <= x <= bx + bw and by <= y <= by + bh


def face_at(faces: Sequence[FaceBox], x: float, y: float) -> FaceBox | None:
    """The face under a click; the smallest box wins when boxes overlap."""
    hits = [face for face in faces if face.contains(x, y)]
    if not hits:
        return None
    return min(hits, key=lambda face: face.box[2] * face.box[3])


@dataclass(frozen=True)
class QualityRow:
    """One quality measure as the quality panel shows it."""

    name: str
    value_text: str
    level: str  # "ok", "warn", "poor"
    message: str

    @property
    def title(self) -> str:
        return QUALITY_TITLES.get(self.name, self.name.replace("_", " ").capitalize())


QUALITY_TITLES = {
    "inter_eye_distance": "Distance between the eyes",
    "face_size": "Face size",
    "sharpness": "Sharpness",
    "yaw": "Head turned (left/right)",
    "pitch": "Head tilted (up/down)",
    "roll": "Head leaning (sideways)",
    "brightness": "Exposure",
    "clipping": "Burnt-out or black areas",
    "detection_score": "Detector confidence",
    "pose": "Head pose",
}


_UNIT_WORDS = {"index": "", "deg": "°"}


def quality_rows(measures: Iterable[Mapping[str, object]]) -> list[QualityRow]:
    """Rows from stored quality measures (``QualityMeasure.to_dict()`` form)."""
    rows = []
    for measure in measures:
        value = measure.get("value")
        unit = _UNIT_WORDS.get(str(measure.get("unit") or ""), str(measure.get("unit") or ""))
        if isinstance(value, int | float):
            number = f"{value:.0f}" if abs(float(value)) >= 10 else f"{float(value):.2f}"
            value_text = f"{number} {unit}".strip()
        else:
            value_text = "not measured"
        rows.append(
            QualityRow(
                name=str(measure.get("name", "")),
                value_text=value_text,
                level=str(measure.get("level", "ok")),
                message=str(measure.get("message", "")),
            )
        )
    return rows


def quality_summary(rows: Sequence[QualityRow]) -> str:
    """One line above the quality table: all fine, or how many warnings."""
    flagged = [row for row in rows if row.level != "ok"]
    if not rows:
        return "No quality measures yet: pick a face."
    if not flagged:
        return "No quality warnings for this face."
    poor = sum(row.level == "poor" for row in flagged)
    words = f"{len(flagged)} quality warning" + ("s" if len(flagged) != 1 else "")
    if poor:
        words += f" ({poor} serious)"
    return words + ": a poor probe gives less reliable candidates."


@dataclass(frozen=True)
class ProbeVersionRow:
    """One entry of a probe's edit history (the original is the first)."""

    version_id: int
    description: str
    made_by: str
    made_at: datetime | None
    is_original: bool = False

    @property
    def text(self) -> str:
        when = self.made_at.astimezone().strftime("%Y-%m-%d %H:%M") if self.made_at else ""
        who = f" by {self.made_by}" if self.made_by else ""
        return f"{self.description}{who}{', ' + when if when else ''}"


# ------------------------------------------------------------------------------ candidates
@dataclass(frozen=True)
class CandidateRow:
    """One candidate of a search as the candidate list shows it."""

    candidate_id: int
    rank: int
    score: float
    subject_reference: str
    photo_id: int
    photo_date: date | None
    most_recent_photo_date: date | None
    conclusion: str | None = None  # the examiner's recorded conclusion, if any
    progress: str = ""  # the examiner's comparison in progress ("5 of 21 answered")


def score_text(score: float, metric: str) -> str:
    """The model's own score, never a percentage: "distance 0.412"."""
    word = "distance" if metric in ("euclidean", "cosine") else "score"
    return f"{word} {score:.3f}"


def score_tooltip(score_meaning: str, threshold: float | None, model_name: str) -> str:
    """What the number means, in the model's own words."""
    parts = [f"Model: {model_name}.", score_meaning.strip()]
    if threshold is not None:
        parts.append(f"The model's decision threshold is {threshold:g}.")
    parts.append("A score never identifies anyone: compare the faces feature by feature.")
    return " ".join(part for part in parts if part)


def date_text(value: date | None) -> str:
    return value.isoformat() if value is not None else "unknown"


def newer_photo_note(row: CandidateRow) -> str:
    """A note when the subject has a more recent photo than the one that matched."""
    if (
        row.photo_date is not None
        and row.most_recent_photo_date is not None
        and row.most_recent_photo_date > row.photo_date
    ):
        return f"newer photo from {row.most_recent_photo_date.isoformat()}"
    return ""


# ------------------------------------------------------------------------------ worksheet
def worksheet_items(definition: WorksheetDefinition) -> list[WorksheetItemView]:
    """The profile's worksheet as the comparison screen's items."""
    return [
        WorksheetItemView(
            id=item.id,
            label=item.label,
            guidance=item.guidance,
            characteristics=item.characteristics,
            regions=item.regions,
        )
        for item in definition.items
    ]


@dataclass(frozen=True)
class SearchSummary:
    """What the candidate list's caption says about the search behind it."""

    search_id: int
    model_text: str
    candidate_count: int
    ran_at: datetime | None
    warnings: tuple[str, ...] = field(default=())

    @property
    def text(self) -> str:
        when = f" on {self.ran_at.strftime('%Y-%m-%d %H:%M')}" if self.ran_at else ""
        noun = "candidate" if self.candidate_count == 1 else "candidates"
        return f"Search {self.search_id}{when}: {self.candidate_count} {noun} ({self.model_text})"


__all__ = [
    "PHOTOGRAPH_KIND",
    "QUALITY_TITLES",
    "REQUEST_STATUSES",
    "CandidateRow",
    "FaceBox",
    "IntakeForm",
    "ProbeVersionRow",
    "QualityRow",
    "QueueFilter",
    "QueueKind",
    "QueueResult",
    "RequestRow",
    "SearchSummary",
    "count_text",
    "date_text",
    "face_at",
    "filter_rows",
    "newer_photo_note",
    "quality_rows",
    "quality_summary",
    "queue_kinds_for",
    "score_text",
    "score_tooltip",
    "status_label",
    "worksheet_items",
]
