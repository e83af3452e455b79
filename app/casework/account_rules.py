"""What accounts look like to callers, and the rules for names and passwords.

The result dataclasses here are re-exported by :mod:`app.casework.accounts` (import them from
there). Passwords are hashed with argon2id; ``password_hasher`` is module state so tests can use
cheap parameters (the hash string records its own parameters, and a sign-in re-hashes a password
whose parameters are out of date).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from app.errors import PolicyViolation
from app.policy.roles import Role
from app.records.models import PolicyAcknowledgment, TrainingRecord, User

log = logging.getLogger(__name__)

PASSWORD_MIN_LENGTH = 10
PASSWORD_MAX_LENGTH = 1024
DISPLAY_NAME_MAX = 200
COURSE_MAX = 200
RESERVED_USERNAMES = frozenset({"system", "setup"})
_USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")

password_hasher = PasswordHasher()  # argon2id, RFC 9106 low-memory profile
_dummy_hashes: dict[int, str] = {}


# ------------------------------------------------------------------------------ result types
@dataclass(frozen=True)
class SignedInUser:
    """The person using the workstation right now (a snapshot taken at sign-in)."""

    user_id: int
    username: str
    display_name: str
    roles: frozenset[Role]

    def has_role(self, role: Role) -> bool:
        return role in self.roles


@dataclass(frozen=True)
class TrainingEntry:
    """One training record: a course completed on a date, valid until its expiry date."""

    course: str
    completed_on: date
    expires_on: date
    recorded_by: str
    recorded_at: datetime

    def is_current(self, on: date) -> bool:
        return self.completed_on <= on <= self.expires_on


@dataclass(frozen=True)
class AcknowledgedPolicy:
    """A policy profile version the user has acknowledged."""

    profile_name: str
    profile_version: str
    profile_sha256: str
    acknowledged_at: datetime


@dataclass(frozen=True)
class UserSummary:
    """An account as the administrator sees it (never the password hash)."""

    user_id: int
    username: str
    display_name: str
    roles: frozenset[Role]
    active: bool
    locked_until: datetime | None  # only while the lock lasts
    training: tuple[TrainingEntry, ...]
    acknowledged: tuple[AcknowledgedPolicy, ...]
    failed_logins: int
    created_at: datetime
    created_by: str
    password_changed_at: datetime

    def has_role(self, role: Role) -> bool:
        return role in self.roles


@dataclass(frozen=True)
class ExaminerFacts:
    """Plain facts about a person that the policy gate judges (active, roles, training, acks)."""

    user_id: int
    username: str
    active: bool
    roles: frozenset[Role]
    training: tuple[TrainingEntry, ...]
    acknowledged: tuple[AcknowledgedPolicy, ...]

    def has_role(self, role: Role) -> bool:
        return role in self.roles


# ------------------------------------------------------------------------------ conversions
def roles_of(row: User) -> frozenset[Role]:
    roles = set()
    for name in row.role_names:
        try:
            roles.add(Role(name))
        except ValueError:
            log.warning("user %s has an unknown role %r; ignored", row.username, name)
    return frozenset(roles)


def training_entry(row: TrainingRecord) -> TrainingEntry:
    return TrainingEntry(
        course=row.course,
        completed_on=row.completed_on,
        expires_on=row.expires_on,
        recorded_by=row.recorded_by,
        recorded_at=row.recorded_at,
    )


def acknowledged_policy(row: PolicyAcknowledgment) -> AcknowledgedPolicy:
    return AcknowledgedPolicy(
        profile_name=row.profile_name,
        profile_version=row.profile_version,
        profile_sha256=row.profile_sha256,
        acknowledged_at=row.acknowledged_at,
    )


def signed_in_user(row: User) -> SignedInUser:
    return SignedInUser(
        user_id=row.id, username=row.username, display_name=row.display_name, roles=roles_of(row)
    )


def user_summary(row: User, *, now: datetime) -> UserSummary:
    locked = row.locked_until if row.locked_until is not None and row.locked_until > now else None
    return UserSummary(
        user_id=row.id,
        username=row.username,
        display_name=row.display_name,
        roles=roles_of(row),
        active=row.active,
        locked_until=locked,
        training=tuple(training_entry(t) for t in row.training),
        acknowledged=tuple(acknowledged_policy(a) for a in row.acknowledgments),
        failed_logins=row.failed_logins,
        created_at=row.created_at,
        created_by=row.created_by,
        password_changed_at=row.password_changed_at,
    )


def examiner_facts_of(row: User) -> ExaminerFacts:
    return ExaminerFacts(
        user_id=row.id,
        username=row.username,
        active=row.active,
        roles=roles_of(row),
        training=tuple(training_entry(t) for t in row.training),
        acknowledged=tuple(acknowledged_policy(a) for a in row.acknowledgments),
    )


# ------------------------------------------------------------------------------ rules
def lookup_name(username: str) -> str:
    """How a typed user name is looked up (case-insensitive, surrounding spaces ignored)."""
    return username.strip().lower()


def check_username(username: str) -> str:
    """The stored form of a new user name, or PolicyViolation with the rule it breaks."""
    name = lookup_name(username)
    if not _USERNAME_RE.match(name):
        raise PolicyViolation(
            "A user name has 2 to 64 characters: letters, digits, dots, hyphens or underscores, "
            "starting with a letter or digit."
        )
    if name in RESERVED_USERNAMES:
        raise PolicyViolation(f"The user name '{name}' is reserved; choose another one.")
    return name


def check_display_name(display_name: str | None, username: str) -> str:
    text = " ".join((display_name or "").split())
    if not text:
        return username
    if len(text) > DISPLAY_NAME_MAX:
        raise PolicyViolation(f"A display name has at most {DISPLAY_NAME_MAX} characters.")
    return text


def check_password_rules(*, username: str, password: str) -> None:
    """PolicyViolation (a plain sentence) when a new password breaks a rule."""
    if len(password) < PASSWORD_MIN_LENGTH:
        raise PolicyViolation(
            f"The password is too short: use at least {PASSWORD_MIN_LENGTH} characters."
        )
    if len(password) > PASSWORD_MAX_LENGTH:
        raise PolicyViolation(
            f"The password is too long: use at most {PASSWORD_MAX_LENGTH} characters."
        )
    if password.strip().lower() == lookup_name(username):
        raise PolicyViolation("The password must not be the same as the user name.")


def check_roles(roles: Iterable[Role | str]) -> frozenset[Role]:
    result = set()
    for item in roles:
        try:
            result.add(Role(item))
        except ValueError:
            known = ", ".join(r.value for r in Role)
            raise PolicyViolation(f"Unknown role '{item}'. Known roles: {known}.") from None
    if not result:
        raise PolicyViolation(
            "Give the user at least one role (or deactivate the account instead)."
        )
    return frozenset(result)


# ------------------------------------------------------------------------------ password hashing
def hash_password(password: str) -> str:
    return password_hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return password_hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    try:
        return password_hasher.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True


def burn_password_check(password: str) -> None:
    """Spend the time of a real check, so an unknown user name takes as long as a wrong password."""
    key = id(password_hasher)
    if key not in _dummy_hashes:
        _dummy_hashes[key] = password_hasher.hash("not a real password, only for timing")
    verify_password(_dummy_hashes[key], password)
