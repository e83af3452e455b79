"""``frx gallery``: bulk import, list, seal/unseal, expunge, and the face index's status/rebuild.

Changes run as a signed-in user named with ``--as`` (password asked for, or read from stdin).
The import shows a progress bar on stderr; Ctrl-C stops it cleanly after the chunk in hand (a
second Ctrl-C interrupts at once) and running the same command again continues.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from app.casework import gallery, index_sync
from app.casework.accounts import SignedInUser
from app.casework.gallery_import import import_gallery
from app.casework.gallery_manifest import OPTIONAL_COLUMNS, REQUIRED_COLUMNS
from app.casework.gallery_reembed import reembed_gallery
from app.casework.workstation import Workstation
from app.commands._common import (
    ProgressBar,
    authenticate,
    cancel_on_interrupt,
    open_workstation,
)

Action = Callable[[Workstation, SignedInUser, argparse.Namespace], int]


def _add_as(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--as",
        dest="as_user",
        metavar="USER",
        required=True,
        help=f"act as this user ({what}); the password is asked for or read from stdin",
    )


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "gallery", help="gallery of lawfully held photos: import, list, seal, index"
    )
    sub = parser.add_subparsers(dest="gallery_command", metavar="ACTION", required=True)

    imp = sub.add_parser(
        "import",
        help="import the photos a CSV manifest lists",
        description=(
            "Import gallery photos. Manifest columns (CSV, header row): required "
            f"{', '.join(REQUIRED_COLUMNS)}; optional {', '.join(OPTIONAL_COLUMNS)}; any other "
            "column is kept as a descriptor of the subject (never used to rank). Dates are "
            "YYYY-MM-DD; file paths are relative to --folder."
        ),
    )
    imp.add_argument("--folder", required=True, type=Path, metavar="DIR")
    imp.add_argument("--manifest", required=True, type=Path, metavar="FILE.csv")
    imp.add_argument("--workers", type=int, default=None, metavar="N", help="decoding threads")
    _add_as(imp, "a supervisor or administrator")
    imp.set_defaults(handler=_signed_in(_import))

    listing = sub.add_parser("list", help="gallery counts and subjects")
    listing.add_argument("--reference", metavar="PREFIX", help="subject references starting so")
    listing.add_argument("--name", metavar="TEXT", help="names containing this text")
    listing.add_argument("--sealed", action="store_true", help="include sealed subjects")
    listing.add_argument("--limit", type=int, default=50, metavar="N")
    _add_as(listing, "any active user; --sealed: a supervisor or administrator")
    listing.set_defaults(handler=_signed_in(_list))

    for action in ("seal", "unseal"):
        cmd = sub.add_parser(action, help=f"{action} a subject (or one photo with --photo)")
        target = cmd.add_mutually_exclusive_group(required=True)
        target.add_argument("reference", nargs="?", metavar="REF", help="subject reference")
        target.add_argument("--photo", type=int, metavar="ID", help="one photo by number")
        cmd.add_argument("--reason", required=True, metavar="TEXT")
        _add_as(cmd, "a supervisor or administrator")
        cmd.set_defaults(handler=_signed_in(_seal), seal=action == "seal")

    expunge = sub.add_parser("expunge", help="delete a subject and their photos for good")
    expunge.add_argument("reference", metavar="REF")
    expunge.add_argument("--reason", required=True, metavar="TEXT")
    _add_as(expunge, "a supervisor or administrator")
    expunge.set_defaults(handler=_signed_in(_expunge))

    reembed = sub.add_parser(
        "reembed", help="describe photos again after a model or its manifest changed"
    )
    reembed.add_argument("--model", metavar="NAME", help="default: the configured model")
    reembed.add_argument("--workers", type=int, default=0, metavar="N", help="processes")
    _add_as(reembed, "a supervisor or administrator")
    reembed.set_defaults(handler=_signed_in(_reembed))

    status = sub.add_parser("index-status", help="the face index compared with the database")
    status.add_argument("--model", metavar="NAME", help="default: the configured model")
    status.set_defaults(handler=_index_status)

    rebuild = sub.add_parser("rebuild-index", help="rebuild the face index from the database")
    rebuild.add_argument("--model", metavar="NAME", help="default: the configured model")
    rebuild.set_defaults(handler=_rebuild_index)


def _signed_in(action: Action) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        with open_workstation() as ws:
            by = authenticate(ws, args.as_user)
            return action(ws, by, args)

    return handler


# ------------------------------------------------------------------------------ actions
def _import(ws: Workstation, by: SignedInUser, args: argparse.Namespace) -> int:
    bar = ProgressBar("Importing")
    try:
        with cancel_on_interrupt() as cancelled:
            result = import_gallery(
                ws,
                by=by,
                folder=args.folder,
                manifest_csv=args.manifest,
                progress=bar,
                cancelled=cancelled,
                workers=args.workers,
            )
    finally:
        bar.close()
    out = sys.stdout
    out.write(
        f"Import {result.status}: {result.rows_processed} of {result.rows_total} rows in "
        f"{result.seconds:.1f} s ({result.photos_per_second:.1f} rows/s)\n"
        f"  enrolled:              {result.enrolled}\n"
        f"  already in gallery:    {result.already_in_gallery}\n"
        f"  failed:                {result.failed}\n"
        f"  gallery generation:    {result.generation}\n"
    )
    if result.error_report_path is not None:
        out.write(f"Error report (row, file, reason): {result.error_report_path}\n")
    if result.status == "cancelled":
        out.write("The import was cancelled; run the same command again to continue.\n")
        return 1
    return 1 if result.failed else 0


def _date_text(value: object) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else "-"


def _list(ws: Workstation, by: SignedInUser, args: argparse.Namespace) -> int:
    stats = gallery.gallery_stats(ws)
    out = sys.stdout
    out.write(
        f"Gallery: {stats.subjects} subjects ({stats.sealed_subjects} sealed), {stats.photos} "
        f"photos ({stats.sealed_photos} sealed), {stats.searchable_photos} searchable; "
        f"generation {stats.generation}\n"
    )
    subjects = gallery.find_subjects(
        ws,
        by=by,
        reference_prefix=args.reference,
        name_contains=args.name,
        include_sealed=args.sealed,
        limit=args.limit,
    )
    rows = [("REFERENCE", "NAME", "BORN", "PHOTOS", "SEARCHABLE", "LATEST PHOTO", "STATUS")]
    for s in subjects:
        rows.append(
            (
                s.subject_reference,
                s.name,
                _date_text(s.date_of_birth),
                str(s.photo_count),
                str(s.searchable_photo_count),
                _date_text(s.most_recent_photo_date),
                "SEALED" if s.sealed else "",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        out.write("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() + "\n")
    if len(subjects) >= args.limit:
        out.write(f"(first {args.limit} shown; narrow with --reference or --name)\n")
    return 0


def _seal(ws: Workstation, by: SignedInUser, args: argparse.Namespace) -> int:
    if args.photo is not None:
        do = gallery.seal_photo if args.seal else gallery.unseal_photo
        result = do(ws, by=by, photo_id=args.photo, reason=args.reason)
        what = f"Photo {args.photo} of subject {result.subject_reference}"
    else:
        act = gallery.seal_subject if args.seal else gallery.unseal_subject
        result = act(ws, by=by, subject_reference=args.reference, reason=args.reason)
        count = len(result.photo_ids)
        what = f"Subject {result.subject_reference} ({count} photo{'' if count == 1 else 's'})"
    state = "sealed: out of every search from now on" if args.seal else "unsealed"
    sys.stdout.write(f"{what} {state}. Gallery generation {result.generation}.\n")
    return 0


def _expunge(ws: Workstation, by: SignedInUser, args: argparse.Namespace) -> int:
    result = gallery.expunge_subject(
        ws, by=by, subject_reference=args.reference, reason=args.reason
    )
    sys.stdout.write(
        f"Subject {result.subject_reference} expunged: {result.photos_removed} photos removed "
        f"from the gallery, {result.evidence_files_removed} photo files deleted. The audit log "
        "keeps the photos' hashes.\n"
    )
    return 0


def _index_status(args: argparse.Namespace) -> int:
    with open_workstation() as ws:
        report = index_sync.index_report(ws, model=args.model)
    out = sys.stdout
    out.write(
        f"Model:                  {report.model_name}\nIndex folder:           {report.path}\n"
    )
    out.write(f"Database generation:    {report.database_generation}\n")
    out.write(f"Searchable in database: {report.live_photos_in_database}\n")
    if report.problem:
        out.write(f"Index:                  NOT USABLE: {report.problem}\n")
        return 1
    out.write(
        f"Index generation:       {report.generation}\n"
        f"Searchable in index:    {report.live_photos_in_index} "
        f"({report.deleted_in_index} deleted entries)\n"
        f"Layout:                 {report.layout}\n"
    )
    if report.rebuild_due:
        out.write(
            "The gallery has grown past the size where the index is organised on principal "
            "components; the next search rebuilds it.\n"
        )
    if report.photos_needing_descriptors:
        out.write(
            f"{report.photos_needing_descriptors} gallery photos have no current descriptor of "
            "this model and cannot be found; run 'frx gallery reembed'.\n"
        )
    if report.generation != report.database_generation:
        out.write("The index is behind the database; it catches up at the next search.\n")
    return 0


def _reembed(ws: Workstation, by: SignedInUser, args: argparse.Namespace) -> int:
    bar = ProgressBar("Describing")
    try:
        with cancel_on_interrupt() as cancelled:
            result = reembed_gallery(
                ws,
                by=by,
                model=args.model,
                progress=bar,
                cancelled=cancelled,
                workers=args.workers,
            )
    finally:
        bar.close()
    sys.stdout.write(
        f"{result.described} of {result.photos} photos described with {result.model_name}; "
        f"gallery generation {result.generation}.\n"
    )
    for photo_id, reason in result.failed:
        sys.stdout.write(f"  photo {photo_id}: {reason}\n")
    return 1 if result.failed else 0


def _rebuild_index(args: argparse.Namespace) -> int:
    bar = ProgressBar("Rebuilding")
    try:
        with open_workstation() as ws, cancel_on_interrupt() as cancelled:
            status = index_sync.rebuild_index(
                ws, model=args.model, progress=bar, cancelled=cancelled
            )
    finally:
        bar.close()
    sys.stdout.write(
        f"Index of {status.model_name} rebuilt: {status.live_photos} searchable photos, "
        f"generation {status.generation}.\n"
    )
    return 0
