"""Plain data behind the comparison screen, free of Qt so it can be unit-tested on its own.

The widgets of :mod:`app.ui.comparison` show what these objects hold and change them only
through their methods: which candidate is on screen, the worksheet answers of every candidate,
progress, the dirty flag and the blind second-examiner review. Whether a conclusion may be
recorded is decided outside (casework and policy) through a ``conclusion_allowed`` callable; this
module only asks it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Protocol

import numpy as np
import numpy.typing as npt

from app.errors import PolicyViolation

REGION_NAMES: tuple[str, ...] = (
    "forehead",
    "hairline",
    "right_eyebrow",
    "left_eyebrow",
    "right_eye",
    "left_eye",
    "nose",
    "right_cheek",
    "left_cheek",
    "right_ear",
    "left_ear",
    "mouth",
    "lips",
    "chin",
    "jawline",
)
"""Region names in top-to-bottom order (the subject's own right and left)."""


class Answer(StrEnum):
    """One worksheet answer."""

    SIMILAR = "similar"
    NOT_SIMILAR = "not_similar"
    NOT_VISIBLE = "not_visible"

    @property
    def label(self) -> str:
        return _ANSWER_LABELS[self]


_ANSWER_LABELS = {
    Answer.SIMILAR: "Similar",
    Answer.NOT_SIMILAR: "Not similar",
    Answer.NOT_VISIBLE: "Not visible / undetermined",
}


class Conclusion(StrEnum):
    """The examiner's conclusion about one candidate."""

    POSSIBLE_LEAD = "possible_lead"
    NOT_A_LEAD = "not_a_lead"
    INCONCLUSIVE = "inconclusive"

    @property
    def label(self) -> str:
        return _CONCLUSION_LABELS[self]


_CONCLUSION_LABELS = {
    Conclusion.POSSIBLE_LEAD: "Possible lead",
    Conclusion.NOT_A_LEAD: "Not a lead",
    Conclusion.INCONCLUSIVE: "Inconclusive",
}


class ProbeVersion(StrEnum):
    """Which probe image is on screen; decisions are always made against the original."""

    ORIGINAL = "original"
    EDITED = "edited"


class ComparisonMode(StrEnum):
    """How probe and candidate are shown together."""

    SIDE_BY_SIDE = "side_by_side"
    OVERLAY = "overlay"
    WIPE = "wipe"
    FLICKER = "flicker"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class Layer(StrEnum):
    """Annotation layers drawn over (never into) the images."""

    LANDMARKS = "landmarks"
    REGIONS = "regions"
    EYE_LINE = "eye_line"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


def region_title(name: str) -> str:
    """'right_eye' -> 'Right eye' (the subject's own right)."""
    return name.replace("_", " ").capitalize()


Point = tuple[float, float]


class RegionLike(Protocol):
    """What a region must offer (the engine's FeatureRegion fits as it is)."""

    @property
    def polygon(self) -> npt.NDArray[np.float64]: ...

    @property
    def box(self) -> tuple[float, float, float, float]: ...

    @property
    def estimated(self) -> bool: ...


@dataclass(frozen=True, eq=False)
class Region:
    """A facial region of one image: outline, bounding box (x, y, w, h) and whether estimated.

    Ears and hairline are estimated from the face outline rather than found by landmarks.
    """

    polygon: npt.NDArray[np.float64]
    box: tuple[float, float, float, float]
    estimated: bool = False


RegionTuple = tuple[npt.ArrayLike, tuple[float, float, float, float], bool]


def make_regions(regions: Mapping[str, RegionLike | RegionTuple]) -> dict[str, RegionLike]:
    """Regions from objects with polygon/box/estimated or from (polygon, box, estimated)."""
    made: dict[str, RegionLike] = {}
    for name, value in regions.items():
        if isinstance(value, tuple):
            polygon, (x, y, w, h), estimated = value
            made[name] = Region(np.asarray(polygon, dtype=np.float64).reshape(-1, 2),
                                (float(x), float(y), float(w), float(h)), bool(estimated))
        else:
            made[name] = value
    return made


@dataclass(frozen=True, eq=False)
class FaceSide:
    """One face image with its markup, in image pixel coordinates.

    ``eye_points`` are the image-left and image-right eye centres; ``None`` when unknown (the
    comparison then centres the image instead of aligning on the eyes). Compared by identity so
    widgets can cache what they derive from it.
    """

    image: npt.NDArray[np.uint8]
    label: str
    eye_points: tuple[Point, Point] | None
    landmarks: npt.NDArray[np.float64] | None = None
    regions: Mapping[str, RegionLike] = field(default_factory=dict)

    def __post_init__(self) -> None:
        image = self.image
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(
                f"FaceSide.image must be HxWx3 uint8 RGB, got {image.shape} {image.dtype}"
            )
        # Regions given as plain (polygon, box, estimated) tuples are accepted too.
        object.__setattr__(self, "regions", make_regions(self.regions))

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])


