"""What a report prints, as plain frozen dataclasses that round-trip through JSON.

The casework layer gathers these from the records; the builders in this package only lay them out.
Every class has ``to_dict()`` (JSON-safe: images as base64, datetimes and dates as ISO 8601) and
``from_dict()``. :func:`content_fingerprint` hashes the canonical JSON of a report's data, with
each image replaced by its SHA-256, and is printed on every page: a reader can tell which content a
page belongs to without the PDF having to contain its own hash.

All datetimes are timezone-aware and printed in UTC; a naive datetime is refused.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import types
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal, Self, TypeVar, Union, get_args, get_origin, get_type_hints

from app.errors import ConfigurationError, IntegrityError, PolicyViolation

__all__ = [
    "FINGERPRINT_SCHEMA",
    "CandidateInfo",
    "CandidateSummary",
    "DisseminationEntry",
    "EditStep",
    "ExaminerConclusion",
    "LeadReportData",
    "NoLeadReportData",
    "Paper",
    "ProbeInfo",
    "QualityMeasure",
    "ReportData",
    "ReportFrame",
    "RequestInfo",
    "ReviewInfo",
    "SearchInfo",
    "WorksheetRow",
    "content_fingerprint",
    "sha256_hex",
]

Paper = Literal["letter", "a4"]
# Bumped whenever the canonical form changes, so old fingerprints are not silently compared.
FINGERPRINT_SCHEMA = "frx-report-content/1"


def sha256_hex(data: bytes) -> str:
    """Lower-case hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


class _Plain:
    """Mixin: JSON round trip for the frozen dataclasses below."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict: bytes as base64, datetimes/dates as ISO 8601, tuples as lists."""
        encoded = _encode(self, images_as_hash=False)
        assert isinstance(encoded, dict)  # a dataclass always encodes to a dict
        return encoded

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Inverse of :meth:`to_dict`; unknown keys are refused (they would be silently lost)."""
        decoded = _decode(cls, data)
        assert isinstance(decoded, cls)
        return decoded


# --------------------------------------------------------------------------------------------
# The parts


@dataclass(frozen=True)
class ReportFrame(_Plain):
    """Who issues the report and what every page carries."""

    agency: str
    unit: str
    report_number: str  # e.g. "FRX-2026-000123"
    version: int
    case_number: str
    issued_at: datetime
    issued_by: str
    installation_id: str
    banner_text: str  # "INVESTIGATIVE LEAD ONLY - NOT PROBABLE CAUSE TO ARREST"
    advisory_text: str
    dissemination_restriction: str
    paper: Paper
    profile_name: str
    profile_version: str
    profile_sha256: str


@dataclass(frozen=True)
class RequestInfo(_Plain):
    """The request for a search, as taken in at intake."""

    case_number: str
    requesting_officer: str
    requesting_agency: str
    submitting_agency: str | None  # another agency that submitted the request (MPTC IV.F)
    acknowledgment_text: str | None  # the written "lead only" acknowledgment of that agency
    acknowledgment_recorded_at: datetime | None
    purpose_code: str
    purpose_wording: str
    offense: str
    narrative: str


@dataclass(frozen=True)
class EditStep(_Plain):
    """One logged edit made on a copy of the probe."""

    operation: str
    parameters: str  # as printed, e.g. "angle=4.5°"
    by: str
    at: datetime


@dataclass(frozen=True)
class QualityMeasure(_Plain):
    """One measure of the probe's quality, as the workstation showed it."""

    name: str
    value: str  # as printed, e.g. "48 px"
    level: str  # e.g. "ok", "warning"
    message: str


@dataclass(frozen=True)
class ProbeInfo(_Plain):
    """The probe image as received and, when one was used, the edited copy searched with."""

    original_image: bytes  # PNG or JPEG
    original_sha256: str
    edited_image: bytes | None = None
    edited_sha256: str | None = None
    edit_history: tuple[EditStep, ...] = ()
    quality: tuple[QualityMeasure, ...] = ()


@dataclass(frozen=True)
class SearchInfo(_Plain):
    """How the search was run: model, index and parameters."""

    model_name: str
    model_version: str
    model_sha256: str
    index_generation: int
    k: int
    ef: int | None  # None: an exact search (no HNSW parameter)
    threshold: float | None  # None: the model has no decision threshold
    searched_at: datetime
    searched_by: str
    candidates_returned: int
    score_meaning: str  # what a score means for this model, one or two sentences


