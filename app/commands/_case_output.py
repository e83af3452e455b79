"""Plain-text output of ``frx case``: requests, probes, candidate lists, comparisons, reviews.

Every candidate list is framed by the profile's lead-only banner and followed by its advisory,
as on every result screen (MPTC II, IV.E.3-4).
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterable, Sequence

from app.casework.case_views import (
    ComparisonSummary,
    ProbeSummary,
    RequestSummary,
    ReviewSummary,
    SearchSummary,
)


def write(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def table(rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        write(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )


def wrapped(text: str, indent: str = "") -> None:
    for line in textwrap.wrap(text, width=96, initial_indent=indent, subsequent_indent=indent):
        write(line)


def _when(value: object) -> str:
    return "-" if value is None else f"{value:%Y-%m-%d %H:%M} UTC"


def request_lines(summary: RequestSummary) -> None:
    write(f"Request {summary.request_number} (number {summary.request_id}): {summary.status}")
    write(f"  Case number:        {summary.case_number}")
    write(f"  Requested by:       {summary.requesting_officer}, {summary.requesting_agency}")
    if summary.is_interagency:
        ack = (
            f"acknowledged by {summary.interagency_ack_by} on {_when(summary.interagency_ack_at)}"
            if summary.acknowledgment_recorded
            else "WRITTEN ACKNOWLEDGMENT NOT RECORDED - results may not be released"
        )
        write(f"  Submitting agency:  {summary.submitting_agency} ({ack})")
    write(f"  Purpose:            {summary.purpose_code}")
    wrapped(summary.purpose_text, "                      ")
    write(f"  Offense:            {summary.offense}")
    write(
        f"  Policy:             {summary.profile_name} {summary.profile_version} "
        f"(sha256 {summary.profile_sha256[:16]}...)"
    )
    write(f"  Probe source:       {summary.probe_source} ({summary.probe_kind})")
    write(f"  Assigned examiner:  {summary.assigned_examiner}")
    write(f"  Opened:             {_when(summary.created_at)} by {summary.created_by}")
    if summary.status_note:
        write(f"  Note:               {summary.status_note}")
    write(f"  Probes: {summary.probe_count}   Searches: {summary.search_count}")
    for blocker in summary.search_blockers:
        wrapped(f"Cannot search yet: {blocker}", "  ")


def probe_lines(probe: ProbeSummary) -> None:
    write(
        f"Probe {probe.probe_id}: {probe.original_name} ({probe.media_type}, "
        f"{probe.width}x{probe.height}), sha256 {probe.original_sha256}"
    )
    if not probe.faces:
        write(f"  {probe.detection_message}")
    for face in probe.faces:
        chosen = " (chosen)" if face.index == probe.chosen_face_index else ""
        x, y, w, h = face.box
        write(
            f"  Face {face.index}: box {x:.0f},{y:.0f} {w:.0f}x{h:.0f}, "
            f"score {face.score:.2f}{chosen}"
        )
    for warning in probe.quality_warnings:
        wrapped(f"Quality: {warning}", "  ")
    for version in probe.versions:
        parent = (
            "original" if version.parent_version_id is None else f"copy {version.parent_version_id}"
        )
        write(
            f"  Copy {version.version_id} from {parent}: {version.description} "
            f"by {version.created_by} at {_when(version.created_at)}"
        )
        write(f"    sha256 {version.evidence_sha256} ({version.width}x{version.height})")


def candidate_lines(summary: SearchSummary, request_number: str) -> None:
    write(summary.lead_banner)
    searched = (
        "original probe"
        if summary.probe_version_id is None
        else f"edited copy {summary.probe_version_id}"
    )
    write(
        f"Search {summary.search_id} of {request_number} by {summary.created_by} at "
        f"{_when(summary.created_at)}, {searched} (probe {summary.probe_id}, face "
        f"{summary.face_index})"
    )
    threshold = "-" if summary.threshold is None else f"{summary.threshold:g}"
    ef = "-" if summary.ef is None else str(summary.ef)
    write(
        f"Model {summary.model_name} {summary.model_version} (sha256 {summary.model_sha256[:16]}"
        f"...), {summary.metric} distance, threshold {threshold}; index generation "
        f"{summary.index_generation} ({summary.gallery_size} photos), {summary.method} search, "
        f"k={summary.k}, ef={ef}, {summary.duration_ms} ms"
    )
    for warning in summary.quality_warnings:
        wrapped(f"Quality warning: {warning}")
    if not summary.candidates:
        write("No candidates were returned.")
    else:
        rows = [
            (
                "RANK",
                "SCORE",
                "SUBJECT",
                "PHOTO DATE",
                "MOST RECENT",
                "SOURCE",
                "CANDIDATE",
                "COMPARISON",
            )
        ]
        for c in summary.candidates:
            comparison = "-"
            if c.comparison_id is not None:
                comparison = f"{c.comparison_id} {c.comparison_status}"
                if c.conclusion:
                    comparison += f" ({c.conclusion})"
            rows.append(
                (
                    str(c.rank),
                    f"{c.score:.4f}",
                    c.subject_reference,
                    "-" if c.photo_date is None else c.photo_date.isoformat(),
                    "-"
                    if c.most_recent_photo_date is None
                    else c.most_recent_photo_date.isoformat(),
                    f"{c.source_type} {c.source_reference}".strip(),
                    str(c.candidate_id),
                    comparison,
                )
            )
        table(rows)
    wrapped(summary.score_meaning)
    wrapped(summary.advisory)
    write(summary.lead_banner)


def comparison_lines(summary: ComparisonSummary, labels: Iterable[tuple[str, str]]) -> None:
    write(
        f"Comparison {summary.comparison_id} of candidate {summary.rank} "
        f"({summary.subject_reference}) by {summary.examiner}: {summary.status}, "
        f"{summary.progress.label}"
    )
    for item_id, label in labels:
        entry = summary.answers.get(item_id)
        answer = "-" if entry is None else entry.answer
        note = "" if entry is None or not entry.note else f"  ({entry.note})"
        write(f"  {label:<28} {answer}{note}")
    if summary.conclusion:
        spent = "" if summary.time_spent_seconds is None else f", {summary.time_spent_seconds} s"
        write(f"  Conclusion: {summary.conclusion}{spent}; review: {summary.review_state}")


def review_lines(summary: ReviewSummary) -> None:
    write(
        f"Review {summary.review_id} of comparison {summary.comparison_id} by {summary.reviewer}: "
        f"{summary.status}, {summary.progress.label}"
    )
    if summary.conclusion:
        agreement = "agrees" if summary.agreement else "DISAGREES (sent to the supervisors)"
        write(f"  Conclusion: {summary.conclusion}; {agreement} with the first examiner")
