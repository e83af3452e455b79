"""``frx admin``: back up a workstation, check a backup, restore one into an empty data folder.

``frx admin backup --output DIR --as ADMIN`` (administrators only) writes a new folder with a
snapshot of the SQLite database, every evidence file, ``settings.toml`` and a manifest, and
prints the manifest's SHA-256 (also recorded in the audit log as ``admin.backup_made``).
``frx admin verify-backup DIR`` needs no database and no sign-in: exit 0 when the backup is
intact, 1 when it is damaged, 2 when it cannot be read. ``frx admin restore DIR`` restores into
the empty or new data folder FRX_DATA_DIR names (never over an existing database).
``frx admin check`` is the workstation's health check (:mod:`app.commands.admin_check`).
Progress is shown on stderr; Ctrl-C stops cleanly and leaves nothing half-written behind.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.casework.accounts import SignedInUser
from app.casework.backup import BackupVerdict, make_backup, verify_backup
from app.casework.backup_restore import restore_backup
from app.casework.workstation import Workstation
from app.commands import admin_check
from app.commands._common import ProgressBar, add_as_user, cancel_on_interrupt, signed_in

LISTED = 20  # files of each kind printed before "and N more"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "admin",
        help="back up the workstation, check a backup, restore a backup, check the workstation",
    )
    sub = parser.add_subparsers(dest="admin_command", metavar="ACTION", required=True)
    backup = sub.add_parser(
        "backup", help="back up the database, evidence and settings into a new folder"
    )
    backup.add_argument("--output", required=True, type=Path, metavar="DIR")
    add_as_user(backup)
    backup.set_defaults(handler=signed_in(_backup))

    verify = sub.add_parser(
        "verify-backup",
        help="check a backup folder (no database; exit 1 when damaged, 2 unreadable)",
    )
    verify.add_argument("folder", type=Path, metavar="DIR")
    verify.add_argument(
        "--manifest-sha256",
        metavar="HEX",
        help="the manifest's SHA-256 printed by the backup (and in its audit event)",
    )
    verify.set_defaults(handler=_verify)

    restore = sub.add_parser(
        "restore", help="restore a backup into an empty or new data folder (FRX_DATA_DIR)"
    )
    restore.add_argument("folder", type=Path, metavar="DIR")
    restore.set_defaults(handler=_restore)

    admin_check.register(sub)


def _backup(ws: Workstation, by: SignedInUser, args: argparse.Namespace) -> int:
    bar = ProgressBar("Backing up")
    try:
        with cancel_on_interrupt() as cancelled:
            result = make_backup(ws, by=by, output=args.output, progress=bar, cancelled=cancelled)
    finally:
        bar.close()
    out = sys.stdout
    out.write(
        f"Backup written to {result.folder}: {_count(result.files, 'file')} besides the manifest "
        f"({_count(result.evidence_files, 'evidence file')}), {_count(result.bytes, 'byte')}.\n"
    )
    if result.database_included:
        out.write(f"The database snapshot ends at audit event {result.last_audit_sequence}.\n")
    else:
        out.write(
            "The database is PostgreSQL and is NOT in this backup: back it up with the agency's "
            "PostgreSQL tools (pg_dump).\n"
        )
    out.write(
        "Not included: the face models (frx model install-default) and the search index "
        "(rebuilt from the database).\n"
    )
    out.write(f"Manifest SHA-256: {result.manifest_sha256}\n")
    return 0


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _list(label: str, items: list[str]) -> None:
    if not items:
        return
    sys.stdout.write(f"{label} ({len(items)}):\n")
    for item in items[:LISTED]:
        sys.stdout.write(f"  {item}\n")
    if len(items) > LISTED:
        sys.stdout.write(f"  and {len(items) - LISTED} more\n")


def _report(verdict: BackupVerdict) -> None:
    _list("Missing files", verdict.missing)
    _list("Altered files", verdict.altered)
    _list("Files not in the manifest", verdict.extra)
    for problem in verdict.problems:
        sys.stdout.write(f"{problem}\n")


def _verify(args: argparse.Namespace) -> int:
    bar = ProgressBar("Checking")
    try:
        with cancel_on_interrupt() as cancelled:
            verdict = verify_backup(
                args.folder,
                expected_manifest_sha256=args.manifest_sha256,
                progress=bar,
                cancelled=cancelled,
            )
    finally:
        bar.close()
    _report(verdict)
    if not verdict.database_included:
        sys.stdout.write("The database is not in this backup (PostgreSQL: use pg_dump).\n")
    if verdict.ok:
        sys.stdout.write(
            f"Backup intact: {_count(verdict.files, 'file')}, {_count(verdict.bytes, 'byte')}; "
            "manifest SHA-256 "
            f"{verdict.manifest_sha256}.\n"
        )
        return 0
    sys.stdout.write(f"Backup DAMAGED; manifest SHA-256 {verdict.manifest_sha256}.\n")
    return 1


def _restore(args: argparse.Namespace) -> int:
    bar = ProgressBar("Restoring")
    try:
        with cancel_on_interrupt() as cancelled:
            result = restore_backup(args.folder, progress=bar, cancelled=cancelled)
    finally:
        bar.close()
    out = sys.stdout
    out.write(
        f"Restored into {result.data_dir}: {_count(result.evidence_files, 'evidence file')}"
        + (", settings.toml" if result.settings_restored else "")
        + (f", the database ({result.database_path})" if result.database_restored else "")
        + ".\n"
    )
    if result.database_restored:
        out.write(
            f"Recorded admin.restored naming the backup's manifest SHA-256 "
            f"{result.manifest_sha256}.\n"
        )
    else:
        out.write(
            "The backup holds no database (PostgreSQL): restore it with the agency's PostgreSQL "
            "tools (pg_restore or psql).\n"
        )
    out.write(
        "Next: install the face model (frx model install-default, or start the workstation); "
        "the search index is rebuilt from the database at the first search.\n"
    )
    return 0
