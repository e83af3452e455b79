"""Blind second review in the audit log: the first examiner's findings, withheld from a reader
who may not see them yet.

The details keys ``answers`` and ``conclusion`` of an event about a comparison are the first
examiner's findings. Until the second review of that comparison is finished, the audit viewer
(:mod:`app.casework.audit_log`) and the audit export (:mod:`app.casework.audit_export`) show them
only to whom :func:`app.casework.case_access.first_conclusion_visible` allows: the comparison's
own examiner, and its reviewer once the review is recorded. A supervisor who reads or exports the
audit log may be the pending blind reviewer (MPTC IV.E.2), so for everyone else those values are
replaced by :data:`WITHHELD`. The stored events are never changed.

:class:`FirstFindingsGuard` looks the comparisons up a batch at a time (three queries per batch,
see :func:`app.casework.case_access.first_conclusions_hidden`) and remembers the answer for the
rest of its read transaction, so a long export does not query once per event.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.orm import Session

from app.casework.account_rules import SignedInUser
from app.casework.case_access import first_conclusions_hidden

__all__ = [
    "BLIND_KEYS",
    "WITHHELD",
    "FirstFindingsGuard",
    "blind_comparison_id",
    "may_carry_findings",
    "withhold",
]

BLIND_KEYS = ("answers", "conclusion")
WITHHELD = "withheld until the second review is finished"
# How the keys appear in the stored (canonical JSON) details: a cheap test before parsing.
_STORED_KEYS = tuple(f'"{key}":' for key in BLIND_KEYS)


def _comparison_number(object_type: str, object_id: str | None) -> int | None:
    if object_type != "comparison" or object_id is None:
        return None
    if not (object_id.isascii() and object_id.isdigit()):
        return None
    return int(object_id)


def may_carry_findings(object_type: str, object_id: str | None, stored_details: str) -> bool:
    """Whether an event, as stored, might carry first findings (worth parsing its details)."""
    if _comparison_number(object_type, object_id) is None:
        return False
    return any(key in stored_details for key in _STORED_KEYS)


def blind_comparison_id(
    object_type: str, object_id: str | None, details: Mapping[str, Any]
) -> int | None:
    """The comparison whose first findings these (parsed) details carry, or None."""
    number = _comparison_number(object_type, object_id)
    if number is None or not any(key in details for key in BLIND_KEYS):
        return None
    return number


def withhold(details: Mapping[str, Any]) -> dict[str, Any]:
    """The details with the first findings' values replaced by :data:`WITHHELD`."""
    return {key: (WITHHELD if key in BLIND_KEYS else value) for key, value in details.items()}


class FirstFindingsGuard:
    """Which comparisons' first findings ``by`` may not see yet, within one read transaction."""

    def __init__(self, session: Session, by: SignedInUser) -> None:
        self._session = session
        self._by = by
        self._hidden: dict[int, bool] = {}

    def look_up(self, comparison_ids: Iterable[int]) -> None:
        """Decide, in one batch, every comparison among ``comparison_ids`` not decided yet."""
        unknown = {number for number in comparison_ids if number not in self._hidden}
        if not unknown:
            return
        hidden = first_conclusions_hidden(self._session, self._by, unknown)
        self._hidden.update((number, number in hidden) for number in unknown)

    def hides(self, comparison_id: int) -> bool:
        """True when ``by`` may not see this comparison's first findings yet."""
        if comparison_id not in self._hidden:
            self.look_up((comparison_id,))
        return self._hidden[comparison_id]
