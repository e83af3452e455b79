"""Roles a person may hold (several at once). Stored in the database as their string values."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    EXAMINER = "examiner"
    SUPERVISOR = "supervisor"
    ADMINISTRATOR = "administrator"
    LEGAL_ADVISOR = "legal_advisor"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


def parse_roles(values: str | list[str] | tuple[str, ...]) -> frozenset[Role]:
    """Parse role names (a comma-separated string or a list); unknown names raise ValueError."""
    items = values.split(",") if isinstance(values, str) else list(values)
    roles = set()
    for item in items:
        name = item.strip().lower().replace(" ", "_")
        if not name:
            continue
        try:
            roles.add(Role(name))
        except ValueError:
            known = ", ".join(r.value for r in Role)
            raise ValueError(f"Unknown role '{item.strip()}'. Known roles: {known}.") from None
    return frozenset(roles)
