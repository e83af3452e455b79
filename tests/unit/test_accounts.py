"""Accounts: first administrator, sign-in rules, lockout and its expiry, administration, facts."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from app.casework import account_rules, accounts
from app.casework.accounts import SignedInUser
from app.casework.audit_log import verify_audit_chain
from app.casework.workstation import Workstation
from app.errors import AuthenticationError, NotFound, PermissionDenied, PolicyViolation
from app.policy.roles import Role
from app.records.audit import iter_events
from app.records.models import AuditEvent, User

ADMIN_PASSWORD = "admin password 1"
EXAMINER_PASSWORD = "examiner password 1"


def actions(ws: Workstation) -> list[str]:
    with ws.database.session(read_only=True) as session:
        return [e.action for e in iter_events(session)]


def last_event(ws: Workstation) -> AuditEvent:
    with ws.database.session(read_only=True) as session:
        return next(iter_events(session, newest_first=True, limit=1))


def user_row(ws: Workstation, username: str) -> User:
    with ws.database.session(read_only=True) as session:
        return session.execute(select(User).where(User.username == username)).scalar_one()


@pytest.fixture
def admin(ws: Workstation, fake_clock: Any) -> SignedInUser:
    ws.clock = fake_clock
    return accounts.create_first_admin(
        ws, username="Boss", display_name="Chief Admin", password=ADMIN_PASSWORD
    )


@pytest.fixture
def examiner(ws: Workstation, admin: SignedInUser) -> SignedInUser:
    accounts.create_user(
        ws,
        by=admin,
        username="ex1",
        display_name="Erin Examiner",
        password=EXAMINER_PASSWORD,
        roles=[Role.EXAMINER],
    )
    return accounts.sign_in(ws, username="ex1", password=EXAMINER_PASSWORD)


def with_lockout(ws: Workstation, failures: int, minutes: float) -> None:
    ws.settings = dataclasses.replace(
        ws.settings, lockout_failures=failures, lockout_minutes=minutes
    )


# ---------------------------------------------------------------------------- first administrator
def test_first_administrator_is_created_once(ws: Workstation) -> None:
    assert accounts.needs_first_admin(ws) is True
    admin = accounts.create_first_admin(
        ws, username="  Boss ", display_name="Chief", password=ADMIN_PASSWORD
    )
    assert admin.username == "boss"
    assert admin.roles == frozenset({Role.ADMINISTRATOR})
    assert admin.has_role(Role.ADMINISTRATOR) and not admin.has_role(Role.EXAMINER)
    assert accounts.needs_first_admin(ws) is False
    event = last_event(ws)
    assert (event.action, event.actor, event.object_id) == ("user.created", "boss", "1")
    assert event.details_dict["first_administrator"] is True
    assert ADMIN_PASSWORD not in event.details
    with pytest.raises(PolicyViolation, match="already has users"):
        accounts.create_first_admin(ws, username="other", display_name="", password="x" * 12)
    assert actions(ws) == ["user.created"]


def test_password_is_stored_as_an_argon2_hash(ws: Workstation, admin: SignedInUser) -> None:
    row = user_row(ws, "boss")
    assert row.password_hash.startswith("$argon2id$")
    assert ADMIN_PASSWORD not in row.password_hash


@pytest.mark.parametrize(
    ("username", "password", "message"),
    [
        ("boss", "short", "too short"),
        ("boss", "123456789", "too short"),
        ("longusername", "LongUserName", "same as the user name"),
        ("a", "long enough password", "2 to 64 characters"),
        ("has space", "long enough password", "2 to 64 characters"),
        ("-dash", "long enough password", "2 to 64 characters"),
        ("system", "long enough password", "reserved"),
    ],
)
def test_name_and_password_rules(
    ws: Workstation, username: str, password: str, message: str
) -> None:
    with pytest.raises(PolicyViolation, match=message):
        accounts.create_first_admin(ws, username=username, display_name="", password=password)
    assert accounts.needs_first_admin(ws) is True


def test_password_of_exactly_ten_characters_is_accepted(ws: Workstation) -> None:
    user = accounts.create_first_admin(ws, username="boss", display_name="", password="0123456789")
    assert user.display_name == "boss"  # an empty display name falls back to the user name


# ---------------------------------------------------------------------------- sign-in
def test_sign_in_is_case_insensitive_and_audited(ws: Workstation, admin: SignedInUser) -> None:
    user = accounts.sign_in(ws, username=" BOSS ", password=ADMIN_PASSWORD)
    assert user == admin
    event = last_event(ws)
    assert (event.action, event.actor) == ("login.success", "boss")


def test_unknown_user_and_wrong_password_get_the_same_message(
    ws: Workstation, admin: SignedInUser
) -> None:
    with pytest.raises(AuthenticationError) as unknown:
        accounts.sign_in(ws, username="nobody", password=ADMIN_PASSWORD)
    with pytest.raises(AuthenticationError) as wrong:
        accounts.sign_in(ws, username="boss", password="not my password")
    assert str(unknown.value) == str(wrong.value) == "The user name or password is wrong."
    with ws.database.session(read_only=True) as session:
        failures = list(iter_events(session, action="login.failure"))
    assert [(e.actor, e.details_dict["reason"]) for e in failures] == [
        ("nobody", "unknown user"),
        ("boss", "wrong password"),
    ]


def test_passwords_are_case_sensitive(ws: Workstation, admin: SignedInUser) -> None:
    with pytest.raises(AuthenticationError):
        accounts.sign_in(ws, username="boss", password=ADMIN_PASSWORD.upper())


def test_lockout_after_repeated_failures_and_its_expiry(
    ws: Workstation, admin: SignedInUser, examiner: SignedInUser, fake_clock: Any
) -> None:
    with_lockout(ws, failures=3, minutes=15)
    for _ in range(2):
        with pytest.raises(AuthenticationError, match=r"^The user name or password is wrong\.$"):
            accounts.sign_in(ws, username="ex1", password="wrong guess!")
    with pytest.raises(AuthenticationError) as locked:
        accounts.sign_in(ws, username="ex1", password="wrong guess!")
    message = str(locked.value)
    until = fake_clock() + timedelta(minutes=15)
    assert f"locked until {until:%H:%M} UTC on {until:%Y-%m-%d}" in message
    assert "administrator" in message
    assert "account.locked" in actions(ws)

    # While locked even the right password is refused, and the refusal is audited.
    fake_clock.advance(minutes=14)
    with pytest.raises(AuthenticationError, match="locked until"):
        accounts.sign_in(ws, username="ex1", password=EXAMINER_PASSWORD)
    assert last_event(ws).details_dict["reason"] == "account locked"

    fake_clock.advance(minutes=1, seconds=1)
    assert accounts.sign_in(ws, username="ex1", password=EXAMINER_PASSWORD) == examiner
    row = user_row(ws, "ex1")
    assert (row.failed_logins, row.locked_until) == (0, None)


def test_expired_lock_gives_a_fresh_set_of_attempts(
    ws: Workstation, examiner: SignedInUser, fake_clock: Any
) -> None:
    with_lockout(ws, failures=2, minutes=5)
    for _ in range(2):
        with pytest.raises(AuthenticationError):
            accounts.sign_in(ws, username="ex1", password="wrong guess!")
    fake_clock.advance(minutes=6)
    with pytest.raises(AuthenticationError, match=r"^The user name or password is wrong\.$"):
        accounts.sign_in(ws, username="ex1", password="wrong guess!")
    assert user_row(ws, "ex1").failed_logins == 1


def test_success_resets_the_failure_counter(ws: Workstation, examiner: SignedInUser) -> None:
    with_lockout(ws, failures=3, minutes=15)
    for _ in range(2):
        with pytest.raises(AuthenticationError):
            accounts.sign_in(ws, username="ex1", password="wrong guess!")
    accounts.sign_in(ws, username="ex1", password=EXAMINER_PASSWORD)
    for _ in range(2):
        with pytest.raises(AuthenticationError, match=r"^The user name or password is wrong\.$"):
            accounts.sign_in(ws, username="ex1", password="wrong guess!")
    assert user_row(ws, "ex1").locked_until is None


def test_default_lockout_is_five_failures_for_fifteen_minutes(
    ws: Workstation, examiner: SignedInUser, fake_clock: Any
) -> None:
    for _ in range(4):
        with pytest.raises(AuthenticationError):
            accounts.sign_in(ws, username="ex1", password="wrong guess!")
    assert user_row(ws, "ex1").locked_until is None
    with pytest.raises(AuthenticationError, match="locked"):
        accounts.sign_in(ws, username="ex1", password="wrong guess!")
    assert user_row(ws, "ex1").locked_until == fake_clock() + timedelta(minutes=15)


def test_administrator_unlocks_an_account(
    ws: Workstation, admin: SignedInUser, examiner: SignedInUser
) -> None:
    with_lockout(ws, failures=1, minutes=60)
    with pytest.raises(AuthenticationError, match="locked"):
        accounts.sign_in(ws, username="ex1", password="wrong guess!")
    listed = {u.username: u for u in accounts.list_users(ws, by=admin)}
    assert listed["ex1"].locked_until is not None
    summary = accounts.unlock_account(ws, by=admin, user_id=examiner.user_id)
    assert summary.locked_until is None and summary.failed_logins == 0
    event = last_event(ws)
    assert (event.action, event.actor, event.details_dict["was_locked"]) == (
        "account.unlocked",
        "boss",
        True,
    )
    assert accounts.sign_in(ws, username="ex1", password=EXAMINER_PASSWORD) == examiner


def test_inactive_account_is_refused(
    ws: Workstation, admin: SignedInUser, examiner: SignedInUser
) -> None:
    accounts.set_active(ws, by=admin, user_id=examiner.user_id, active=False)
    with pytest.raises(AuthenticationError, match="deactivated"):
        accounts.sign_in(ws, username="ex1", password=EXAMINER_PASSWORD)
    # A wrong password does not reveal that the account exists but is inactive.
    with pytest.raises(AuthenticationError, match=r"^The user name or password is wrong\.$"):
        accounts.sign_in(ws, username="ex1", password="wrong guess!")
    accounts.set_active(ws, by=admin, user_id=examiner.user_id, active=True)
    assert accounts.sign_in(ws, username="ex1", password=EXAMINER_PASSWORD) == examiner


def test_outdated_hash_parameters_are_upgraded_at_sign_in(
    ws: Workstation, admin: SignedInUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    weak = user_row(ws, "boss").password_hash
    production = PasswordHasher()
    assert production.check_needs_rehash(weak)  # the test hasher is cheaper than production
    monkeypatch.setattr(account_rules, "password_hasher", production)
    accounts.sign_in(ws, username="boss", password=ADMIN_PASSWORD)
    upgraded = user_row(ws, "boss").password_hash
    assert upgraded != weak and not production.check_needs_rehash(upgraded)
    assert accounts.sign_in(ws, username="boss", password=ADMIN_PASSWORD) == admin


# ---------------------------------------------------------------------------- session lock
def test_session_lock_and_unlock(ws: Workstation, examiner: SignedInUser, fake_clock: Any) -> None:
    with_lockout(ws, failures=3, minutes=10)
    accounts.lock_session(ws, user=examiner)
    with pytest.raises(AuthenticationError):
        accounts.unlock_session(ws, user=examiner, password="wrong guess!")
    accounts.unlock_session(ws, user=examiner, password=EXAMINER_PASSWORD)
    assert actions(ws)[-3:] == ["session.locked", "session.unlock_failure", "session.unlocked"]


def test_failed_unlocks_count_towards_the_lockout(ws: Workstation, examiner: SignedInUser) -> None:
    with_lockout(ws, failures=2, minutes=10)
    accounts.lock_session(ws, user=examiner)
    with pytest.raises(AuthenticationError):
        accounts.unlock_session(ws, user=examiner, password="wrong guess!")
    with pytest.raises(AuthenticationError, match="locked"):
        accounts.unlock_session(ws, user=examiner, password="wrong guess!")
    with pytest.raises(AuthenticationError, match="locked"):
        accounts.unlock_session(ws, user=examiner, password=EXAMINER_PASSWORD)
    with pytest.raises(AuthenticationError, match="locked"):
        accounts.sign_in(ws, username="ex1", password=EXAMINER_PASSWORD)


def test_sign_out_is_audited(ws: Workstation, examiner: SignedInUser) -> None:
    accounts.sign_out(ws, user=examiner)
    event = last_event(ws)
    assert (event.action, event.actor, event.object_id) == ("logout", "ex1", str(examiner.user_id))


# ---------------------------------------------------------------------------- passwords
def test_change_password(ws: Workstation, examiner: SignedInUser) -> None:
    with pytest.raises(AuthenticationError, match="current password is wrong"):
        accounts.change_password(
            ws, user=examiner, old_password="wrong guess!", new_password="brand new password"
        )
    with pytest.raises(PolicyViolation, match="too short"):
        accounts.change_password(
            ws, user=examiner, old_password=EXAMINER_PASSWORD, new_password="short"
        )
    with pytest.raises(PolicyViolation, match="differ"):
        accounts.change_password(
            ws, user=examiner, old_password=EXAMINER_PASSWORD, new_password=EXAMINER_PASSWORD
        )
    accounts.change_password(
        ws, user=examiner, old_password=EXAMINER_PASSWORD, new_password="brand new password"
    )
    assert last_event(ws).action == "password.changed"
    with pytest.raises(AuthenticationError):
        accounts.sign_in(ws, username="ex1", password=EXAMINER_PASSWORD)
    assert accounts.sign_in(ws, username="ex1", password="brand new password") == examiner


def test_reset_password_lifts_a_lockout(
    ws: Workstation, admin: SignedInUser, examiner: SignedInUser
) -> None:
    with_lockout(ws, failures=1, minutes=60)
    with pytest.raises(AuthenticationError, match="locked"):
        accounts.sign_in(ws, username="ex1", password="wrong guess!")
    with pytest.raises(PolicyViolation, match="too short"):
        accounts.reset_password(ws, by=admin, user_id=examiner.user_id, new_password="short")
    accounts.reset_password(ws, by=admin, user_id=examiner.user_id, new_password="temporary pw 1")
    event = last_event(ws)
    assert (event.action, event.actor, event.object_id) == (
        "password.reset",
        "boss",
        str(examiner.user_id),
    )
    assert "temporary" not in event.details
    assert accounts.sign_in(ws, username="ex1", password="temporary pw 1") == examiner


# ---------------------------------------------------------------------------- administration
def test_create_user_and_list(ws: Workstation, admin: SignedInUser) -> None:
    created = accounts.create_user(
        ws,
        by=admin,
        username="Sam.Super",
        display_name="  Sam   Supervisor ",
        password="supervisor pw",
        roles=[Role.SUPERVISOR, Role.EXAMINER],
    )
    assert created.username == "sam.super"
    assert created.display_name == "Sam Supervisor"
    assert created.roles == frozenset({Role.SUPERVISOR, Role.EXAMINER})
    assert created.active and created.created_by == "boss"
    listed = accounts.list_users(ws, by=admin)
    assert [u.username for u in listed] == ["boss", "sam.super"]
    event = last_event(ws)
    assert event.action == "user.created"
    assert event.details_dict["roles"] == ["examiner", "supervisor"]
    with pytest.raises(PolicyViolation, match="already exists"):
        accounts.create_user(
            ws,
            by=admin,
            username="SAM.SUPER",
            display_name="",
            password="x" * 12,
            roles=[Role.EXAMINER],
        )
    with pytest.raises(PolicyViolation, match="at least one role"):
        accounts.create_user(
            ws, by=admin, username="nobody", display_name="", password="x" * 12, roles=[]
        )
    with pytest.raises(PolicyViolation, match="Unknown role"):
        accounts.create_user(
            ws, by=admin, username="nobody", display_name="", password="x" * 12, roles=["chief"]
        )


def test_administrator_only_functions_refuse_others(
    ws: Workstation, admin: SignedInUser, examiner: SignedInUser
) -> None:
    calls = [
        lambda: accounts.create_user(
            ws, by=examiner, username="x2", display_name="", password="y" * 12, roles=[]
        ),
        lambda: accounts.set_roles(
            ws, by=examiner, user_id=examiner.user_id, roles=[Role.ADMINISTRATOR]
        ),
        lambda: accounts.set_active(ws, by=examiner, user_id=admin.user_id, active=False),
        lambda: accounts.reset_password(
            ws, by=examiner, user_id=admin.user_id, new_password="z" * 12
        ),
        lambda: accounts.unlock_account(ws, by=examiner, user_id=examiner.user_id),
        lambda: accounts.list_users(ws, by=examiner),
        lambda: accounts.user_by_name(ws, by=examiner, username="boss"),
        lambda: accounts.add_training(
            ws,
            by=examiner,
            user_id=examiner.user_id,
            course="Self-certified",
            completed_on=date(2026, 1, 1),
            expires_on=date(2027, 1, 1),
        ),
    ]
    for call in calls:
        with pytest.raises(PermissionDenied, match="Only an active administrator"):
            call()
    with ws.database.session(read_only=True) as session:
        denied = list(iter_events(session, action="permission.denied"))
    assert len(denied) == len(calls)
    assert {e.actor for e in denied} == {"ex1"}
    assert accounts.examiner_facts(ws, user_id=examiner.user_id).roles == {Role.EXAMINER}


def test_administrator_rights_are_checked_in_the_database(
    ws: Workstation, admin: SignedInUser
) -> None:
    second = accounts.create_user(
        ws,
        by=admin,
        username="admin2",
        display_name="",
        password="second admin",
        roles=[Role.ADMINISTRATOR],
    )
    second_signed_in = accounts.sign_in(ws, username="admin2", password="second admin")
    accounts.set_roles(ws, by=admin, user_id=second.user_id, roles=[Role.SUPERVISOR])
    assert second_signed_in.has_role(Role.ADMINISTRATOR)  # the stale snapshot still says so
    with pytest.raises(PermissionDenied):
        accounts.list_users(ws, by=second_signed_in)


def test_last_active_administrator_is_kept(
    ws: Workstation, admin: SignedInUser, examiner: SignedInUser
) -> None:
    with pytest.raises(PolicyViolation, match="last active administrator"):
        accounts.set_roles(ws, by=admin, user_id=admin.user_id, roles=[Role.EXAMINER])
    with pytest.raises(PolicyViolation, match="last active administrator"):
        accounts.set_active(ws, by=admin, user_id=admin.user_id, active=False)
    # With a second administrator the first may step down.
    accounts.set_roles(
        ws, by=admin, user_id=examiner.user_id, roles=[Role.EXAMINER, Role.ADMINISTRATOR]
    )
    summary = accounts.set_roles(ws, by=admin, user_id=admin.user_id, roles=[Role.SUPERVISOR])
    assert summary.roles == frozenset({Role.SUPERVISOR})
    event = last_event(ws)
    assert event.action == "user.roles_changed"
    assert event.details_dict["before"] == ["administrator"]
    assert event.details_dict["after"] == ["supervisor"]


def test_inactive_administrator_does_not_count(ws: Workstation, admin: SignedInUser) -> None:
    other = accounts.create_user(
        ws,
        by=admin,
        username="admin2",
        display_name="",
        password="second admin",
        roles=[Role.ADMINISTRATOR],
    )
    accounts.set_active(ws, by=admin, user_id=other.user_id, active=False)
    with pytest.raises(PolicyViolation, match="last active administrator"):
        accounts.set_roles(ws, by=admin, user_id=admin.user_id, roles=[Role.EXAMINER])


def test_role_change_bumps_the_record_version(
    ws: Workstation, admin: SignedInUser, examiner: SignedInUser
) -> None:
    before = user_row(ws, "ex1").version_id
    accounts.set_roles(
        ws, by=admin, user_id=examiner.user_id, roles=[Role.EXAMINER, Role.LEGAL_ADVISOR]
    )
    assert user_row(ws, "ex1").version_id == before + 1


def test_user_by_name(ws: Workstation, admin: SignedInUser, examiner: SignedInUser) -> None:
    assert accounts.user_by_name(ws, by=admin, username="EX1").user_id == examiner.user_id
    with pytest.raises(NotFound, match="no user named 'ghost'"):
        accounts.user_by_name(ws, by=admin, username="ghost")


# ---------------------------------------------------------------------------- training and policy
def test_training_records_and_their_rules(
    ws: Workstation, admin: SignedInUser, examiner: SignedInUser, fake_clock: Any
) -> None:
    today = fake_clock().date()
    entry = accounts.add_training(
        ws,
        by=admin,
        user_id=examiner.user_id,
        course=" Facial  comparison ",
        completed_on=today - timedelta(days=30),
        expires_on=today + timedelta(days=335),
    )
    assert entry.course == "Facial comparison"
    assert entry.is_current(today) and not entry.is_current(today + timedelta(days=336))
    assert entry.recorded_by == "boss"
    bad = [
        ("", today, today, "Name the course"),
        ("Law", today + timedelta(days=1), today + timedelta(days=5), "future"),
        ("Law", today - timedelta(days=5), today - timedelta(days=6), "before the completion"),
    ]
    for course, completed, expires, message in bad:
        with pytest.raises(PolicyViolation, match=message):
            accounts.add_training(
                ws,
                by=admin,
                user_id=examiner.user_id,
                course=course,
                completed_on=completed,
                expires_on=expires,
            )
    facts = accounts.examiner_facts(ws, user_id=examiner.user_id)
    assert [(t.course, t.completed_on, t.expires_on) for t in facts.training] == [
        ("Facial comparison", today - timedelta(days=30), today + timedelta(days=335))
    ]
    event = last_event(ws)
    assert event.action == "training.recorded"
    assert event.details_dict["expires_on"] == (today + timedelta(days=335)).isoformat()


def test_policy_acknowledgment_and_examiner_facts(
    ws: Workstation, admin: SignedInUser, examiner: SignedInUser
) -> None:
    sha = "ab" * 32
    first = accounts.acknowledge_policy(
        ws, user=examiner, profile_name="mptc-2019", profile_version="1", profile_sha256=sha
    )
    again = accounts.acknowledge_policy(
        ws, user=examiner, profile_name="mptc-2019", profile_version="1", profile_sha256=sha
    )
    assert again == first
    accounts.acknowledge_policy(
        ws, user=examiner, profile_name="mptc-2019", profile_version="2", profile_sha256="cd" * 32
    )
    assert actions(ws).count("policy.acknowledged") == 2
    facts = accounts.examiner_facts(ws, user_id=examiner.user_id)
    assert facts.active and facts.roles == frozenset({Role.EXAMINER})
    assert facts.has_role(Role.EXAMINER)
    assert [(a.profile_name, a.profile_version, a.profile_sha256) for a in facts.acknowledged] == [
        ("mptc-2019", "1", sha),
        ("mptc-2019", "2", "cd" * 32),
    ]
    accounts.set_active(ws, by=admin, user_id=examiner.user_id, active=False)
    assert accounts.examiner_facts(ws, user_id=examiner.user_id).active is False
    with pytest.raises(PermissionDenied, match="deactivated"):
        accounts.acknowledge_policy(
            ws, user=examiner, profile_name="x", profile_version="1", profile_sha256=sha
        )
    with pytest.raises(NotFound):
        accounts.examiner_facts(ws, user_id=9999)
    summary = accounts.user_by_name(ws, by=admin, username="ex1")
    assert len(summary.acknowledged) == 2


def test_my_account(ws: Workstation, examiner: SignedInUser) -> None:
    mine = accounts.my_account(ws, user=examiner)
    assert (mine.username, mine.display_name, mine.roles) == (
        "ex1",
        "Erin Examiner",
        frozenset({Role.EXAMINER}),
    )


def test_everything_above_leaves_an_intact_audit_chain(
    ws: Workstation, admin: SignedInUser, examiner: SignedInUser
) -> None:
    with pytest.raises(AuthenticationError):
        accounts.sign_in(ws, username="ex1", password="wrong guess!")
    accounts.set_roles(ws, by=admin, user_id=examiner.user_id, roles=[Role.SUPERVISOR])
    report = verify_audit_chain(ws, by=admin)
    assert report.ok and report.events_checked == len(actions(ws)) - 1
    event = last_event(ws)
    assert (event.action, event.actor) == ("audit.verified", "boss")
    assert event.details_dict["ok"] is True
    assert verify_audit_chain(ws).ok
