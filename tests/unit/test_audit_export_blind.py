"""The audit export keeps the blind second review (MPTC IV.E.2): a supervisor who is the pending
reviewer cannot read the first examiner's answers and conclusion in an export; the withheld
events are marked and counted (file, result, ``audit.exported`` event); the first examiner and
anyone after the finished review get the details in full."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from case_support import SearchedCase, all_answers, candidate_id, load_case
from sqlalchemy import event, select

from app.casework import accounts, audit_export, comparisons, reviews
from app.casework.accounts import SignedInUser
from app.casework.audit_export import ExportResult, export_audit_events, withheld_sentence
from app.casework.audit_log import WITHHELD
from app.casework.case_access import first_conclusion_visible, first_conclusions_hidden
from app.casework.workstation import Workstation
from app.policy.roles import Role
from app.records.audit import event_hash, iter_events
from app.records.case_models import Comparison
from app.records.models import AuditEvent

NOTE = "Crescent scar under the right ear, 2 cm"
FINDINGS = ("comparison.answered", "comparison.concluded")


@pytest.fixture
def case(ws: Workstation, yale_dir: Path) -> SearchedCase:
    return load_case(ws, yale_dir)


def _concluded(ws: Workstation, case: SearchedCase, reference: str = "YALE-03") -> int:
    """A comparison by erin, with a distinctive note, concluded."""
    examiner = case.people.examiner
    started = comparisons.start_comparison(
        ws, user=examiner, candidate_id=candidate_id(case, reference)
    )
    answers: dict[str, comparisons.AnswerInput] = dict(all_answers(ws))
    answers["scars"] = ("similar", NOTE)
    comparisons.record_answers(
        ws, user=examiner, comparison_id=started.comparison_id, answers=answers
    )
    comparisons.conclude(
        ws, user=examiner, comparison_id=started.comparison_id, conclusion="possible_lead"
    )
    return started.comparison_id


def _under_review(ws: Workstation, case: SearchedCase, *, start: bool = True) -> int:
    """A concluded comparison submitted for review; rita (examiner and supervisor) has started
    its blind review when ``start``; erin (its examiner) may export the log as well."""
    people = case.people
    comparison_id = _concluded(ws, case)
    reviews.submit_for_review(ws, user=people.examiner, comparison_id=comparison_id)
    both = (Role.EXAMINER, Role.SUPERVISOR)
    for user in (people.reviewer, people.examiner):
        accounts.set_roles(ws, by=people.admin, user_id=user.user_id, roles=both)
    if start:
        reviews.start_review(ws, user=people.reviewer, comparison_id=comparison_id)
    return comparison_id


def _finish_review(ws: Workstation, case: SearchedCase) -> None:
    with ws.database.session(read_only=True) as session:
        started = list(iter_events(session, action="review.started"))
    assert len(started) == 1 and started[0].object_type == "review"
    reviews.record_review(
        ws,
        user=case.people.reviewer,
        review_id=int(started[0].object_id or 0),
        conclusion="possible_lead",
        answers=all_answers(ws),
    )


def _stored(ws: Workstation) -> dict[int, AuditEvent]:
    with ws.database.session(read_only=True) as session:
        return {e.sequence: e for e in iter_events(session)}


def _last(ws: Workstation) -> AuditEvent:
    with ws.database.session(read_only=True) as session:
        return next(iter_events(session, newest_first=True, limit=1))


def _csv(
    ws: Workstation, by: SignedInUser, path: Path
) -> tuple[ExportResult, list[dict[str, str]]]:
    result = export_audit_events(ws, by=by, format="csv", destination=path)
    with path.open(newline="", encoding="utf-8") as handle:
        return result, list(csv.DictReader(handle))


def _json(ws: Workstation, by: SignedInUser, path: Path) -> tuple[ExportResult, dict[str, Any]]:
    result = export_audit_events(ws, by=by, format="json", destination=path)
    return result, json.loads(path.read_text(encoding="utf-8"))


def _findings(rows: list[dict[str, Any]], comparison_id: int) -> list[dict[str, Any]]:
    return [
        r
        for r in rows
        if r["object_type"] == "comparison"
        and str(r["object_id"]) == str(comparison_id)
        and r["action"] in FINDINGS
    ]


def _recomputed(row: dict[str, Any], details: str) -> str:
    return event_hash(
        sequence=int(row["sequence"]),
        occurred_at=row["occurred_at"],
        actor=row["actor"],
        action=row["action"],
        object_type=row["object_type"],
        object_id=row["object_id"] or None,
        details=details,
        prev_hash=row["prev_hash"],
    )


def test_pending_reviewer_csv_export_withholds_marks_and_counts(
    ws: Workstation, case: SearchedCase, tmp_path: Path
) -> None:
    comparison_id = _under_review(ws, case)
    rita = case.people.reviewer
    result, rows = _csv(ws, rita, tmp_path / "audit.csv")
    text = (tmp_path / "audit.csv").read_text(encoding="utf-8")
    assert NOTE not in text
    assert rows and all(r["withheld"] in ("true", "false") for r in rows)
    findings = _findings(rows, comparison_id)
    assert {r["action"] for r in findings} == set(FINDINGS)
    for row in findings:
        details = json.loads(row["details"])
        assert row["withheld"] == "true"
        assert details["answers"] == WITHHELD
        assert all(
            key in ("answers", "conclusion") or value != WITHHELD
            for key, value in details.items()
        )
    concluded = next(r for r in findings if r["action"] == "comparison.concluded")
    concluded_details = json.loads(concluded["details"])
    assert concluded_details["conclusion"] == WITHHELD
    assert "time_spent_seconds" in concluded_details  # the other details stay
    withheld = [r for r in rows if r["withheld"] == "true"]
    assert len(withheld) == result.withheld_events == len(findings)
    # Every field but the details as stored; the hash of a withheld row is not recomputable,
    # every other row's is.
    stored = _stored(ws)
    for row in rows:
        original = stored[int(row["sequence"])]
        assert (row["prev_hash"], row["hash"], row["action"]) == (
            original.prev_hash, original.hash, original.action,
        )
        recomputed = _recomputed(row, row["details"])
        assert (recomputed == row["hash"]) is (row["withheld"] == "false")
        if row["withheld"] == "true":
            assert _recomputed(row, original.details) == row["hash"]
    recorded = _last(ws)
    assert recorded.action == "audit.exported" and recorded.sequence == result.audit_sequence
    assert recorded.details_dict["withheld_events"] == len(withheld)
    assert recorded.details_dict["events"] == len(rows)


def test_pending_reviewer_json_export_withholds_marks_and_counts(
    ws: Workstation, case: SearchedCase, tmp_path: Path
) -> None:
    comparison_id = _under_review(ws, case)
    result, document = _json(ws, case.people.reviewer, tmp_path / "audit.json")
    assert NOTE not in (tmp_path / "audit.json").read_text(encoding="utf-8")
    events = document["events"]
    assert all(isinstance(e["withheld"], bool) for e in events)
    findings = _findings(events, comparison_id)
    assert findings and all(e["withheld"] for e in findings)
    assert all(e["details"]["answers"] == WITHHELD for e in findings)
    assert any(e["details"].get("conclusion") == WITHHELD for e in findings)
    withheld = sum(e["withheld"] for e in events)
    assert withheld == len(findings) == result.withheld_events == document["withheld_count"]
    assert document["event_count"] == len(events) == result.events
    assert "withheld" in document["withheld_note"]
    assert _last(ws).details_dict["withheld_events"] == withheld


def test_any_other_supervisor_is_withheld_too_but_the_first_examiner_is_not(
    ws: Workstation, case: SearchedCase, tmp_path: Path
) -> None:
    comparison_id = _under_review(ws, case, start=False)  # nobody has taken the review yet
    sam = case.people.supervisor
    result, document = _json(ws, sam, tmp_path / "sam.json")
    assert NOTE not in (tmp_path / "sam.json").read_text(encoding="utf-8")
    assert result.withheld_events == len(_findings(document["events"], comparison_id)) == 2

    erin = case.people.examiner
    result, rows = _csv(ws, erin, tmp_path / "erin.csv")
    assert result.withheld_events == 0 and _last(ws).details_dict["withheld_events"] == 0
    assert all(r["withheld"] == "false" for r in rows)
    assert NOTE in (tmp_path / "erin.csv").read_text(encoding="utf-8")
    concluded = next(
        r for r in _findings(rows, comparison_id) if r["action"] == "comparison.concluded"
    )
    assert json.loads(concluded["details"])["conclusion"] == "possible_lead"
    assert all(_recomputed(r, r["details"]) == r["hash"] for r in rows)


def test_after_the_review_is_finished_exports_carry_the_findings_in_full(
    ws: Workstation, case: SearchedCase, tmp_path: Path
) -> None:
    comparison_id = _under_review(ws, case)
    _finish_review(ws, case)
    for user in (case.people.reviewer, case.people.supervisor):
        result, document = _json(ws, user, tmp_path / f"{user.username}.json")
        assert result.withheld_events == document["withheld_count"] == 0
        assert _last(ws).details_dict["withheld_events"] == 0
        findings = _findings(document["events"], comparison_id)
        assert len(findings) == 2 and not any(e["withheld"] for e in findings)
        assert NOTE in json.dumps(findings, ensure_ascii=False)
        result, rows = _csv(ws, user, tmp_path / f"{user.username}.csv")
        assert result.withheld_events == 0
        assert all(_recomputed(r, r["details"]) == r["hash"] for r in rows)


@pytest.mark.parametrize(("batch", "expected_lookups"), [(500, 1), (1, 2)])
def test_comparisons_are_looked_up_per_batch_not_per_event(
    ws: Workstation,
    case: SearchedCase,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    batch: int,
    expected_lookups: int,
) -> None:
    """Two comparisons, four events with findings: one lookup for the batch holding all of
    them; with one event per batch, one per comparison (the answer is remembered)."""
    _under_review(ws, case)
    second = next(
        c.subject_reference for c in case.search.candidates if c.subject_reference != "YALE-03"
    )
    _concluded(ws, case, second)
    monkeypatch.setattr(audit_export, "GUARD_BATCH", batch)
    lookups: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "case_review_skips" in statement:
            lookups.append(statement)

    event.listen(ws.database.engine, "before_cursor_execute", seen)
    try:
        result, rows = _csv(ws, case.people.reviewer, tmp_path / "audit.csv")
    finally:
        event.remove(ws.database.engine, "before_cursor_execute", seen)
    assert result.withheld_events == 4 == sum(r["withheld"] == "true" for r in rows)
    assert NOTE not in (tmp_path / "audit.csv").read_text(encoding="utf-8")
    assert len(lookups) == expected_lookups


def test_withheld_sentence_in_plain_words() -> None:
    assert withheld_sentence(0) == ""
    assert withheld_sentence(1) == (
        "1 comparison event: the first examiner's findings are withheld until the second "
        "review is finished."
    )
    assert withheld_sentence(1200).startswith("1,200 comparison events: ")


def test_a_skipped_review_is_finished_and_the_batched_rule_agrees_with_the_single_one(
    ws: Workstation, case: SearchedCase, tmp_path: Path
) -> None:
    people = case.people
    skipped = _concluded(ws, case)
    pending = _concluded(
        ws,
        case,
        next(
            c.subject_reference for c in case.search.candidates if c.subject_reference != "YALE-03"
        ),
    )
    reviews.skip_review(
        ws,
        user=people.examiner,
        comparison_id=skipped,
        reason="Not practicable because no other trained examiner is on duty this week",
    )
    result, document = _json(ws, people.supervisor, tmp_path / "sam.json")
    assert not any(e["withheld"] for e in _findings(document["events"], skipped))
    assert all(e["withheld"] for e in _findings(document["events"], pending))
    assert result.withheld_events == 2
    with ws.database.session(read_only=True) as session:
        rows = session.execute(select(Comparison)).scalars().all()
        for user in (people.examiner, people.reviewer, people.supervisor, people.admin):
            single = {c.id for c in rows if not first_conclusion_visible(c, user, session)}
            batched = first_conclusions_hidden(session, user, [c.id for c in rows] + [10**6])
            assert batched == single
    assert batched == {pending}
