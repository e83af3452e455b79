"""Accounts: first administrator, sign-in with lockout, session lock, passwords, user admin.

Every state change writes its audit event in the same transaction. A refused sign-in is audited
too: the failure is committed first and the :class:`AuthenticationError` raised afterwards.
Administrator-only functions check the caller's roles in the database (not only the snapshot in
:class:`SignedInUser`) and audit a refusal as ``permission.denied``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import flag_modified

from app.casework.account_rules import (
    COURSE_MAX,
    AcknowledgedPolicy,
    ExaminerFacts,
    SignedInUser,
    TrainingEntry,
    UserSummary,
    acknowledged_policy,
    burn_password_check,
    check_display_name,
    check_password_rules,
    check_roles,
    check_username,
    examiner_facts_of,
    hash_password,
    lookup_name,
    needs_rehash,
    signed_in_user,
    training_entry,
    user_summary,
    verify_password,
)
from app.casework.workstation import Workstation
from app.errors import AuthenticationError, NotFound, PermissionDenied, PolicyViolation
from app.policy.roles import Role
from app.records.audit import append_event, lock_chain
from app.records.models import PolicyAcknowledgment, TrainingRecord, User, UserRole

WRONG_CREDENTIALS = "The user name or password is wrong."
ACCOUNT_INACTIVE = "This account has been deactivated. Ask an administrator."

__all__ = [
    "AcknowledgedPolicy",
    "ExaminerFacts",
    "SignedInUser",
    "TrainingEntry",
    "UserSummary",
    "acknowledge_policy",
    "add_training",
    "change_password",
    "check_administrator",
    "check_password_rules",
    "create_first_admin",
    "create_user",
    "examiner_facts",
    "list_users",
    "lock_session",
    "my_account",
    "needs_first_admin",
    "reset_password",
    "set_active",
    "set_roles",
    "sign_in",
    "sign_out",
    "unlock_account",
    "unlock_session",
    "user_by_name",
]


# ------------------------------------------------------------------------------ helpers
def _audit(
    ws: Workstation,
    session: Session,
    *,
    actor: str,
    action: str,
    user_id: int | None,
    details: dict[str, object] | None = None,
) -> None:
    append_event(
        session,
        actor=actor,
        action=action,
        object_type="user",
        object_id=user_id,
        details=details or {},
        occurred_at=ws.now(),
    )


def _load_user(session: Session, user_id: int, *, for_update: bool = False) -> User:
    stmt = select(User).where(User.id == user_id)
    if for_update:
        stmt = stmt.with_for_update()
    row = session.execute(stmt).scalar_one_or_none()
    if row is None:
        raise NotFound(f"There is no user with number {user_id}.")
    return row


def _user_by_name(session: Session, name: str, *, for_update: bool = False) -> User | None:
    stmt = select(User).where(User.username == lookup_name(name))
    if for_update:
        stmt = stmt.with_for_update()
    return session.execute(stmt).scalar_one_or_none()


def _locked_message(username: str, until: datetime) -> str:
    return (
        f"The account '{username}' is locked until {until:%H:%M} UTC on {until:%Y-%m-%d} after "
        "too many wrong passwords. Try again then, or ask an administrator to unlock it."
    )


def _require_admin(ws: Workstation, session: Session, by: SignedInUser, attempted: str) -> User:
    """The caller's row when they are an active administrator; otherwise audit and refuse."""
    row = session.get(User, by.user_id)
    if row is not None and row.active and Role.ADMINISTRATOR.value in row.role_names:
        return row
    _audit(
        ws,
        session,
        actor=by.username,
        action="permission.denied",
        user_id=by.user_id,
        details={"attempted": attempted, "reason": "not an active administrator"},
    )
    session.commit()  # the refusal stays on record; the caller's block then rolls back nothing
    raise PermissionDenied(f"Only an active administrator can {attempted}.")


def _active_admin_count(session: Session, *, excluding: int | None = None) -> int:
    stmt = (
        select(func.count(func.distinct(User.id)))
        .join(UserRole, UserRole.user_id == User.id)
        .where(User.active.is_(True), UserRole.role == Role.ADMINISTRATOR.value)
    )
    if excluding is not None:
        stmt = stmt.where(User.id != excluding)
    return int(session.execute(stmt).scalar_one())