@dataclass(frozen=True)
class WorksheetItemView:
    """One worksheet item as the examiner sees it."""

    id: str
    label: str
    guidance: str = ""
    characteristics: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()


@dataclass(frozen=True)
class ItemAnswer:
    answer: Answer
    note: str = ""


_FORBIDDEN_SCORE_WORDS = ("%", "percent", "match")


@dataclass(frozen=True)
class CandidateView:
    """One candidate of the list, as shown in the header. ``face`` may be loaded later."""

    rank: int
    score_text: str
    score_tooltip: str
    subject_reference: str
    photo_date: date | None = None
    most_recent_photo_date: date | None = None
    face: FaceSide | None = None
    candidate_id: str = ""

    def __post_init__(self) -> None:
        # A similarity score is not a probability of identity: refuse wording that implies one.
        lowered = self.score_text.lower()
        if any(word in lowered for word in _FORBIDDEN_SCORE_WORDS):
            raise ValueError(
                f"Score text {self.score_text!r} reads like a percent match; "
                "show the model's score."
            )

    @property
    def has_newer_photo(self) -> bool:
        return (
            self.photo_date is not None
            and self.most_recent_photo_date is not None
            and self.most_recent_photo_date > self.photo_date
        )


ConclusionGate = Callable[[Mapping[str, str]], tuple[bool, str]]
"""``conclusion_allowed(answers)``: answers maps item id -> answer value ('similar', ...)."""


def default_conclusion_gate(items: Sequence[WorksheetItemView]) -> ConclusionGate:
    """Used only when no gate is supplied: every item must have an answer."""

    def gate(answers: Mapping[str, str]) -> tuple[bool, str]:
        missing = [item.label for item in items if item.id not in answers]
        if not missing:
            return True, ""
        shown = ", ".join(missing[:3]) + (", …" if len(missing) > 3 else "")
        return False, f"Answer every item first; {len(missing)} unanswered ({shown})."


    return gate


def parse_answer(value: Answer | str) -> Answer:
    try:
        return Answer(value)
    except ValueError:
        known = ", ".join(a.value for a in Answer)
        raise ValueError(f"Unknown answer {value!r}; known answers: {known}.") from None


def parse_conclusion(value: Conclusion | str) -> Conclusion:
    try:
        return Conclusion(value)
    except ValueError:
        known = ", ".join(c.value for c in Conclusion)
        raise ValueError(f"Unknown conclusion {value!r}; known: {known}.") from None


