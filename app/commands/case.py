"""``frx case``: run a whole case headless - open a request, add and edit the probe, search, print
the candidate list, compare, review (or skip the review), and show the case.

Every action runs as a signed-in user named with ``--as`` (password from a prompt, or one line
of standard input). The command line calls the same casework as the GUI, so every policy rule
refuses here exactly as it does there.

Worksheet answers for ``compare`` and ``review`` come from a TOML or JSON file::

    conclusion = "possible_lead"          # optional
    [answers]
    eyes = "similar"
    scars = { answer = "similar", note = "Scar over the left eyebrow in both" }

or from ``--answer ITEM=ANSWER`` options (``--note ITEM=TEXT`` adds a note); answers are
similar, not_similar or not_visible.
"""

from __future__ import annotations

import argparse
import json
import tomllib
from pathlib import Path
from typing import Any

from app.casework import comparisons, probes, requests, reviews, search
from app.casework.accounts import SignedInUser, acknowledge_policy, examiner_facts
from app.casework.comparisons import AnswerInput
from app.casework.workstation import Workstation
from app.commands import _case_output as out
from app.commands._common import add_as_user as _add_as
from app.commands._common import iso_moment as _moment
from app.commands._common import open_workstation
from app.commands._common import signed_in as _signed_in
from app.engine.edits import SUPPORTED_EDITS, EditOperation
from app.errors import InvalidInput
from app.policy.gates import RequestIntake, examiner_problems


def _pair(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"'{text}' is not NAME=VALUE")
    return name.strip(), value.strip()