def _check_not_last_admin(session: Session, row: User, *, what: str) -> None:
    if not (row.active and Role.ADMINISTRATOR.value in row.role_names):
        return
    if _active_admin_count(session, excluding=row.id) == 0:
        raise PolicyViolation(
            f"'{row.username}' is the last active administrator, so you cannot {what}. "
            "Make someone else an administrator first."
        )


def _new_user(
    *,
    username: str,
    display_name: str,
    password: str,
    roles: frozenset[Role],
    created_by: str | None,
    now: datetime,
) -> User:
    row = User(
        username=username,
        display_name=display_name,
        active=True,
        password_hash=hash_password(password),
        failed_logins=0,
        locked_until=None,
        password_changed_at=now,
        created_at=now,
        created_by=created_by or username,
    )
    row.roles = [UserRole(role=r.value) for r in sorted(roles)]
    return row


def _password_attempt(
    ws: Workstation,
    session: Session,
    row: User | None,
    *,
    typed_name: str,
    password: str,
    success_action: str | None,
    failure_action: str,
) -> SignedInUser | AuthenticationError:
    """Check a password against an account, updating the failure counter and lockout."""
    now = ws.now()
    settings = ws.settings
    if row is None:
        burn_password_check(password)
        _audit(
            ws,
            session,
            actor=typed_name or "(blank)",
            action=failure_action,
            user_id=None,
            details={"username": typed_name, "reason": "unknown user"},
        )
        return AuthenticationError(WRONG_CREDENTIALS)
    if row.locked_until is not None:
        if row.locked_until > now:
            _audit(
                ws,
                session,
                actor=row.username,
                action=failure_action,
                user_id=row.id,
                details={"reason": "account locked", "locked_until": row.locked_until},
            )
            return AuthenticationError(_locked_message(row.username, row.locked_until))
        row.locked_until = None  # the lock has run out: a fresh set of attempts
        row.failed_logins = 0
    if not verify_password(row.password_hash, password):
        row.failed_logins += 1
        _audit(
            ws,
            session,
            actor=row.username,
            action=failure_action,
            user_id=row.id,
            details={"reason": "wrong password", "failed_logins": row.failed_logins},
        )
        if 0 < settings.lockout_failures <= row.failed_logins:
            row.locked_until = now + timedelta(minutes=settings.lockout_minutes)
            _audit(
                ws,
                session,
                actor=row.username,
                action="account.locked",
                user_id=row.id,
                details={"failed_logins": row.failed_logins, "locked_until": row.locked_until},
            )
            return AuthenticationError(
                f"{WRONG_CREDENTIALS} {_locked_message(row.username, row.locked_until)}"
            )
        return AuthenticationError(WRONG_CREDENTIALS)
    if not row.active:
        _audit(
            ws,
            session,
            actor=row.username,
            action=failure_action,
            user_id=row.id,
            details={"reason": "account deactivated"},
        )
        return AuthenticationError(ACCOUNT_INACTIVE)
    if row.failed_logins:
        row.failed_logins = 0
    if needs_rehash(row.password_hash):
        row.password_hash = hash_password(password)
    if success_action is not None:
        _audit(ws, session, actor=row.username, action=success_action, user_id=row.id)
    return signed_in_user(row)


# ------------------------------------------------------------------------------ first start
def needs_first_admin(ws: Workstation) -> bool:
    """True while the workstation has no user at all (the first-run wizard is due)."""
    with ws.database.session(read_only=True) as session:
        return session.execute(select(User.id).limit(1)).first() is None


