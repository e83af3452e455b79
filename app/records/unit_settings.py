"""Unit-wide settings chosen inside the workstation (not in ``settings.toml``), e.g. the policy
profile the administrator selected. One row per key; every workstation sharing the database sees
the same values. Changes are audited by the casework that makes them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.records.base import Base, UtcDateTime
from app.records.models import USERNAME_MAX

POLICY_PROFILE_KEY = "policy_profile"


class UnitSetting(Base):
    """One unit-wide setting: a key and its text value, with who set it and when."""

    __tablename__ = "unit_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    changed_by: Mapped[str] = mapped_column(String(USERNAME_MAX))
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime)


def read_unit_setting(session: Session, key: str) -> str | None:
    """The stored value of ``key``, or None when the unit has not set it."""
    row = session.get(UnitSetting, key)
    return row.value if row is not None else None


def write_unit_setting(
    session: Session, key: str, value: str, *, changed_by: str, changed_at: datetime
) -> None:
    """Set ``key`` to ``value`` (in the caller's transaction)."""
    row = session.get(UnitSetting, key, with_for_update=True)
    if row is None:
        session.add(UnitSetting(key=key, value=value, changed_by=changed_by, changed_at=changed_at))
    else:
        row.value = value
        row.changed_by = changed_by
        row.changed_at = changed_at
    session.flush()