# ----------------------------------------------------------------------------- registration
def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "case", help="requests: intake, probe, search, candidates, comparison, review"
    )
    sub = parser.add_subparsers(dest="case_command", metavar="ACTION", required=True)

    purposes = sub.add_parser("purposes", help="the active profile's purposes and probe rules")
    purposes.set_defaults(handler=_purposes)

    policy = sub.add_parser("policy", help="show the policy in force; --acknowledge it")
    policy.add_argument("--acknowledge", action="store_true", help="record your acknowledgment")
    _add_as(policy)
    policy.set_defaults(handler=_signed_in(_policy))

    opening = sub.add_parser("open", help="open a request (every intake field is required)")
    opening.add_argument("--case-number", required=True)
    opening.add_argument("--officer", required=True, help="requesting officer")
    opening.add_argument("--agency", required=True, help="requesting agency")
    opening.add_argument("--submitting-agency", help="another agency that submitted the request")
    opening.add_argument("--purpose", required=True, metavar="CODE", help="see 'frx case purposes'")
    opening.add_argument("--offense", required=True)
    narrative = opening.add_mutually_exclusive_group(required=True)
    narrative.add_argument("--narrative")
    narrative.add_argument("--narrative-file", type=Path, metavar="FILE")
    opening.add_argument("--probe-source", required=True, metavar="CODE")
    opening.add_argument("--obtained-how", required=True, help="how and where it was obtained")
    opening.add_argument("--probe-kind", default="photograph", metavar="KIND")
    opening.add_argument(
        "--attest-lawful-source",
        action="store_true",
        help="I attest the probe was lawfully obtained and is relevant to the purpose",
    )
    opening.add_argument(
        "--attest-not-protected-basis",
        action="store_true",
        help="I attest the request is not based solely on protected characteristics or activity",
    )
    opening.add_argument(
        "--attest-actual-subject",
        action="store_true",
        help="I attest the probe shows the actual subject (no sketch, rendering or look-alike)",
    )
    _add_as(opening)
    opening.set_defaults(handler=_signed_in(_open))

    ack = sub.add_parser(
        "acknowledge", help="record the submitting agency's written 'lead only' acknowledgment"
    )
    ack.add_argument("request", metavar="REQUEST")
    ack.add_argument("--official", required=True, help="who acknowledged it for the agency")
    ack.add_argument("--at", type=_moment, metavar="ISO-TIME", help="when (default: now)")
    _add_as(ack)
    ack.set_defaults(handler=_signed_in(_acknowledge))

    probe = sub.add_parser("probe", help="add, edit, choose the face of, or show a probe")
    probe_sub = probe.add_subparsers(dest="probe_command", metavar="ACTION", required=True)
    add = probe_sub.add_parser("add", help="add a probe image to a request (stored untouched)")
    add.add_argument("request", metavar="REQUEST")
    add.add_argument("file", type=Path, metavar="IMAGE")
    add.add_argument("--kind", metavar="KIND", help="default: the request's probe kind")
    _add_as(add)
    add.set_defaults(handler=_signed_in(_probe_add))
    edit = probe_sub.add_parser(
        "edit",
        help="edit a copy of the probe (logged)",
        description=f"Edits: {', '.join(sorted(SUPPORTED_EDITS))}.",
    )
    edit.add_argument("probe", type=int, metavar="PROBE")
    edit.add_argument("--op", required=True, metavar="NAME")
    edit.add_argument("--param", type=_pair, action="append", default=[], metavar="NAME=VALUE")
    edit.add_argument(
        "--parent", type=int, metavar="COPY", help="edit this copy (default: original)"
    )
    _add_as(edit)
    edit.set_defaults(handler=_signed_in(_probe_edit))
    face = probe_sub.add_parser("face", help="choose which face is the subject")
    face.add_argument("probe", type=int, metavar="PROBE")
    face.add_argument("face", type=int, metavar="N")
    face.add_argument("--copy", type=int, metavar="COPY", help="on an edited copy")
    _add_as(face)
    face.set_defaults(handler=_signed_in(_probe_face))
    show = probe_sub.add_parser("show", help="a probe with its edit history")
    show.add_argument("probe", type=int, metavar="PROBE")
    _add_as(show)
    show.set_defaults(handler=_signed_in(_probe_show))

    searching = sub.add_parser("search", help="search the gallery with the request's probe")
    searching.add_argument("request", metavar="REQUEST")
    searching.add_argument("--probe", type=int, metavar="PROBE")
    searching.add_argument("--copy", type=int, metavar="COPY", help="search an edited copy")
    searching.add_argument("--face", type=int, metavar="N")
    searching.add_argument("--top-k", type=int, metavar="K")
    _add_as(searching)
    searching.set_defaults(handler=_signed_in(_search))

    candidates = sub.add_parser("candidates", help="print a search's candidate list")
    candidates.add_argument("request", metavar="REQUEST")
    candidates.add_argument("--search", type=int, metavar="SEARCH", help="default: the latest")
    _add_as(candidates)
    candidates.set_defaults(handler=_signed_in(_candidates))

    compare = sub.add_parser("compare", help="record the worksheet for one candidate")
    compare.add_argument("request", metavar="REQUEST")
    which = compare.add_mutually_exclusive_group(required=True)
    which.add_argument("--rank", type=int, help="candidate rank in the latest search")
    which.add_argument("--candidate", type=int, metavar="ID")
    _add_answer_options(compare)
    compare.add_argument("--submit", action="store_true", help="then ask for a second review")
    _add_as(compare)
    compare.set_defaults(handler=_signed_in(_compare))

    review = sub.add_parser("review", help="second examiner: review a submitted comparison")
    review.add_argument("comparison", type=int, metavar="COMPARISON")
    _add_answer_options(review)
    _add_as(review)
    review.set_defaults(handler=_signed_in(_review))

    skip = sub.add_parser("skip-review", help="record why no second review is practicable")
    skip.add_argument("comparison", type=int, metavar="COMPARISON")
    skip.add_argument("--reason", required=True, help="'not practicable because ...'")
    _add_as(skip)
    skip.set_defaults(handler=_signed_in(_skip_review))

    showing = sub.add_parser("show", help="a request with its probes, searches and comparisons")
    showing.add_argument("request", metavar="REQUEST")
    _add_as(showing)
    showing.set_defaults(handler=_signed_in(_show))

    listing = sub.add_parser("list", help="a queue of requests")
    listing.add_argument("--queue", default="mine", choices=requests.QUEUES)
    listing.add_argument("--status")
    listing.add_argument("--case-number", metavar="TEXT")
    _add_as(listing)
    listing.set_defaults(handler=_signed_in(_list))

    no_lead = sub.add_parser("no-lead", help="conclude a searched request without a lead")
    no_lead.add_argument("request", metavar="REQUEST")
    no_lead.add_argument("--note", default="")
    _add_as(no_lead)
    no_lead.set_defaults(handler=_signed_in(_no_lead))

    close = sub.add_parser("close", help="close a request, with the reason")
    close.add_argument("request", metavar="REQUEST")
    close.add_argument("--reason", required=True)
    _add_as(close)
    close.set_defaults(handler=_signed_in(_close))


