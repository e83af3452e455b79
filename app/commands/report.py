"""``frx report``: issue lead and no-lead reports, verify a report file, release reports.

    frx report issue --comparison ID --as USER          lead report (or its next version)
    frx report no-lead --request REQ --as USER           no-lead report of a concluded request
    frx report verify FILE.pdf                           exit 0: an unaltered report of ours
    frx report disseminate REPORT --agency ... --as USER record a release (MPTC IV.G)
    frx report export REPORT --to FILE --dissemination ID --as USER
    frx report list / show / recipient-types

REPORT is a report's id or its number (``FRX-2026-000001``, the current version unless
``--version`` is given). Every action runs as a signed-in user named with ``--as`` (password
from a prompt or one line of standard input); ``verify`` needs no account. This module also
registers ``frx disclosure`` and ``frx retention`` (see :mod:`app.commands.release`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from app.casework import dissemination, report_verify, reports, requests
from app.casework.accounts import SignedInUser
from app.casework.report_views import ReportSummary, ReportVerification
from app.casework.workstation import Workstation
from app.commands import release
from app.commands._common import authenticate, open_workstation
from app.errors import InvalidInput

Action = Callable[[Workstation, SignedInUser, argparse.Namespace], int]


def write(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def signed_in(action: Action) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        with open_workstation() as ws:
            user = authenticate(ws, args.as_user)
            return action(ws, user, args)

    return handler


def add_as(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    parser.add_argument(
        "--as",
        dest="as_user",
        metavar="USER",
        required=required,
        help="act as this user; the password is asked for or read from stdin",
    )


# ----------------------------------------------------------------------------- registration
def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("report", help="issue, verify and release reports")
    sub = parser.add_subparsers(dest="report_command", metavar="ACTION", required=True)

    issue = sub.add_parser("issue", help="issue the lead report of a reviewed possible lead")
    issue.add_argument("--comparison", type=int, required=True, metavar="ID")
    issue.add_argument("--reason", default="", help="why it is issued again (a new version)")
    add_as(issue)
    issue.set_defaults(handler=signed_in(_issue))

    no_lead = sub.add_parser("no-lead", help="issue the no-lead report of a concluded request")
    no_lead.add_argument("--request", required=True, metavar="REQ", help="id or request number")
    no_lead.add_argument("--reason", default="", help="why it is issued again (a new version)")
    add_as(no_lead)
    no_lead.set_defaults(handler=signed_in(_no_lead))

    verify = sub.add_parser(
        "verify", help="is FILE an unaltered report issued here? (exit 0 yes, 1 no)"
    )
    verify.add_argument("file", type=Path, metavar="FILE.pdf")
    add_as(verify, required=False)
    verify.set_defaults(handler=_verify)

    listing = sub.add_parser("list", help="report versions, newest first")
    listing.add_argument("--request", metavar="REQ", help="only this request's reports")
    add_as(listing)
    listing.set_defaults(handler=signed_in(_list))

    show = sub.add_parser("show", help="one report with its releases")
    _add_report(show)
    add_as(show)
    show.set_defaults(handler=signed_in(_show))

    types = sub.add_parser("recipient-types", help="who a report may be released to")
    types.set_defaults(handler=_types)

    send = sub.add_parser("disseminate", help="record a release of a report (MPTC IV.G)")
    _add_report(send)
    send.add_argument("--agency", required=True, help="the receiving agency")
    send.add_argument("--official", required=True, help="the receiving official")
    send.add_argument("--type", required=True, dest="recipient_type", help="see recipient-types")
    send.add_argument("--need-to-know", required=True, help="why the recipient needs to know")
    send.add_argument("--method", required=True, help="e.g. 'PDF by secure email'")
    add_as(send)
    send.set_defaults(handler=signed_in(_disseminate))

    export = sub.add_parser("export", help="write a report to a file for a recorded release")
    _add_report(export)
    export.add_argument("--to", required=True, type=Path, metavar="FILE", dest="destination")
    export.add_argument("--dissemination", type=int, required=True, metavar="ID")
    add_as(export)
    export.set_defaults(handler=signed_in(_export))

    # frx disclosure / frx retention, unless the command list already registers them.
    for name, add in (
        ("disclosure", release.register_disclosure),
        ("retention", release.register_retention),
    ):
        if name not in subparsers.choices:
            add(subparsers)


def _add_report(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("report", metavar="REPORT", help="report id or number (FRX-...)")
    parser.add_argument("--version", type=int, help="a given version of the report number")


def _report_id(ws: Workstation, args: argparse.Namespace) -> int:
    return reports.find_report_id(ws, reference=args.report, version=args.version)


# ----------------------------------------------------------------------------- output
def report_lines(report: ReportSummary) -> None:
    state = (
        "current" if report.is_current else f"SUPERSEDED (by report id {report.superseded_by_id})"
    )
    write(f"{report.title}: {state}")
    write(f"  Report id:    {report.report_id}")
    write(f"  Request:      {report.request_number}")
    write(f"  Issued:       {report.issued_at:%Y-%m-%d %H:%M:%S} UTC by {report.issued_by}")
    write(f"  SHA-256:      {report.pdf_sha256} ({report.pdf_size} bytes)")
    write(f"  Fingerprint:  {report.content_fingerprint}")
    for d in report.disseminations:
        write(
            f"  Released #{d.dissemination_id}: {d.released_at:%Y-%m-%d %H:%M} UTC to "
            f"{d.official}, {d.recipient_agency} ({d.recipient_type_label}) by {d.released_by}; "
            f"{d.method}; need to know: {d.need_to_know}"
        )


def verification_lines(result: ReportVerification) -> None:
    write(result.message)
    write(f"  SHA-256 of the file: {result.sha256} ({result.size} bytes)")
    if result.report is not None:
        write(
            f"  Report id: {result.report.report_id}; "
            f"fingerprint {result.report.content_fingerprint}"
        )


# ----------------------------------------------------------------------------- actions
def _issue(ws: Workstation, user: SignedInUser, args: argparse.Namespace) -> int:
    report = reports.issue_lead_report(
        ws, user=user, comparison_id=args.comparison, reason=args.reason
    )
    report_lines(report)
    return 0


def _no_lead(ws: Workstation, user: SignedInUser, args: argparse.Namespace) -> int:
    request = requests.find_request(ws, user=user, reference=args.request)
    report = reports.issue_no_lead_report(
        ws, user=user, request_id=request.request_id, reason=args.reason
    )
    report_lines(report)
    return 0


def _verify(args: argparse.Namespace) -> int:
    path: Path = args.file
    if not path.is_file():
        raise InvalidInput(f"{path} is not a file.")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"{path} cannot be read: {exc.strerror or exc}.") from exc
    with open_workstation() as ws:
        user = authenticate(ws, args.as_user) if args.as_user else None
        result = report_verify.verify_report_file(ws, data=data, user=user)
    verification_lines(result)
    return 0 if result.valid else 1


def _list(ws: Workstation, user: SignedInUser, args: argparse.Namespace) -> int:
    request_id = None
    if args.request:
        request_id = requests.find_request(ws, user=user, reference=args.request).request_id
    found = reports.list_reports(ws, user=user, request_id=request_id)
    if not found:
        write("No reports.")
    for report in found:
        state = "current" if report.is_current else "superseded"
        write(
            f"{report.report_id:>5}  {report.report_number} v{report.version}  {report.kind:<8} "
            f"{state:<10} case {report.case_number}  {report.issued_at:%Y-%m-%d %H:%M} UTC  "
            f"{report.issued_by}"
        )
    return 0


def _show(ws: Workstation, user: SignedInUser, args: argparse.Namespace) -> int:
    report_lines(reports.get_report(ws, user=user, report_id=_report_id(ws, args)))
    return 0


def _types(args: argparse.Namespace) -> int:
    with open_workstation() as ws:
        for kind in ws.profile.recipient_types:
            allowed = "may receive reports" if kind.law_enforcement else "may NOT receive reports"
            write(f"{kind.code:<28} {kind.label} ({allowed}; {kind.clause})")
    return 0


def _disseminate(ws: Workstation, user: SignedInUser, args: argparse.Namespace) -> int:
    release_row = dissemination.disseminate(
        ws,
        user=user,
        report_id=_report_id(ws, args),
        recipient_agency=args.agency,
        official=args.official,
        recipient_type=args.recipient_type,
        need_to_know=args.need_to_know,
        method=args.method,
    )
    write(
        f"Release recorded: dissemination {release_row.dissemination_id} of report "
        f"{release_row.report_number} version {release_row.report_version} to "
        f"{release_row.official}, {release_row.recipient_agency}."
    )
    write(
        f"Print or export it with --dissemination {release_row.dissemination_id}; "
        "every print and export is recorded."
    )
    return 0


def _export(ws: Workstation, user: SignedInUser, args: argparse.Namespace) -> int:
    written = dissemination.export_report(
        ws,
        user=user,
        report_id=_report_id(ws, args),
        destination=args.destination,
        dissemination_id=args.dissemination,
    )
    write(f"Report written to {written.path} (SHA-256 {written.sha256}).")
    return 0
