"""Checks on gallery fields typed by a person or read from a manifest (pure, no database).

Each function returns the cleaned value or raises :class:`InvalidInput` with a plain sentence
that names the field, so an import's error report can quote it as the row's reason.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from app.errors import InvalidInput
from app.records.gallery_models import (
    NAME_MAX,
    SEX_MAX,
    SOURCE_REFERENCE_MAX,
    SOURCE_TYPE_MAX,
    SUBJECT_REFERENCE_MAX,
)

REASON_MIN = 3
LAWFUL_BASIS_MAX = 2000
DESCRIPTOR_VALUE_MAX = 500
EARLIEST_DATE = date(1850, 1, 1)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # Unicode category Cc


def _text(value: object) -> str:
    if value is None:
        return ""
    text = str(value).strip()
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    # Control characters (tabs, line breaks) have no place in a reference or a name.
    if _CONTROL.search(text):
        text = " ".join(_CONTROL.sub(" ", text).split())
    return text


def required_text(value: object, *, what: str, limit: int) -> str:
    text = _text(value)
    if not text:
        raise InvalidInput(f"The {what} is missing.")
    if len(text) > limit:
        raise InvalidInput(f"The {what} is too long ({len(text)} characters; at most {limit}).")
    return text


def optional_text(value: object, *, what: str, limit: int) -> str | None:
    text = _text(value)
    if not text:
        return None
    if len(text) > limit:
        raise InvalidInput(f"The {what} is too long ({len(text)} characters; at most {limit}).")
    return text


def subject_reference(value: object) -> str:
    return required_text(value, what="subject reference", limit=SUBJECT_REFERENCE_MAX)


def subject_name(value: object) -> str:
    return optional_text(value, what="name", limit=NAME_MAX) or ""


def sex(value: object) -> str | None:
    return optional_text(value, what="sex", limit=SEX_MAX)


def source_type(value: object) -> str:
    return required_text(value, what="source type", limit=SOURCE_TYPE_MAX)


def source_reference(value: object) -> str:
    return required_text(value, what="source reference", limit=SOURCE_REFERENCE_MAX)


def lawful_basis(value: object) -> str:
    return optional_text(value, what="lawful-basis note", limit=LAWFUL_BASIS_MAX) or ""


def reason(value: object, *, action: str) -> str:
    text = _text(value)
    if len(text) < REASON_MIN:
        raise InvalidInput(f"A reason is required to {action}.")
    if len(text) > LAWFUL_BASIS_MAX:
        raise InvalidInput(f"The reason is too long (at most {LAWFUL_BASIS_MAX} characters).")
    return text


def parse_date(value: object, *, what: str, today: date, required: bool) -> date | None:
    """An ISO date (YYYY-MM-DD) not in the future and not before 1850."""
    if isinstance(value, date):
        parsed = value
    else:
        text = _text(value)
        if not text:
            if required:
                raise InvalidInput(f"The {what} is missing.")
            return None
        try:
            parsed = date.fromisoformat(text)
        except ValueError:
            raise InvalidInput(
                f"The {what} '{text[:40]}' is not a date; write it as YYYY-MM-DD."
            ) from None
    if parsed > today:
        raise InvalidInput(f"The {what} {parsed.isoformat()} is in the future.")
    if parsed < EARLIEST_DATE:
        raise InvalidInput(f"The {what} {parsed.isoformat()} is implausibly early.")
    return parsed


def required_date(value: object, *, what: str, today: date) -> date:
    parsed = parse_date(value, what=what, today=today, required=True)
    if parsed is None:  # parse_date never returns None when required; this keeps mypy informed
        raise InvalidInput(f"The {what} is missing.")
    return parsed


def descriptors(values: dict[str, object] | None) -> dict[str, str] | None:
    """Other facts the agency records (never used to rank): short texts by column name."""
    if not values:
        return None
    cleaned: dict[str, str] = {}
    for key, value in values.items():
        name = _text(key)[:100]
        text = _text(value)
        if not name or not text:
            continue
        if len(text) > DESCRIPTOR_VALUE_MAX:
            raise InvalidInput(
                f"The value of '{name}' is too long (at most {DESCRIPTOR_VALUE_MAX} characters)."
            )
        cleaned[name] = text
    return cleaned or None


__all__ = [
    "descriptors",
    "lawful_basis",
    "optional_text",
    "parse_date",
    "reason",
    "required_date",
    "required_text",
    "sex",
    "source_reference",
    "source_type",
    "subject_name",
    "subject_reference",
]