def create_first_admin(
    ws: Workstation, *, username: str, display_name: str, password: str
) -> SignedInUser:
    """Create the first administrator; refused once any user exists."""
    name = check_username(username)
    shown = check_display_name(display_name, name)
    check_password_rules(username=name, password=password)
    with ws.database.session() as session:
        lock_chain(session)  # serialises two first-run wizards on a shared database
        if session.execute(select(User.id).limit(1)).first() is not None:
            raise PolicyViolation(
                "The workstation already has users, so there is no first administrator to "
                "create. Ask an administrator for an account."
            )
        row = _new_user(
            username=name,
            display_name=shown,
            password=password,
            roles=frozenset({Role.ADMINISTRATOR}),
            created_by=None,
            now=ws.now(),
        )
        session.add(row)
        session.flush()
        _audit(
            ws,
            session,
            actor=name,
            action="user.created",
            user_id=row.id,
            details={
                "username": name,
                "display_name": shown,
                "roles": [Role.ADMINISTRATOR.value],
                "first_administrator": True,
            },
        )
        return signed_in_user(row)


# ------------------------------------------------------------------------------ sign-in
def sign_in(ws: Workstation, *, username: str, password: str) -> SignedInUser:
    """Check the password; AuthenticationError (audited) for any refusal."""
    typed = lookup_name(username)[:64]
    with ws.database.session() as session:
        row = _user_by_name(session, typed, for_update=True)
        outcome = _password_attempt(
            ws,
            session,
            row,
            typed_name=typed,
            password=password,
            success_action="login.success",
            failure_action="login.failure",
        )
    if isinstance(outcome, AuthenticationError):
        raise outcome
    return outcome


def sign_out(ws: Workstation, *, user: SignedInUser) -> None:
    with ws.database.session() as session:
        _audit(ws, session, actor=user.username, action="logout", user_id=user.user_id)


def lock_session(ws: Workstation, *, user: SignedInUser) -> None:
    """Record that the screen was locked (idle time or by hand)."""
    with ws.database.session() as session:
        _audit(ws, session, actor=user.username, action="session.locked", user_id=user.user_id)


def unlock_session(ws: Workstation, *, user: SignedInUser, password: str) -> None:
    """Unlock the screen with the same user's password; failures count towards the lockout."""
    with ws.database.session() as session:
        row = session.execute(
            select(User).where(User.id == user.user_id).with_for_update()
        ).scalar_one_or_none()
        outcome = _password_attempt(
            ws,
            session,
            row,
            typed_name=user.username,
            password=password,
            success_action="session.unlocked",
            failure_action="session.unlock_failure",
        )
    if isinstance(outcome, AuthenticationError):
        raise outcome


def change_password(
    ws: Workstation, *, user: SignedInUser, old_password: str, new_password: str
) -> None:
    """Change one's own password (the current one is checked and counts towards lockout)."""
    with ws.database.session() as session:
        row = _load_user(session, user.user_id, for_update=True)
        outcome = _password_attempt(
            ws,
            session,
            row,
            typed_name=row.username,
            password=old_password,
            success_action=None,  # "password.changed" below records the success
            failure_action="password.change_failure",
        )
        if not isinstance(outcome, AuthenticationError):
            check_password_rules(username=row.username, password=new_password)
            if old_password == new_password:
                raise PolicyViolation("The new password must differ from the current one.")
            row.password_hash = hash_password(new_password)
            row.password_changed_at = ws.now()
            _audit(ws, session, actor=row.username, action="password.changed", user_id=row.id)
    if isinstance(outcome, AuthenticationError):
        if str(outcome) == WRONG_CREDENTIALS:
            raise AuthenticationError("The current password is wrong.")
        raise outcome


# ------------------------------------------------------------------------------ administration
def check_administrator(ws: Workstation, *, by: SignedInUser, attempted: str) -> None:
    """PermissionDenied (audited) unless ``by`` is an active administrator right now.

    ``attempted`` completes "Only an active administrator can ..." (e.g. "create users").
    """
    with ws.database.session() as session:
        _require_admin(ws, session, by, attempted)


