"""``frx init``, ``frx user ...`` and ``frx audit verify``: in a subprocess and in-process."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from app import cli
from app.commands import _common

REPO_ROOT = Path(__file__).resolve().parents[2]
ADMIN_PW = "admin password 1"


def frx(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=dict(os.environ),
        timeout=120,
        check=False,
    )


def run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str, stdin: str = ""
) -> tuple[int, str, str]:
    """Run ``frx`` in this process with ``stdin`` (not a terminal) as standard input."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def tamper(database_url: str, statement: str) -> None:
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text(statement))
    engine.dispose()


def test_init_then_verify_then_tamper(database_url: str) -> None:
    created = frx(
        "init", "--admin", "Chief", "--display-name", "Chief Admin", stdin=f"{ADMIN_PW}\n"
    )
    assert created.returncode == 0, created.stderr
    assert "Created administrator 'chief' (Chief Admin)" in created.stdout
    assert ADMIN_PW not in created.stdout + created.stderr

    intact = frx("audit", "verify")
    assert intact.returncode == 0, intact.stderr
    assert intact.stdout.strip() == "audit chain intact: 1 events"

    tamper(database_url, "UPDATE audit_events SET actor = 'mallory' WHERE sequence = 1")
    broken = frx("audit", "verify")
    assert broken.returncode == 1
    assert "event 1" in broken.stdout and "altered" in broken.stdout


def test_init_refuses_when_users_exist(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(monkeypatch, capsys, "init", "--admin", "chief", stdin=f"{ADMIN_PW}\n")[0] == 0
    code, _, err = run(monkeypatch, capsys, "init", "--admin", "other", stdin=f"{ADMIN_PW}\n")
    assert code == 2
    assert "already has users" in err and "Traceback" not in err


def test_init_rejects_a_weak_password_and_creates_nothing(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(monkeypatch, capsys, "init", "--admin", "chief", stdin="short\n")
    assert code == 2 and "too short" in err
    code, _, err = run(monkeypatch, capsys, "init", "--admin", "chief", stdin="")
    assert code == 2 and "No password was given" in err
    assert run(monkeypatch, capsys, "init", "--admin", "chief", stdin=f"{ADMIN_PW}\n")[0] == 0


def test_user_administration_from_the_command_line(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def frx_as_admin(*args: str, extra: str = "") -> tuple[int, str, str]:
        return run(monkeypatch, capsys, *args, "--as", "chief", stdin=f"{ADMIN_PW}\n{extra}")

    assert run(monkeypatch, capsys, "init", "--admin", "chief", stdin=f"{ADMIN_PW}\n")[0] == 0
    code, out, err = frx_as_admin(
        "user",
        "add",
        "ex1",
        "--roles",
        "examiner",
        "--display-name",
        "Erin",
        extra="ex1 pass 123\n",
    )
    assert code == 0, err
    assert "Created user 'ex1' with roles examiner" in out

    code, out, _ = frx_as_admin(
        "user",
        "train",
        "ex1",
        "--course",
        "FR examiner",
        "--completed",
        "2026-01-10",
        "--expires",
        "2027-01-10",
    )
    assert code == 0 and "Recorded training 'FR examiner'" in out

    code, out, _ = frx_as_admin("user", "roles", "ex1", "examiner,supervisor")
    assert code == 0 and "examiner,supervisor" in out

    code, out, _ = frx_as_admin("user", "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["USER", "NAME", "ROLES", "STATUS", "TRAINING"]
    ex1 = next(line for line in lines if line.startswith("ex1"))
    assert "examiner,supervisor" in ex1 and "active" in ex1 and "FR examiner" in ex1
    today = date.today()
    assert ("EXPIRED" in ex1) == (today > date(2027, 1, 10))

    # Five wrong passwords (the default limit) lock the account; an administrator unlocks it.
    for _ in range(5):
        code, _, err = run(monkeypatch, capsys, "user", "list", "--as", "ex1", stdin="wrong!\n")
        assert code == 2
    assert "locked until" in err
    code, out, _ = frx_as_admin("user", "list")
    assert "locked until" in next(line for line in out.splitlines() if line.startswith("ex1"))
    code, out, _ = frx_as_admin("user", "unlock", "ex1")
    assert code == 0 and "unlocked" in out

    # An examiner is no administrator (refused, exit 2, one plain line).
    code, _, err = run(monkeypatch, capsys, "user", "list", "--as", "ex1", stdin="ex1 pass 123\n")
    assert code == 2 and err.strip() == "frx: Only an active administrator can list users."
    code, _, err = run(
        monkeypatch,
        capsys,
        "user",
        "add",
        "ex2",
        "--roles",
        "examiner",
        "--as",
        "ex1",
        stdin="ex1 pass 123\nnever read 123\n",
    )
    assert code == 2 and "Only an active administrator can create users" in err

    code, out, _ = frx_as_admin("user", "reset-password", "ex1", extra="reset pass 123\n")
    assert code == 0 and "has been reset" in out
    code, out, err = run(
        monkeypatch,
        capsys,
        "user",
        "passwd",
        "--as",
        "ex1",
        stdin="reset pass 123\nmy own pass 1\n",
    )
    assert code == 0, err
    code, out, _ = frx_as_admin("user", "deactivate", "ex1")
    assert code == 0 and "inactive" in out
    code, _, err = run(
        monkeypatch, capsys, "user", "passwd", "--as", "ex1", stdin="my own pass 1\n"
    )
    assert code == 2 and "deactivated" in err

    code, _, err = frx_as_admin("user", "roles", "ghost", "examiner")
    assert code == 2 and "no user named 'ghost'" in err

    code, out, _ = run(monkeypatch, capsys, "audit", "verify")
    assert code == 0 and out.startswith("audit chain intact: ")


def test_bad_role_and_date_are_usage_errors(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run(monkeypatch, capsys, "user", "add", "x1", "--roles", "chief", "--as", "a")
    assert exit_info.value.code == 2
    assert "Unknown role 'chief'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        run(
            monkeypatch,
            capsys,
            "user",
            "train",
            "x1",
            "--course",
            "c",
            "--completed",
            "01/02/2026",
            "--expires",
            "2027-01-01",
            "--as",
            "a",
        )
    assert "not a date" in capsys.readouterr().err


def test_read_password_from_a_terminal_asks_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    answers = iter(["first secret", "first secret", "one", "two"])
    prompts: list[str] = []

    def fake_getpass(prompt: str = "") -> str:
        prompts.append(prompt)
        return next(answers)

    monkeypatch.setattr(sys, "stdin", Terminal())
    monkeypatch.setattr(_common.getpass, "getpass", fake_getpass)
    assert _common.read_password("New password: ", confirm=True) == "first secret"
    assert prompts == ["New password: ", "Type it again: "]
    with pytest.raises(Exception, match="not the same"):
        _common.read_password("New password: ", confirm=True)


def test_read_password_from_stdin_keeps_spaces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("  spaced secret  \r\nsecond\n"))
    assert _common.read_password("p: ", confirm=True) == "  spaced secret  "
    assert _common.read_password("p: ", confirm=False) == "second"