def _add_answer_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--answers", type=Path, metavar="FILE", help="TOML or JSON answers")
    parser.add_argument("--answer", type=_pair, action="append", default=[], metavar="ITEM=ANSWER")
    parser.add_argument("--note", type=_pair, action="append", default=[], metavar="ITEM=TEXT")
    parser.add_argument("--conclusion", help="possible_lead, not_a_lead or inconclusive")


# ----------------------------------------------------------------------------- helpers
def _request_id(ws: Workstation, user: SignedInUser, reference: str) -> requests.RequestSummary:
    return requests.find_request(ws, user=user, reference=reference)


def _normal(value: str) -> str:
    return value.strip().lower().replace(" ", "_").replace("-", "_")


def _answers(args: argparse.Namespace) -> tuple[dict[str, AnswerInput], str | None]:
    """Answers and conclusion from ``--answers FILE`` and the options (options win)."""
    answers: dict[str, AnswerInput] = {}
    conclusion = args.conclusion
    if args.answers is not None:
        data = _read_answer_file(args.answers)
        conclusion = conclusion or data.get("conclusion")
        table = data.get("answers", {})
        if not isinstance(table, dict):
            raise InvalidInput(f"{args.answers}: 'answers' must be a table of item = answer.")
        for item, value in table.items():
            if isinstance(value, dict):
                answers[item] = (_normal(str(value.get("answer", ""))), str(value.get("note", "")))
            else:
                answers[item] = _normal(str(value))
    for item, value in args.answer:
        answers[item] = _normal(value)
    for item, note in args.note:
        current = answers.get(item)
        if current is None:
            raise InvalidInput(f"--note {item}=... needs an answer for '{item}' too.")
        answer = current[0] if isinstance(current, tuple) else current
        answers[item] = (answer, note)
    return answers, None if conclusion is None else _normal(str(conclusion))


def _read_answer_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"The answers file {path} cannot be read: {exc.strerror}.") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InvalidInput(f"The answers file {path} is not valid: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidInput(f"The answers file {path} must hold a table.")
    return data


def _number(value: str) -> float | int:
    try:
        return int(value)
    except ValueError:
        try:
            return float(value)
        except ValueError:
            raise InvalidInput(f"'{value}' is not a number.") from None


# ----------------------------------------------------------------------------- handlers
def _purposes(args: argparse.Namespace) -> int:
    with open_workstation() as ws:
        profile = ws.profile
        out.write(f"{profile.label} (sha256 {profile.sha256})")
        out.write("Purposes (--purpose):")
        for purpose in profile.purposes:
            out.wrapped(f"{purpose.code}  {purpose.text}", "  ")
        out.write("Probe sources (--probe-source):")
        for source in profile.probe_sources:
            out.write(f"  {source.code}  {source.label}")
        out.write("Refused as probes (--probe-kind):")
        for kind in profile.refused_probe_kinds:
            out.write(f"  {kind.code}  {kind.label}")
    return 0


def _policy(ws: Workstation, user: SignedInUser, args: argparse.Namespace) -> int:
    profile = ws.profile
    out.write(f"{profile.label}, issued by {profile.issuer}")
    out.write(f"File {profile.path} (sha256 {profile.sha256})")
    out.wrapped(profile.acknowledgment.text)
    if args.acknowledge:
        acknowledge_policy(
            ws,
            user=user,
            profile_name=profile.name,
            profile_version=profile.version,
            profile_sha256=profile.sha256,
        )
        out.write(f"Acknowledged by {user.username}.")
    problems = examiner_problems(examiner_facts(ws, user_id=user.user_id), profile, ws.now().date())
    for problem in problems:
        out.wrapped(f"You cannot search yet: {problem}")
    if not problems:
        out.write("You may search under this policy.")
    return 0


def _open(ws: Workstation, user: SignedInUser, args: argparse.Namespace) -> int:
    narrative = args.narrative
    if args.narrative_file is not None:
        try:
            narrative = args.narrative_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidInput(f"{args.narrative_file} cannot be read: {exc.strerror}.") from None
    intake = RequestIntake(
        case_number=args.case_number,
        requesting_officer=args.officer,
        requesting_agency=args.agency,
        purpose_code=args.purpose,
        offense=args.offense,
        narrative=narrative,
        probe_source=args.probe_source,
        probe_obtained_how=args.obtained_how,
        attests_lawful_source=args.attest_lawful_source,
        attests_not_protected_basis=args.attest_not_protected_basis,
        attests_actual_subject=args.attest_actual_subject,
        probe_kind=args.probe_kind,
        interagency=args.submitting_agency is not None,
        submitting_agency=args.submitting_agency or "",
    )
    summary = requests.open_request(ws, user=user, intake=intake)
    out.write(f"Opened request {summary.request_number} (number {summary.request_id}).")
    if summary.is_interagency:
        out.write(
            "Another agency's request: record its written 'lead only' acknowledgment with "
            f"'frx case acknowledge {summary.request_number}' before releasing any result."
        )
    return 0


def _acknowledge(ws: Workstation, user: SignedInUser, args: argparse.Namespace) -> int:
    summary = _request_id(ws, user, args.request)
    done = requests.record_interagency_acknowledgment(
        ws,
        user=user,
        request_id=summary.request_id,
        acknowledged_by=args.official,
        acknowledged_at=args.at,
    )
    out.write(
        f"Recorded the acknowledgment of {done.submitting_agency} by {done.interagency_ack_by}."
    )
    return 0


def _probe_add(ws: Workstation, user: SignedInUser, args: argparse.Namespace) -> int:
    summary = _request_id(ws, user, args.request)
    try:
        data = args.file.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"The image {args.file} cannot be read: {exc.strerror}.") from None
    probe = probes.add_probe(
        ws,
        user=user,
        request_id=summary.request_id,
        image_bytes=data,
        original_name=args.file.name,
        probe_kind=args.kind,
    )
    out.probe_lines(probe)
    return 0


