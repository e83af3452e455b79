"""A worked case for the compliance tests: a disagreeing review, a skipped review, a released lead
report, a refused release, a sealed gallery subject and an examiner whose training runs out soon.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from case_support import SearchedCase, add_user, load_case
from report_support import LAW_ENFORCEMENT, concluded, reviewed

from app.casework import dissemination, gallery, reports, reviews
from app.casework.workstation import Workstation
from app.errors import PolicyViolation
from app.policy.roles import Role

SKIP = "Not practicable because the second examiner is deployed to a disaster scene this week"


@dataclass(frozen=True)
class WorkedCase:
    case: SearchedCase
    lead: int
    disputed: int
    report_number: str


def worked_case(ws: Workstation, yale_dir: Path) -> WorkedCase:
    case = load_case(ws, yale_dir)
    people = case.people
    disputed = concluded(ws, case, reference="YALE-02")
    reviewed(ws, case, disputed, conclusion="not_a_lead")
    lead = concluded(ws, case, reference="YALE-03")
    reviews.skip_review(ws, user=people.examiner, comparison_id=lead, reason=SKIP)
    report = reports.issue_lead_report(ws, user=people.examiner, comparison_id=lead)
    dissemination.disseminate(
        ws, user=people.examiner, report_id=report.report_id, **LAW_ENFORCEMENT
    )
    with pytest.raises(PolicyViolation):
        dissemination.disseminate(
            ws,
            user=people.examiner,
            report_id=report.report_id,
            **{**LAW_ENFORCEMENT, "recipient_type": "not_law_enforcement"},
        )
    gallery.seal_subject(
        ws, by=people.supervisor, subject_reference="YALE-05", reason="Record sealed by court"
    )
    add_user(ws, people.admin, "tess", frozenset({Role.EXAMINER}), training_days=(-300, 10))
    return WorkedCase(case, lead, disputed, report.report_number)