class Worksheet:
    """The answers of one examiner about one candidate, over a fixed list of items."""

    def __init__(self, items: Sequence[WorksheetItemView]) -> None:
        ids = [item.id for item in items]
        if len(set(ids)) != len(ids):
            raise ValueError("Worksheet item ids must be unique.")
        self.items: tuple[WorksheetItemView, ...] = tuple(items)
        self._index = {item_id: i for i, item_id in enumerate(ids)}
        self._answers: dict[str, ItemAnswer] = {}
        self.conclusion: Conclusion | None = None

    def item(self, item_id: str) -> WorksheetItemView:
        return self.items[self._position(item_id)]

    def _position(self, item_id: str) -> int:
        try:
            return self._index[item_id]
        except KeyError:
            raise KeyError(f"No worksheet item {item_id!r}.") from None

    def answer(self, item_id: str) -> ItemAnswer | None:
        self._position(item_id)
        return self._answers.get(item_id)

    def answers(self) -> dict[str, ItemAnswer]:
        return dict(self._answers)

    def set_answer(self, item_id: str, answer: Answer | str, note: str = "") -> bool:
        """Record an answer; returns whether anything changed."""
        self._position(item_id)
        new = ItemAnswer(parse_answer(answer), note)
        if self._answers.get(item_id) == new:
            return False
        self._answers[item_id] = new
        return True

    def set_note(self, item_id: str, note: str) -> bool:
        """Change the note of an answered item; a note alone is not an answer."""
        current = self.answer(item_id)
        if current is None or current.note == note:
            return False
        self._answers[item_id] = ItemAnswer(current.answer, note)
        return True

    def clear_answer(self, item_id: str) -> bool:
        self._position(item_id)
        return self._answers.pop(item_id, None) is not None

    def answered_count(self) -> int:
        return len(self._answers)

    def progress_text(self) -> str:
        return f"{self.answered_count()} of {len(self.items)} answered"

    @property
    def is_complete(self) -> bool:
        return len(self._answers) == len(self.items)

    def gate_answers(self) -> dict[str, str]:
        """Answers as plain strings, the form ``conclusion_allowed`` receives."""
        return {item_id: a.answer.value for item_id, a in self._answers.items()}

    def next_unanswered(self, after: str | None = None) -> str | None:
        """The first unanswered item after ``after`` in list order, wrapping; None when complete."""
        count = len(self.items)
        start = 0 if after is None else self._position(after) + 1
        for step in range(count):
            item_id = self.items[(start + step) % count].id
            if item_id not in self._answers:
                return item_id
        return None


@dataclass(frozen=True)
class ReviewRow:
    """One item in the comparison of the reviewer's answers with the first examiner's."""

    item_id: str
    label: str
    own: ItemAnswer | None
    first: ItemAnswer | None

    @property
    def differs(self) -> bool:
        own = self.own.answer if self.own else None
        first = self.first.answer if self.first else None
        return own != first


