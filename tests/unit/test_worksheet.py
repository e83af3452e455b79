"""The comparison worksheet definition (FISWG order, MPTC IV.E.1 features), answers, progress."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from pathlib import Path

import pytest

from app.engine.regions import REGION_NAMES as ENGINE_REGION_NAMES
from app.errors import ConfigurationError, PolicyViolation
from app.policy.worksheet import (
    MPTC_FEATURES,
    REGION_NAMES,
    WORKSHEETS_DIR,
    Answer,
    Conclusion,
    ItemAnswer,
    WorksheetDefinition,
    list_builtin_worksheets,
    load_worksheet,
    parse_answer,
    parse_conclusion,
    progress,
)

SHEET_TEXT = (WORKSHEETS_DIR / "fiswg-mptc.toml").read_text(encoding="utf-8")
FISWG_ORDER = [
    "skin",
    "face_outline",
    "face_composition",
    "hair_hairline",
    "forehead",
    "eyebrows",
    "eyes",
    "cheeks",
    "nose",
    "ears",
    "mouth",
    "lips",
    "chin_jawline",
    "neck",
    "facial_hair",
    "facial_lines",
    "scars",
    "marks",
    "tattoos",
    "alterations",
    "other",
]


@pytest.fixture(scope="module")
def sheet() -> WorksheetDefinition:
    return load_worksheet("fiswg-mptc")


def test_items_follow_fiswg_order_and_cover_every_component(sheet: WorksheetDefinition) -> None:
    assert list_builtin_worksheets() == ["fiswg-mptc"]
    assert list(sheet.item_ids) == FISWG_ORDER
    components = [item.component for item in sheet.items]
    assert components == sorted(components)
    assert set(components) == set(range(1, 20))  # all 19 FISWG components
    assert sheet.clause == "MPTC IV.E.1" and len(sheet.sha256) == 64
    for item in sheet.items:
        assert item.label and item.guidance and item.characteristics, item.id


def test_every_mptc_feature_is_an_item_of_its_own(sheet: WorksheetDefinition) -> None:
    features = [item.mptc_feature for item in sheet.items if item.mptc_feature]
    assert sorted(features) == sorted(MPTC_FEATURES)
    assert len(MPTC_FEATURES) == 11
    items = {sheet.item_for_feature(feature).id for feature in MPTC_FEATURES}
    assert len(items) == 11  # eleven distinct items
    assert sheet.item_for_feature("hair/hairline").id == "hair_hairline"
    assert sheet.item_for_feature("chin").id == "chin_jawline"
    with pytest.raises(PolicyViolation, match="no item for 'freckles'"):
        sheet.item_for_feature("freckles")


def test_regions_are_the_engines_names(sheet: WorksheetDefinition) -> None:
    assert set(ENGINE_REGION_NAMES) == REGION_NAMES
    for item in sheet.items:
        assert set(item.regions) <= REGION_NAMES, item.id
    assert sheet.item("eyes").regions == ("right_eye", "left_eye")
    assert sheet.item("eyebrows").regions == ("right_eyebrow", "left_eyebrow")
    assert sheet.item("ears").regions == ("right_ear", "left_ear")
    assert sheet.item("hair_hairline").regions == ("hairline",)
    for item_id in ("skin", "scars", "marks", "tattoos"):
        assert sheet.item(item_id).regions == ()
    shown = {region for item in sheet.items for region in item.regions}
    assert shown == REGION_NAMES  # every region the engine draws belongs to some item


def test_answers_and_conclusions_have_labels_and_descriptions(sheet: WorksheetDefinition) -> None:
    assert [a.value for a in Answer] == ["similar", "not_similar", "not_visible"]
    assert [c.value for c in Conclusion] == ["possible_lead", "not_a_lead", "inconclusive"]
    assert sheet.answer_label("not_visible") == "Not visible / undetermined"
    assert sheet.conclusion_label(Conclusion.POSSIBLE_LEAD) == "Possible lead"
    assert "not an identification" in sheet.conclusions[Conclusion.POSSIBLE_LEAD].description
    for labelled in (*sheet.answers.values(), *sheet.conclusions.values()):
        assert labelled.label and labelled.description
    assert parse_answer("similar") is Answer.SIMILAR
    assert parse_conclusion("inconclusive") is Conclusion.INCONCLUSIVE
    with pytest.raises(PolicyViolation, match="'maybe' is not a worksheet answer"):
        parse_answer("maybe")
    with pytest.raises(PolicyViolation, match="'match' is not a worksheet conclusion"):
        parse_conclusion("match")
    with pytest.raises(PolicyViolation, match="has no item 'teeth'"):
        sheet.item("teeth")


class OtherAnswer(StrEnum):
    """Another layer's own answer enum with the same values (e.g. the UI's)."""

    SIMILAR = "similar"


def test_progress_counts_valid_answers_in_worksheet_order(sheet: WorksheetDefinition) -> None:
    total = len(sheet.items)
    empty = progress(sheet, {})
    assert (empty.answered, empty.total, empty.complete) == (0, total, False)
    assert empty.label == f"0 of {total} answered"
    assert empty.next_unanswered is not None and empty.next_unanswered.id == "skin"
    answers: dict[str, object] = {
        "skin": Answer.SIMILAR,
        "face_outline": "not_similar",
        "eyes": ItemAnswer(Answer.NOT_VISIBLE, note="sunglasses in the probe"),
        "nose": OtherAnswer.SIMILAR,
        "ears": "bogus",  # not an answer: does not count
        "not_an_item": "similar",
    }
    state = progress(sheet, answers)
    assert state.answered == 4 and state.label == f"4 of {total} answered"
    assert state.next_unanswered is not None and state.next_unanswered.id == "face_composition"
    assert "ears" in state.missing_ids and "eyes" not in state.missing_ids
    assert len(state.missing) == total - 4
    full = progress(sheet, {item_id: "similar" for item_id in sheet.item_ids})
    assert full.complete and full.next_unanswered is None and full.missing_ids == ()


def _replace_once(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


BROKEN: dict[str, tuple[Callable[[str], str], str]] = {
    "unknown region": (
        lambda t: _replace_once(t, 'regions = ["nose"]', 'regions = ["snout"]'),
        r"'items\[9\] \('nose'\)\.regions' names unknown regions \['snout'\]",
    ),
    "repeated id": (
        lambda t: _replace_once(t, 'id = "cheeks"', 'id = "eyes"'),
        r"'items\[8\]\.id' repeats the id 'eyes'",
    ),
    "missing MPTC feature": (
        lambda t: _replace_once(t, 'mptc_feature = "tattoos"\n', ""),
        r"has no item for the MPTC IV\.E\.1 features \['tattoos'\]",
    ),
    "feature twice": (
        lambda t: _replace_once(t, 'mptc_feature = "lips"', 'mptc_feature = "mouth"'),
        r"repeats 'mouth'",
    ),
    "out of FISWG order": (
        lambda t: _replace_once(t, "component = 13", "component = 3"),
        r"'items\[14\] \('neck'\)\.component' is out of FISWG order",
    ),
    "component out of range": (
        lambda t: _replace_once(t, "component = 19", "component = 20"),
        r"must be a FISWG component number from 1 to 19",
    ),
    "conclusion without description": (
        lambda t: _replace_once(t, 'description = "Differences exclude', 'note = "Differences'),
        r"'conclusions\.not_a_lead\.description' is missing",
    ),
    "unknown answer": (
        lambda t: t + '\n[answers.probably]\nlabel = "Probably"\ndescription = "x"\n',
        r"'answers' has unknown entries \['probably'\]",
    ),
    "bad TOML": (lambda t: t + "\n[[items]\n", "cannot be read"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_worksheets_are_refused(tmp_path: Path, case: str) -> None:
    change, message = BROKEN[case]
    path = tmp_path / "broken-sheet.toml"
    path.write_text(change(SHEET_TEXT), encoding="utf-8")
    with pytest.raises(ConfigurationError, match=message) as refused:
        load_worksheet(str(path))
    assert "broken-sheet.toml" in str(refused.value)


def test_unknown_worksheet_name() -> None:
    with pytest.raises(ConfigurationError, match=r"not found\. Built-in worksheets: fiswg-mptc"):
        load_worksheet("no-such-sheet")