def _probe_edit(ws: Workstation, user: SignedInUser, args: argparse.Namespace) -> int:
    params = {name: _number(value) for name, value in args.param}
    version = probes.edit_probe(
        ws,
        user=user,
        probe_id=args.probe,
        parent_version_id=args.parent,
        operation=EditOperation(args.op, params),
    )
    out.write(f"Made copy {version.version_id}: {version.description}")
    out.write(f"  from sha256 {version.parent_sha256}")
    out.write(f"  to   sha256 {version.evidence_sha256} ({len(version.faces)} face(s) found)")
    return 0


def _probe_face(ws: Workstation, user: SignedInUser, args: argparse.Namespace) -> int:
    probe = probes.choose_face(
        ws, user=user, probe_id=args.probe, face_index=args.face, version_id=args.copy
    )
    out.probe_lines(probe)
    return 0


def _probe_show(ws: Workstation, user: SignedInUser, args: argparse.Namespace) -> int:
    out.probe_lines(probes.probe_history(ws, user=user, probe_id=args.probe))
    return 0


def _search(ws: Workstation, user: SignedInUser, args: argparse.Namespace) -> int:
    summary = _request_id(ws, user, args.request)
    result = search.run_search(
        ws,
        user=user,
        request_id=summary.request_id,
        probe_id=args.probe,
        probe_version_id=args.copy,
        face_index=args.face,
        top_k=args.top_k,
    )
    out.candidate_lines(result, summary.request_number)
    return 0


def _latest_search(ws: Workstation, user: SignedInUser, request_id: int) -> search.SearchSummary:
    found = search.list_searches(ws, user=user, request_id=request_id)
    if not found:
        raise InvalidInput("This request has not been searched yet.")
    return found[-1]


def _candidates(ws: Workstation, user: SignedInUser, args: argparse.Namespace) -> int:
    summary = _request_id(ws, user, args.request)
    if args.search is not None:
        result = search.get_search(ws, user=user, search_id=args.search)
        if result.request_id != summary.request_id:
            raise InvalidInput(f"Search {args.search} is not a search of {summary.request_number}.")
    else:
        result = _latest_search(ws, user, summary.request_id)
    out.candidate_lines(result, summary.request_number)
    return 0


def _labels(ws: Workstation) -> list[tuple[str, str]]:
    return [(item.id, item.label) for item in ws.worksheet.items]


