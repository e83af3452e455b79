"""The comparison worksheet (MPTC IV.E.1): its definition as data, answers and progress.

An examiner answers every item *similar*, *not similar* or *not visible / undetermined*, with an
optional note; a conclusion is only allowed once every item has an answer (see
``gates.check_conclusion``). The items, their characteristics and the feature regions shown beside
them are data in ``resources/worksheets/<name>.toml`` (or an agency's own file in that format).
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

from app.errors import ConfigurationError, PolicyViolation
from app.settings import RESOURCES_DIR

WORKSHEETS_DIR: Final = RESOURCES_DIR / "worksheets"
# The engine's feature regions (app.engine.regions.REGION_NAMES), subject's own right/left.
# Repeated here so policy needs no image libraries; a unit test keeps the two lists equal.
REGION_NAMES: Final = frozenset(
    {
        "right_eye",
        "left_eye",
        "right_eyebrow",
        "left_eyebrow",
        "nose",
        "mouth",
        "lips",
        "chin",
        "jawline",
        "right_cheek",
        "left_cheek",
        "forehead",
        "right_ear",
        "left_ear",
        "hairline",
    }
)
# The features MPTC IV.E.1 names; each must be an item of its own.
MPTC_FEATURES: Final = (
    "eyes",
    "ears",
    "nose",
    "mouth",
    "chin",
    "lips",
    "eyebrows",
    "hair/hairline",
    "scars",
    "marks",
    "tattoos",
)
FISWG_COMPONENTS: Final = range(1, 20)


class Answer(StrEnum):
    """The examiner's answer for one worksheet item."""

    SIMILAR = "similar"
    NOT_SIMILAR = "not_similar"
    NOT_VISIBLE = "not_visible"  # not visible or undetermined


class Conclusion(StrEnum):
    """The examiner's conclusion for one candidate (only once every item is answered)."""

    POSSIBLE_LEAD = "possible_lead"
    NOT_A_LEAD = "not_a_lead"
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True)
class ItemAnswer:
    """An answer with the examiner's optional note."""

    answer: Answer
    note: str = ""


def parse_answer(value: str) -> Answer:
    """The Answer for a stored or typed value; PolicyViolation for anything else."""
    try:
        return Answer(value)
    except ValueError:
        known = ", ".join(a.value for a in Answer)
        raise PolicyViolation(f"'{value}' is not a worksheet answer ({known}).") from None


def parse_conclusion(value: str) -> Conclusion:
    """The Conclusion for a stored or typed value; PolicyViolation for anything else."""
    try:
        return Conclusion(value)
    except ValueError:
        known = ", ".join(c.value for c in Conclusion)
        raise PolicyViolation(f"'{value}' is not a worksheet conclusion ({known}).") from None


@dataclass(frozen=True)
class WorksheetItem:
    id: str
    label: str
    component: int  # FISWG component number, 1-19
    guidance: str
    characteristics: tuple[str, ...]
    regions: tuple[str, ...]
    mptc_feature: str | None = None


@dataclass(frozen=True)
class Labelled:
    """The label and description of an answer or a conclusion."""

    label: str
    description: str


@dataclass(frozen=True)
class WorksheetDefinition:
    name: str
    title: str
    version: str
    clause: str
    sha256: str
    items: tuple[WorksheetItem, ...]
    answers: Mapping[Answer, Labelled]
    conclusions: Mapping[Conclusion, Labelled]

    def item(self, item_id: str) -> WorksheetItem:
        for item in self.items:
            if item.id == item_id:
                return item
        raise PolicyViolation(
            f"The worksheet '{self.title}' has no item '{item_id}'; "
            f"its items are: {', '.join(self.item_ids)}."
        )

    @property
    def item_ids(self) -> tuple[str, ...]:
        return tuple(item.id for item in self.items)

    def item_for_feature(self, feature: str) -> WorksheetItem:
        """The item answering an MPTC IV.E.1 feature (e.g. ``"hair/hairline"``)."""
        for item in self.items:
            if item.mptc_feature == feature:
                return item
        raise PolicyViolation(f"The worksheet '{self.title}' has no item for '{feature}'.")

    def answer_label(self, answer: str) -> str:
        return self.answers[parse_answer(answer)].label

    def conclusion_label(self, conclusion: str) -> str:
        return self.conclusions[parse_conclusion(conclusion)].label


@dataclass(frozen=True)
class WorksheetProgress:
    answered: int
    total: int
    missing: tuple[WorksheetItem, ...]

    @property
    def complete(self) -> bool:
        return not self.missing

    @property
    def missing_ids(self) -> tuple[str, ...]:
        return tuple(item.id for item in self.missing)

    @property
    def label(self) -> str:
        return f"{self.answered} of {self.total} answered"

    @property
    def next_unanswered(self) -> WorksheetItem | None:
        """The first unanswered item in worksheet order, or None when complete."""
        return self.missing[0] if self.missing else None


def answer_of(value: object) -> Answer | None:
    """The Answer in a stored value, None if there is no valid answer.

    Accepts an :class:`Answer` (or any string enum with the same values), its plain string, or an
    object with an ``answer`` attribute holding one (e.g. :class:`ItemAnswer`).
    """
    inner = getattr(value, "answer", value)
    if isinstance(inner, str):
        try:
            return Answer(inner)
        except ValueError:
            return None
    return None


def progress(definition: WorksheetDefinition, answers: Mapping[str, object]) -> WorksheetProgress:
    """How far the worksheet is answered; values that are not a valid answer do not count."""
    missing = tuple(i for i in definition.items if answer_of(answers.get(i.id)) is None)
    total = len(definition.items)
    return WorksheetProgress(answered=total - len(missing), total=total, missing=missing)