@dataclass(frozen=True)
class CandidateInfo(_Plain):
    """A gallery candidate shown in a lead report."""

    rank: int
    score: float
    subject_reference: str
    photo_date: date | None
    source_type_label: str  # e.g. "Arrest photograph"
    source_reference: str  # e.g. the arrest number
    most_recent_photo_date: date | None  # of this subject, in the gallery
    image: bytes  # PNG or JPEG


@dataclass(frozen=True)
class WorksheetRow(_Plain):
    """One answered item of the comparison worksheet, with region crops when available."""

    item_label: str
    answer_label: str
    note: str = ""
    probe_crop: bytes | None = None
    candidate_crop: bytes | None = None


@dataclass(frozen=True)
class ExaminerConclusion(_Plain):
    """The (first) examiner's conclusion."""

    name: str
    conclusion_label: str
    at: datetime
    time_spent_seconds: int


@dataclass(frozen=True)
class ReviewInfo(_Plain):
    """The second examiner's independent conclusion (MPTC IV.E.2)."""

    reviewer_name: str
    conclusion_label: str
    at: datetime
    agrees: bool  # with the first examiner's conclusion


@dataclass(frozen=True)
class DisseminationEntry(_Plain):
    """One recorded release of the report (MPTC IV.G)."""

    recipient_agency: str
    official: str
    need_to_know: str
    method: str
    at: datetime
    by: str


@dataclass(frozen=True)
class CandidateSummary(_Plain):
    """One reviewed candidate in a no-lead report."""

    rank: int
    subject_reference: str
    conclusion_label: str


# --------------------------------------------------------------------------------------------
# The reports


@dataclass(frozen=True)
class LeadReportData(_Plain):
    """Everything a lead report prints.

    ``worksheet`` and ``examiner`` concern the candidate of rank ``compared_rank`` (the first
    candidate when None); the other candidates are shown for context. Exactly one of ``review``
    and ``review_skipped_reason`` is given.
    """

    frame: ReportFrame
    request: RequestInfo
    probe: ProbeInfo
    search: SearchInfo
    candidates: tuple[CandidateInfo, ...]
    worksheet: tuple[WorksheetRow, ...]
    examiner: ExaminerConclusion
    review: ReviewInfo | None = None
    review_skipped_reason: str | None = None
    dissemination: tuple[DisseminationEntry, ...] = ()
    compared_rank: int | None = None

    def compared_candidate(self) -> CandidateInfo:
        """The candidate the worksheet and the conclusions are about."""
        if self.compared_rank is None:
            return self.candidates[0]
        for candidate in self.candidates:
            if candidate.rank == self.compared_rank:
                return candidate
        raise PolicyViolation(
            f"The worksheet is about candidate rank {self.compared_rank}, "
            "which is not among the candidates in the report."
        )

    def validate(self) -> None:
        """Refuse data a lead report must not be printed from (raises FrxError subclasses)."""
        _validate_common(
            self.frame, self.request, self.probe, self.review, self.review_skipped_reason
        )
        if not self.candidates:
            raise PolicyViolation("A lead report needs at least one candidate.")
        self.compared_candidate()
        if not self.worksheet:
            raise PolicyViolation(
                "A lead cannot be reported without a completed comparison worksheet."
            )
        unanswered = [row.item_label for row in self.worksheet if not row.answer_label.strip()]
        if unanswered:
            raise PolicyViolation(
                "A lead cannot be reported before the worksheet is complete; unanswered: "
                + ", ".join(unanswered)
                + "."
            )


@dataclass(frozen=True)
class NoLeadReportData(_Plain):
    """Everything a no-lead report prints. Exactly one of ``review`` and the skip reason."""

    frame: ReportFrame
    request: RequestInfo
    probe: ProbeInfo
    search: SearchInfo
    candidates_reviewed: int
    summaries: tuple[CandidateSummary, ...]
    examiner: ExaminerConclusion
    review: ReviewInfo | None = None
    review_skipped_reason: str | None = None
    dissemination: tuple[DisseminationEntry, ...] = ()

    def validate(self) -> None:
        """Refuse data a no-lead report must not be printed from."""
        _validate_common(
            self.frame, self.request, self.probe, self.review, self.review_skipped_reason
        )
        if self.candidates_reviewed < 0:
            raise PolicyViolation("The number of candidates reviewed cannot be negative.")


ReportData = LeadReportData | NoLeadReportData