def _compare(ws: Workstation, user: SignedInUser, args: argparse.Namespace) -> int:
    summary = _request_id(ws, user, args.request)
    candidate_id = args.candidate
    if candidate_id is None:
        latest = _latest_search(ws, user, summary.request_id)
        matches = [c for c in latest.candidates if c.rank == args.rank]
        if not matches:
            raise InvalidInput(f"The latest search has no candidate of rank {args.rank}.")
        candidate_id = matches[0].candidate_id
    answers, conclusion = _answers(args)
    comparison = comparisons.start_comparison(ws, user=user, candidate_id=candidate_id)
    if answers:
        comparison = comparisons.record_answers(
            ws, user=user, comparison_id=comparison.comparison_id, answers=answers
        )
    if conclusion:
        comparison = comparisons.conclude(
            ws, user=user, comparison_id=comparison.comparison_id, conclusion=conclusion
        )
    out.comparison_lines(comparison, _labels(ws))
    if args.submit:
        reviews.submit_for_review(ws, user=user, comparison_id=comparison.comparison_id)
        out.write(f"Comparison {comparison.comparison_id} is waiting for a second examiner.")
    return 0


def _review(ws: Workstation, user: SignedInUser, args: argparse.Namespace) -> int:
    answers, conclusion = _answers(args)
    review = reviews.start_review(ws, user=user, comparison_id=args.comparison)
    if conclusion:
        review = reviews.record_review(
            ws, user=user, review_id=review.review_id, conclusion=conclusion, answers=answers
        )
    else:
        for item, value in answers.items():
            answer, note = value if isinstance(value, tuple) else (value, "")
            review = reviews.record_review_answer(
                ws, user=user, review_id=review.review_id, item_id=item, answer=answer, note=note
            )
    out.review_lines(review)
    view = reviews.review_view(ws, user=user, review_id=review.review_id)
    if view.first_examiner is not None:
        out.write(
            f"  The first examiner ({view.first_examiner.examiner}) concluded: "
            f"{view.first_examiner.conclusion}"
        )
    return 0


def _skip_review(ws: Workstation, user: SignedInUser, args: argparse.Namespace) -> int:
    skipped = reviews.skip_review(ws, user=user, comparison_id=args.comparison, reason=args.reason)
    out.write(f"Recorded for comparison {skipped.comparison_id}: {skipped.reason}")
    return 0


def _show(ws: Workstation, user: SignedInUser, args: argparse.Namespace) -> int:
    summary = _request_id(ws, user, args.request)
    out.request_lines(summary)
    for probe in probes.list_probes(ws, user=user, request_id=summary.request_id):
        out.probe_lines(probe)
    for found in search.list_searches(ws, user=user, request_id=summary.request_id):
        top = ", ".join(
            f"{c.rank}. {c.subject_reference} {c.score:.3f}" for c in found.candidates[:3]
        )
        out.write(
            f"Search {found.search_id} by {found.created_by}: {len(found.candidates)} "
            f"candidates ({top or 'none'})"
        )
    for comparison in comparisons.list_comparisons(ws, user=user, request_id=summary.request_id):
        out.comparison_lines(comparison, [])
    for skip in reviews.review_skips(ws, user=user, request_id=summary.request_id):
        out.write(f"Second review of comparison {skip.comparison_id} skipped: {skip.reason}")
    return 0


def _list(ws: Workstation, user: SignedInUser, args: argparse.Namespace) -> int:
    page = requests.list_requests(
        ws, user=user, queue=args.queue, status=args.status, case_number=args.case_number
    )
    out.write("Queues: " + ", ".join(f"{name} {count}" for name, count in page.counts.items()))
    if not page.rows:
        out.write(f"No requests in '{args.queue}'.")
        return 0
    rows = [("REQUEST", "CASE", "STATUS", "PURPOSE", "EXAMINER", "OPENED")]
    for row in page.rows:
        rows.append(
            (
                row.request_number,
                row.case_number,
                row.status,
                row.purpose_code,
                row.assigned_examiner,
                f"{row.created_at:%Y-%m-%d}",
            )
        )
    out.table(rows)
    return 0


def _no_lead(ws: Workstation, user: SignedInUser, args: argparse.Namespace) -> int:
    summary = _request_id(ws, user, args.request)
    done = requests.record_no_lead(ws, user=user, request_id=summary.request_id, note=args.note)
    out.write(f"Request {done.request_number} concluded without a lead.")
    return 0


def _close(ws: Workstation, user: SignedInUser, args: argparse.Namespace) -> int:
    summary = _request_id(ws, user, args.request)
    done = requests.close_request(ws, user=user, request_id=summary.request_id, reason=args.reason)
    out.write(f"Request {done.request_number} is closed.")
    return 0