class ComparisonSessionModel:
    """Candidates, the current one, per-candidate worksheets, dirty flag and review state."""

    def __init__(
        self,
        items: Sequence[WorksheetItemView],
        candidates: Sequence[CandidateView],
        conclusion_allowed: ConclusionGate | None = None,
    ) -> None:
        self.items: tuple[WorksheetItemView, ...] = tuple(items)
        self.candidates: tuple[CandidateView, ...] = tuple(candidates)
        self._gate = conclusion_allowed or default_conclusion_gate(self.items)
        self._worksheets = [Worksheet(self.items) for _ in self.candidates]
        self._current = 0
        self._dirty = False
        self._review_mode = False
        self._blind = False
        self._first: dict[int, tuple[dict[str, ItemAnswer], Conclusion | None]] = {}

    # -- candidates -------------------------------------------------------------------------
    @property
    def current_index(self) -> int:
        return self._current

    @property
    def current_candidate(self) -> CandidateView | None:
        return self.candidates[self._current] if self.candidates else None

    def position_text(self) -> str:
        if not self.candidates:
            return "No candidates"
        return f"Candidate {self._current + 1} of {len(self.candidates)}"

    def go_to(self, index: int) -> bool:
        """Make ``index`` current; False (no change) when out of range or already current."""
        if not 0 <= index < len(self.candidates) or index == self._current:
            return False
        self._current = index
        return True

    def next_candidate(self) -> bool:
        return self.go_to(self._current + 1)

    def previous_candidate(self) -> bool:
        return self.go_to(self._current - 1)

    # -- answers ----------------------------------------------------------------------------
    def worksheet(self, index: int | None = None) -> Worksheet:
        if not self._worksheets:
            raise IndexError("The session has no candidates.")
        return self._worksheets[self._current if index is None else index]

    @property
    def answers_locked(self) -> bool:
        """After a blind reveal the reviewer's recorded answers are final."""
        return self._blind and self._current in self._first

    def _check_unlocked(self) -> None:
        if self.answers_locked:
            raise PolicyViolation(
                "Your review was recorded before the first examiner's answers were shown; "
                "it can no longer be changed here."
            )

    def set_answer(self, item_id: str, answer: Answer | str, note: str = "") -> bool:
        self._check_unlocked()
        changed = self.worksheet().set_answer(item_id, answer, note)
        self._dirty |= changed
        return changed

    def set_note(self, item_id: str, note: str) -> bool:
        self._check_unlocked()
        changed = self.worksheet().set_note(item_id, note)
        self._dirty |= changed
        return changed

    def clear_answer(self, item_id: str) -> bool:
        self._check_unlocked()
        changed = self.worksheet().clear_answer(item_id)
        self._dirty |= changed
        return changed

    def load_answers(
        self, index: int, answers: Mapping[str, ItemAnswer | Answer | str],
        conclusion: Conclusion | str | None = None,
    ) -> None:
        """Fill a candidate's worksheet from stored data without marking the session dirty."""
        sheet = self.worksheet(index)
        for item_id, value in answers.items():
            if isinstance(value, ItemAnswer):
                sheet.set_answer(item_id, value.answer, value.note)
            else:
                sheet.set_answer(item_id, value)
        sheet.conclusion = None if conclusion is None else parse_conclusion(conclusion)

    def progress_text(self) -> str:
        return self.worksheet().progress_text()

    def next_unanswered_item(self, after: str | None = None) -> str | None:
        return self.worksheet().next_unanswered(after)

    @property
    def dirty(self) -> bool:
        return self._dirty

    def mark_saved(self) -> None:
        self._dirty = False

    def mark_dirty(self) -> None:
        """A widget changed the current worksheet in place."""
        self._dirty = True

    # -- conclusion -------------------------------------------------------------------------
    def conclusion_state(self) -> tuple[bool, str]:
        """What the supplied gate says about the current candidate's answers."""
        if not self.candidates:
            return False, "There is no candidate to conclude on."
        if self.answers_locked:
            return False, "Your conclusion is recorded."
        allowed, reason = self._gate(self.worksheet().gate_answers())
        return bool(allowed), "" if allowed else (reason or "A conclusion is not allowed yet.")

    def record_conclusion(self, conclusion: Conclusion | str, index: int | None = None) -> None:
        """Reflect a conclusion the caller has recorded (through casework)."""
        self.worksheet(index).conclusion = parse_conclusion(conclusion)

    # -- second-examiner review ---------------------------------------------------------------
    @property
    def review_mode(self) -> bool:
        return self._review_mode

    @property
    def blind(self) -> bool:
        return self._blind

    def set_review_mode(self, *, enabled: bool = True, blind: bool = True) -> None:
        self._review_mode = enabled
        self._blind = enabled and blind
        self._first.clear()

    def reveal_first_examiner(
        self, answers: Mapping[str, ItemAnswer | Answer | str],
        conclusion: Conclusion | str | None, index: int | None = None,
    ) -> None:
        """Show the first examiner's work (blind: only once the reviewer's own is recorded)."""
        if not self._review_mode:
            raise PolicyViolation("The first examiner's answers are shown only in review mode.")
        position = self._current if index is None else index
        sheet = self.worksheet(position)
        if self._blind and (not sheet.is_complete or sheet.conclusion is None):
            raise PolicyViolation(
                "The first examiner's answers stay hidden until you have answered every item "
                "and recorded your own conclusion."
            )
        parsed = {
            item_id: value if isinstance(value, ItemAnswer) else ItemAnswer(parse_answer(value))
            for item_id, value in answers.items()
        }
        first = None if conclusion is None else parse_conclusion(conclusion)
        self._first[position] = (parsed, first)

    def first_examiner_visible(self, index: int | None = None) -> bool:
        return (self._current if index is None else index) in self._first

    def review_rows(self, index: int | None = None) -> list[ReviewRow]:
        """Both examiners' answers per item; empty while the first examiner's are hidden."""
        position = self._current if index is None else index
        if position not in self._first:
            return []
        first, _ = self._first[position]
        sheet = self.worksheet(position)
        return [
            ReviewRow(item.id, item.label, sheet.answer(item.id), first.get(item.id))
            for item in self.items
        ]

    def first_conclusion(self, index: int | None = None) -> Conclusion | None:
        position = self._current if index is None else index
        return self._first[position][1] if position in self._first else None

    def difference_count(self, index: int | None = None) -> int:
        return sum(row.differs for row in self.review_rows(index))

    def conclusions_differ(self, index: int | None = None) -> bool:
        position = self._current if index is None else index
        if position not in self._first:
            return False
        return self._first[position][1] != self.worksheet(position).conclusion