def content_fingerprint(data: ReportData) -> str:
    """SHA-256 (hex) of the canonical JSON of ``data``, each image replaced by its SHA-256."""
    canonical = {
        "schema": FINGERPRINT_SCHEMA,
        "kind": "lead" if isinstance(data, LeadReportData) else "no_lead",
        "data": _encode(data, images_as_hash=True),
    }
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return sha256_hex(text.encode("ascii"))


# --------------------------------------------------------------------------------------------
# Checks


def _validate_common(
    frame: ReportFrame,
    request: RequestInfo,
    probe: ProbeInfo,
    review: ReviewInfo | None,
    review_skipped_reason: str | None,
) -> None:
    if frame.paper not in ("letter", "a4"):
        raise ConfigurationError(f"Unknown paper size '{frame.paper}'; use 'letter' or 'a4'.")
    if frame.case_number.strip() != request.case_number.strip():
        raise IntegrityError(
            f"The report is for case {frame.case_number} but the request is for case "
            f"{request.case_number}; the report was not built."
        )
    if not frame.banner_text.strip():
        raise PolicyViolation("Every report page must carry the profile's banner text.")
    skipped = bool(review_skipped_reason and review_skipped_reason.strip())
    if review is None and not skipped:
        raise PolicyViolation(
            "The report needs the second examiner's conclusion or the recorded reason "
            "why a second review was not practicable."
        )
    if review is not None and skipped:
        raise PolicyViolation(
            "The report has both a second examiner's conclusion and a reason for skipping it."
        )
    _check_hash("original probe image", probe.original_image, probe.original_sha256)
    if (probe.edited_image is None) != (probe.edited_sha256 is None):
        raise PolicyViolation("The edited probe image and its SHA-256 go together.")
    if probe.edited_image is not None and probe.edited_sha256 is not None:
        _check_hash("edited probe image", probe.edited_image, probe.edited_sha256)


def _check_hash(what: str, data: bytes, expected: str) -> None:
    if sha256_hex(data) != expected.strip().lower():
        raise IntegrityError(
            f"The {what} does not match its recorded SHA-256; the report was not built."
        )


# --------------------------------------------------------------------------------------------
# JSON encoding

_T = TypeVar("_T")


def _encode(value: object, *, images_as_hash: bool) -> object:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _encode(getattr(value, f.name), images_as_hash=images_as_hash)
            for f in dataclasses.fields(value)
        }
    if isinstance(value, bytes):
        if images_as_hash:
            return {"sha256": sha256_hex(value), "bytes": len(value)}
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, datetime):
        return _utc(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_encode(item, images_as_hash=images_as_hash) for item in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"Cannot encode {type(value).__name__} in report data")


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise PolicyViolation(
            f"The time {moment.isoformat()} has no time zone; report times must be exact (UTC)."
        )
    return moment.astimezone(UTC)


def _decode(kind: Any, value: Any) -> Any:
    origin = get_origin(kind)
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(kind) if a is not type(None)]
        if value is None:
            return None
        if len(options) == 1:
            return _decode(options[0], value)
        raise TypeError(f"Ambiguous union {kind!r} in report data")
    if origin is tuple:
        item_kind = get_args(kind)[0]
        return tuple(_decode(item_kind, item) for item in _as_list(value))
    if origin is Literal:
        if value not in get_args(kind):
            raise ValueError(f"{value!r} is not one of {get_args(kind)!r}")
        return value
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        if not isinstance(value, dict):
            raise TypeError(f"{kind.__name__} expects an object, not {type(value).__name__}")
        hints = get_type_hints(kind)
        names = {f.name for f in dataclasses.fields(kind)}
        unknown = set(value) - names
        if unknown:
            raise ValueError(f"Unknown fields for {kind.__name__}: {sorted(unknown)}")
        arguments = {name: _decode(hints[name], item) for name, item in value.items()}
        return kind(**arguments)
    if kind is bytes:
        return base64.b64decode(_typed(str, value), validate=True)
    if kind is datetime:
        return _utc(datetime.fromisoformat(_typed(str, value)))
    if kind is date:
        return date.fromisoformat(_typed(str, value))
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"Expected a number, not {value!r}")
        return float(value)
    if kind in (str, int, bool):
        return _typed(kind, value)
    raise TypeError(f"Cannot decode {kind!r} in report data")


def _typed(kind: type[_T], value: object) -> _T:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise TypeError(f"Expected {kind.__name__}, not {value!r}")
    return value


def _as_list(value: object) -> list[Any]:
    if not isinstance(value, list | tuple):
        raise TypeError(f"Expected a list, not {type(value).__name__}")
    return list(value)