def resolve_worksheet_path(name_or_path: str, *, relative_to: Path | None = None) -> Path:
    """A built-in worksheet name, or a ``.toml`` path (relative paths against ``relative_to``)."""
    if name_or_path.endswith(".toml") or "/" in name_or_path or "\\" in name_or_path:
        path = Path(name_or_path).expanduser()
        if not path.is_absolute() and relative_to is not None:
            path = relative_to / path
        return path
    return WORKSHEETS_DIR / f"{name_or_path}.toml"


def list_builtin_worksheets() -> list[str]:
    return sorted(p.stem for p in WORKSHEETS_DIR.glob("*.toml"))


def load_worksheet(name_or_path: str) -> WorksheetDefinition:
    """Load and validate a worksheet definition by built-in name or by path."""
    path = resolve_worksheet_path(name_or_path)
    if not path.is_file():
        known = ", ".join(list_builtin_worksheets())
        raise ConfigurationError(
            f"Worksheet definition '{name_or_path}' was not found. Built-in worksheets: {known}."
        )
    try:
        raw = path.read_bytes()
        data = tomllib.loads(raw.decode("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"Worksheet definition {path} cannot be read: {exc}") from exc
    return _WorksheetParser(path, data).build(hashlib.sha256(raw).hexdigest())


class _WorksheetParser:
    """Reads one worksheet document, naming the file and field in every complaint."""

    def __init__(self, path: Path, data: dict[str, Any]) -> None:
        self.path = path
        self.data = data

    def fail(self, field: str, problem: str) -> ConfigurationError:
        return ConfigurationError(f"Worksheet definition {self.path.name}: '{field}' {problem}.")

    def text(self, table: Mapping[str, Any], key: str, field: str) -> str:
        value = table.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(field, "is missing or empty")
        return value.strip()

    def table(self, value: object, field: str) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(field, "is missing (a [section] is required)")
        return value

    def strings(self, table: Mapping[str, Any], key: str, field: str) -> tuple[str, ...]:
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.fail(field, "must be a list of texts")
        return tuple(v.strip() for v in value)

    def labelled(self, key: str, codes: tuple[str, ...]) -> dict[str, Labelled]:
        table = self.table(self.data.get(key), key)
        unknown = set(table) - set(codes)
        if unknown:
            raise self.fail(key, f"has unknown entries {sorted(unknown)} (known: {list(codes)})")
        result = {}
        for code in codes:
            entry = self.table(table.get(code), f"{key}.{code}")
            result[code] = Labelled(
                self.text(entry, "label", f"{key}.{code}.label"),
                self.text(entry, "description", f"{key}.{code}.description"),
            )
        return result

    def item(self, number: int, raw: object, previous_component: int) -> WorksheetItem:
        field = f"items[{number}]"
        entry = self.table(raw, field)
        item_id = self.text(entry, "id", f"{field}.id")
        field = f"items[{number}] ('{item_id}')"
        component = entry.get("component")
        if not isinstance(component, int) or component not in FISWG_COMPONENTS:
            raise self.fail(f"{field}.component", "must be a FISWG component number from 1 to 19")
        if component < previous_component:
            raise self.fail(f"{field}.component", "is out of FISWG order (top to bottom)")
        regions = self.strings(entry, "regions", f"{field}.regions")
        unknown = sorted(set(regions) - REGION_NAMES)
        if unknown:
            raise self.fail(f"{field}.regions", f"names unknown regions {unknown}")
        feature = entry.get("mptc_feature")
        if feature is not None and feature not in MPTC_FEATURES:
            raise self.fail(f"{field}.mptc_feature", f"'{feature}' is not a feature of IV.E.1")
        return WorksheetItem(
            id=item_id,
            label=self.text(entry, "label", f"{field}.label"),
            component=component,
            guidance=self.text(entry, "guidance", f"{field}.guidance"),
            characteristics=self.strings(entry, "characteristics", f"{field}.characteristics"),
            regions=regions,
            mptc_feature=feature,
        )

    def build(self, sha256: str) -> WorksheetDefinition:
        head = self.table(self.data.get("worksheet"), "worksheet")
        raw_items = self.data.get("items")
        if not isinstance(raw_items, list) or not raw_items:
            raise self.fail("items", "must list at least one item")
        items: list[WorksheetItem] = []
        for number, raw in enumerate(raw_items, start=1):
            item = self.item(number, raw, items[-1].component if items else 1)
            if item.id in {i.id for i in items}:
                raise self.fail(f"items[{number}].id", f"repeats the id '{item.id}'")
            if item.mptc_feature and item.mptc_feature in {i.mptc_feature for i in items}:
                raise self.fail(
                    f"items[{number}].mptc_feature",
                    f"repeats '{item.mptc_feature}': each IV.E.1 feature is one item",
                )
            items.append(item)
        missing = [f for f in MPTC_FEATURES if f not in {i.mptc_feature for i in items}]
        if missing:
            raise self.fail("items", f"has no item for the MPTC IV.E.1 features {missing}")
        answers = self.labelled("answers", tuple(a.value for a in Answer))
        conclusions = self.labelled("conclusions", tuple(c.value for c in Conclusion))
        return WorksheetDefinition(
            name=self.text(head, "name", "worksheet.name"),
            title=self.text(head, "title", "worksheet.title"),
            version=self.text(head, "version", "worksheet.version"),
            clause=self.text(head, "clause", "worksheet.clause"),
            sha256=sha256,
            items=tuple(items),
            answers={Answer(k): v for k, v in answers.items()},
            conclusions={Conclusion(k): v for k, v in conclusions.items()},
        )