def create_user(
    ws: Workstation,
    *,
    by: SignedInUser,
    username: str,
    display_name: str,
    password: str,
    roles: Iterable[Role],
) -> UserSummary:
    """Create an account (administrators only)."""
    with ws.database.session() as session:
        admin = _require_admin(ws, session, by, "create users")
        name = check_username(username)
        shown = check_display_name(display_name, name)
        role_set = check_roles(tuple(roles))
        check_password_rules(username=name, password=password)
        if _user_by_name(session, name) is not None:
            raise PolicyViolation(f"A user named '{name}' already exists.")
        row = _new_user(
            username=name,
            display_name=shown,
            password=password,
            roles=role_set,
            created_by=admin.username,
            now=ws.now(),
        )
        session.add(row)
        session.flush()
        _audit(
            ws,
            session,
            actor=admin.username,
            action="user.created",
            user_id=row.id,
            details={"username": name, "display_name": shown, "roles": sorted(role_set)},
        )
        return user_summary(row, now=ws.now())


def set_roles(
    ws: Workstation, *, by: SignedInUser, user_id: int, roles: Iterable[Role]
) -> UserSummary:
    """Replace a user's roles; the last active administrator keeps the administrator role."""
    with ws.database.session() as session:
        admin = _require_admin(ws, session, by, "change roles")
        row = _load_user(session, user_id, for_update=True)
        new_roles = check_roles(tuple(roles))
        before = sorted(row.role_names)
        if Role.ADMINISTRATOR not in new_roles:
            _check_not_last_admin(session, row, what="remove the administrator role")
        wanted = {r.value for r in new_roles}
        keep = [r for r in row.roles if r.role in wanted]
        have = {r.role for r in keep}
        row.roles = keep + [UserRole(role=name) for name in sorted(wanted - have)]
        flag_modified(row, "display_name")  # a role change is a change of the user: new version
        session.flush()
        session.refresh(row)
        after = sorted(row.role_names)
        if before != after:
            _audit(
                ws,
                session,
                actor=admin.username,
                action="user.roles_changed",
                user_id=row.id,
                details={"username": row.username, "before": before, "after": after},
            )
        return user_summary(row, now=ws.now())


def set_active(ws: Workstation, *, by: SignedInUser, user_id: int, active: bool) -> UserSummary:
    """Activate or deactivate an account (the last active administrator stays active)."""
    with ws.database.session() as session:
        admin = _require_admin(ws, session, by, "activate or deactivate accounts")
        row = _load_user(session, user_id, for_update=True)
        if row.active != active:
            if not active:
                _check_not_last_admin(session, row, what="deactivate the account")
            row.active = active
            _audit(
                ws,
                session,
                actor=admin.username,
                action="user.activated" if active else "user.deactivated",
                user_id=row.id,
                details={"username": row.username},
            )
        return user_summary(row, now=ws.now())


def reset_password(ws: Workstation, *, by: SignedInUser, user_id: int, new_password: str) -> None:
    """Set a new password for someone (also lifts a lockout)."""
    with ws.database.session() as session:
        admin = _require_admin(ws, session, by, "reset passwords")
        row = _load_user(session, user_id, for_update=True)
        check_password_rules(username=row.username, password=new_password)
        row.password_hash = hash_password(new_password)
        row.password_changed_at = ws.now()
        row.failed_logins = 0
        row.locked_until = None
        _audit(
            ws,
            session,
            actor=admin.username,
            action="password.reset",
            user_id=row.id,
            details={"username": row.username},
        )


def unlock_account(ws: Workstation, *, by: SignedInUser, user_id: int) -> UserSummary:
    """Lift a lockout at once and clear the failure counter."""
    with ws.database.session() as session:
        admin = _require_admin(ws, session, by, "unlock accounts")
        row = _load_user(session, user_id, for_update=True)
        was_locked = row.locked_until is not None and row.locked_until > ws.now()
        row.failed_logins = 0
        row.locked_until = None
        _audit(
            ws,
            session,
            actor=admin.username,
            action="account.unlocked",
            user_id=row.id,
            details={"username": row.username, "was_locked": was_locked},
        )
        return user_summary(row, now=ws.now())


def list_users(ws: Workstation, *, by: SignedInUser) -> list[UserSummary]:
    """Every account, by user name (administrators only)."""
    with ws.database.session() as session:
        _require_admin(ws, session, by, "list users")
        rows = session.execute(
            select(User)
            .options(
                selectinload(User.roles),
                selectinload(User.training),
                selectinload(User.acknowledgments),
            )
            .order_by(User.username)
        ).scalars()
        return [user_summary(row, now=ws.now()) for row in rows]


def user_by_name(ws: Workstation, *, by: SignedInUser, username: str) -> UserSummary:
    """One account by user name (administrators only); NotFound when there is none."""
    with ws.database.session() as session:
        _require_admin(ws, session, by, "look up users")
        row = _user_by_name(session, username)
        if row is None:
            raise NotFound(f"There is no user named '{lookup_name(username)}'.")
        return user_summary(row, now=ws.now())


def my_account(ws: Workstation, *, user: SignedInUser) -> UserSummary:
    """The signed-in user's own account (roles, training, acknowledgments)."""
    with ws.database.session(read_only=True) as session:
        return user_summary(_load_user(session, user.user_id), now=ws.now())


def add_training(
    ws: Workstation,
    *,
    by: SignedInUser,
    user_id: int,
    course: str,
    completed_on: date,
    expires_on: date,
) -> TrainingEntry:
    """Record a completed course with its expiry date (administrators only)."""
    with ws.database.session() as session:
        admin = _require_admin(ws, session, by, "record training")
        row = _load_user(session, user_id)
        title = " ".join(course.split())
        if not title:
            raise PolicyViolation("Name the course that was completed.")
        if len(title) > COURSE_MAX:
            raise PolicyViolation(f"A course name has at most {COURSE_MAX} characters.")
        if completed_on > ws.now().date():
            raise PolicyViolation("The completion date cannot be in the future.")
        if expires_on < completed_on:
            raise PolicyViolation("The expiry date cannot be before the completion date.")
        record = TrainingRecord(
            user_id=row.id,
            course=title,
            completed_on=completed_on,
            expires_on=expires_on,
            recorded_by=admin.username,
            recorded_at=ws.now(),
        )
        session.add(record)
        session.flush()
        _audit(
            ws,
            session,
            actor=admin.username,
            action="training.recorded",
            user_id=row.id,
            details={
                "username": row.username,
                "course": title,
                "completed_on": completed_on,
                "expires_on": expires_on,
            },
        )
        return training_entry(record)


# ------------------------------------------------------------------------------ policy facts
def acknowledge_policy(
    ws: Workstation,
    *,
    user: SignedInUser,
    profile_name: str,
    profile_version: str,
    profile_sha256: str,
) -> AcknowledgedPolicy:
    """Record that the user has read and acknowledged this exact policy profile version."""
    with ws.database.session() as session:
        row = _load_user(session, user.user_id)
        if not row.active:
            raise PermissionDenied(ACCOUNT_INACTIVE)
        existing = session.execute(
            select(PolicyAcknowledgment).where(
                PolicyAcknowledgment.user_id == row.id,
                PolicyAcknowledgment.profile_name == profile_name,
                PolicyAcknowledgment.profile_version == profile_version,
                PolicyAcknowledgment.profile_sha256 == profile_sha256,
            )
        ).scalar_one_or_none()
        if existing is not None:
            return acknowledged_policy(existing)
        ack = PolicyAcknowledgment(
            user_id=row.id,
            profile_name=profile_name,
            profile_version=profile_version,
            profile_sha256=profile_sha256,
            acknowledged_at=ws.now(),
        )
        session.add(ack)
        session.flush()
        _audit(
            ws,
            session,
            actor=row.username,
            action="policy.acknowledged",
            user_id=row.id,
            details={
                "profile_name": profile_name,
                "profile_version": profile_version,
                "profile_sha256": profile_sha256,
            },
        )
        return acknowledged_policy(ack)


def examiner_facts(ws: Workstation, *, user_id: int) -> ExaminerFacts:
    """Active flag, roles, training and acknowledgments of a user, for the policy gate."""
    with ws.database.session(read_only=True) as session:
        row = session.execute(
            select(User)
            .where(User.id == user_id)
            .options(
                selectinload(User.roles),
                selectinload(User.training),
                selectinload(User.acknowledgments),
            )
        ).scalar_one_or_none()
        if row is None:
            raise NotFound(f"There is no user with number {user_id}.")
        return examiner_facts_of(row)
