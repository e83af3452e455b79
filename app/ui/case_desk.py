"""CaseDesk: the case screens' one door to casework, turning its results into screen data.

Every method is a plain call (no Qt) meant to run on a worker thread through
:func:`app.ui.workers.run_in_background`; each one calls casework, which checks the policy and
writes the audit, and returns the small objects of :mod:`app.ui.case_views` (or casework's own
result dataclasses when a screen needs all of it). Nothing here touches the database directly.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from app.casework import comparisons as case_comparisons
from app.casework import gallery as case_gallery
from app.casework import probes as case_probes
from app.casework import requests as case_requests
from app.casework import reviews as case_reviews
from app.casework import search as case_search
from app.casework.accounts import SignedInUser
from app.casework.case_views import (
    AttachmentSummary,
    ComparisonSummary,
    PairView,
    ProbeSummary,
    ProbeVersionSummary,
    RequestSummary,
    ReviewQueueEntry,
    ReviewSkipSummary,
    ReviewSummary,
    ReviewView,
    SearchSummary,
)
from app.casework.workstation import Workstation
from app.engine.detect import DetectedFace
from app.engine.edits import EditOperation
from app.engine.images import decode_image
from app.errors import InvalidInput
from app.policy.gates import evaluate_conclusion
from app.ui.case_views import (
    REQUEST_STATUSES,
    CandidateRow,
    FaceBox,
    IntakeForm,
    ProbeVersionRow,
    QualityRow,
    QueueFilter,
    QueueKind,
    QueueResult,
    RequestRow,
    quality_rows,
    queue_kinds_for,
    score_tooltip,
    status_label,
)
from app.ui.comparison.model import FaceSide

Progress = Callable[[int, int, str], None]
Cancelled = Callable[[], bool]
THUMBNAIL_CACHE_SIZE = 200  # candidate thumbnails kept for this session (50-200 KB each)
CLOSED_STATUSES = frozenset({"concluded_lead", "concluded_no_lead", "closed"})
REVIEW_WORDS = {
    "not_submitted": "not sent for second review",
    "awaiting_review": "awaiting second review",
    "in_review": "in second review",
    "reviewed": "second review recorded",
    "skipped": "no second review (reason recorded)",
}

log = logging.getLogger(__name__)


def _local_midnight(day: date) -> datetime:
    """The start of ``day`` on this computer's clock, as an aware datetime."""
    return datetime.combine(day, time.min).astimezone()


def request_row(summary: RequestSummary) -> RequestRow:
    return RequestRow(
        request_id=summary.request_id,
        request_number=summary.request_number,
        case_number=summary.case_number,
        purpose_code=summary.purpose_code,
        purpose_text=summary.purpose_text,
        status=summary.status,
        status_label=status_label(summary.status),
        opened_at=summary.created_at,
        examiner=summary.assigned_examiner,
        requesting_agency=summary.requesting_agency,
        offense=summary.offense,
        interagency=summary.is_interagency,
        submitting_agency=summary.submitting_agency or "",
    )


def face_boxes(faces: Sequence[DetectedFace]) -> tuple[FaceBox, ...]:
    return tuple(
        FaceBox(index=position, box=tuple(face.box), score=face.score)  # type: ignore[arg-type]
        for position, face in enumerate(faces)
    )


def version_rows(probe: ProbeSummary) -> tuple[ProbeVersionRow, ...]:
    original = ProbeVersionRow(
        0, f"Original: {probe.original_name}", probe.created_by, probe.created_at,
        is_original=True,
    )
    edits = []
    for version in probe.versions:
        parent = (f"copy {version.parent_version_id}" if version.parent_version_id
                  else "the original")
        edits.append(ProbeVersionRow(
            version.version_id,
            f"Copy {version.version_id}: {version.description} (of {parent})",
            version.created_by,
            version.created_at,
        ))
    return (original, *edits)


@dataclass(frozen=True, eq=False)
class ProbeShown:
    """One version of a probe as the probe panel shows it (0 = the original)."""

    probe: ProbeSummary
    version_id: int
    rgb: npt.NDArray[np.uint8]
    faces: tuple[FaceBox, ...]
    chosen: int | None
    caption: str
    message: str
    quality: tuple[QualityRow, ...]
    warnings: tuple[str, ...]
    versions: tuple[ProbeVersionRow, ...]

    @property
    def probe_id(self) -> int:
        return self.probe.probe_id

    @property
    def search_version(self) -> int | None:
        """The version a search uses: None for the original."""
        return self.version_id or None


@dataclass(frozen=True)
class SearchShown:
    """A recorded search as the candidate list shows it."""

    summary: SearchSummary
    rows: tuple[CandidateRow, ...]
    caption: str
    metric: str
    score_tooltip: str

    @property
    def search_id(self) -> int:
        return self.summary.search_id


def _own_state(summary: ComparisonSummary | None) -> tuple[str | None, str]:
    if summary is None:
        return None, ""
    if summary.status == "concluded":
        review = REVIEW_WORDS.get(summary.review_state, summary.review_state.replace("_", " "))
        return summary.conclusion, review
    return None, f"in progress ({summary.progress.label})"


def search_shown(
    summary: SearchSummary, own: Mapping[int, ComparisonSummary] | None = None
) -> SearchShown:
    """The candidate list of a search; ``own``: this examiner's comparisons per candidate."""
    rows = []
    for c in summary.candidates:
        conclusion, progress_text = _own_state((own or {}).get(c.candidate_id))
        rows.append(CandidateRow(
            candidate_id=c.candidate_id,
            rank=c.rank,
            score=c.score,
            subject_reference=c.subject_reference,
            photo_id=c.photo_id,
            photo_date=c.photo_date,
            most_recent_photo_date=c.most_recent_photo_date,
            conclusion=conclusion or c.conclusion,
            progress=progress_text,
        ))
    when = summary.created_at.astimezone().strftime("%Y-%m-%d %H:%M")
    version = "the original probe" if summary.probe_version_id is None else (
        f"edited copy {summary.probe_version_id}")
    noun = "candidate" if len(rows) == 1 else "candidates"
    caption = (
        f"Search {summary.search_id} of {when} by {summary.created_by} with {version}: "
        f"{len(rows)} {noun} from {summary.gallery_size} gallery photos; model "
        f"{summary.model_name} (version {summary.model_version}), {summary.method} search."
    )
    if summary.quality_warnings:
        caption += " Probe quality: " + " ".join(summary.quality_warnings)
    tooltip = score_tooltip(summary.score_meaning, summary.threshold,
                            f"{summary.model_name} {summary.model_version}")
    return SearchShown(summary, tuple(rows), caption, summary.metric, tooltip)


@dataclass(frozen=True, eq=False)
class CaseState:
    """Everything a case page shows when it opens."""

    request: RequestSummary
    probe: ProbeShown | None
    probe_names: tuple[tuple[int, str], ...]
    search: SearchShown | None
    can_work: bool
    read_only_reason: str = ""


def face_side(rgb: npt.NDArray[np.uint8], face: DetectedFace | None, label: str) -> FaceSide:
    """A picture with the markup the comparison screen draws: eyes, mesh points, regions."""
    if face is None:
        return FaceSide(image=rgb, label=label, eye_points=None)
    description = case_probes.describe_face(rgb, face)
    points = description.points
    eyes = None
    if "left_eye_center" in points and "right_eye_center" in points:
        left, right = points["left_eye_center"], points["right_eye_center"]
        eyes = ((float(left[0]), float(left[1])), (float(right[0]), float(right[1])))
    landmarks = (
        np.asarray(description.mesh.xy, dtype=np.float64) if description.mesh is not None
        else None
    )
    regions = {name: region for name, region in description.regions.items() if region.visible}
    return FaceSide(image=rgb, label=label, eye_points=eyes, landmarks=landmarks,
                    regions=regions)


def _measures(quality: Mapping[str, Any] | None) -> list[Mapping[str, object]]:
    if not quality:
        return []
    measures = quality.get("measures")
    return list(measures) if isinstance(measures, list) else []


class CaseDesk:
    """Casework calls of one signed-in user, shaped for the case screens."""

    def __init__(self, ws: Workstation, user: SignedInUser) -> None:
        self.ws = ws
        self.user = user
        self._thumbs: OrderedDict[tuple[int, int], npt.NDArray[np.uint8]] = OrderedDict()
        self._thumbs_lock = threading.Lock()  # thumbnails are made on worker threads

    # ------------------------------------------------------------------------------ queue
    def queue_kinds(self) -> list[QueueKind]:
        return queue_kinds_for(role.value for role in self.user.roles)

    def purposes(self) -> list[tuple[str, str]]:
        return [(purpose.code, purpose.text) for purpose in self.ws.profile.purposes]

    def load_queue(self, kind: QueueKind, queue_filter: QueueFilter) -> QueueResult:
        created_from = (
            _local_midnight(queue_filter.opened_from) if queue_filter.opened_from else None
        )
        created_to = (
            _local_midnight(queue_filter.opened_to + timedelta(days=1))
            if queue_filter.opened_to
            else None
        )
        listing = case_requests.list_requests(
            self.ws,
            user=self.user,
            queue=kind.value,
            status=queue_filter.status or None,
            case_number=queue_filter.case_number.strip() or None,
            purpose_code=queue_filter.purpose_code or None,
            created_from=created_from,
            created_to=created_to,
            limit=1000,
        )
        counts = {QueueKind(name): count for name, count in listing.counts.items()
                  if name in QueueKind.__members__.values()}
        statuses = tuple((value, status_label(value)) for value in REQUEST_STATUSES)
        return QueueResult(
            kind=kind,
            rows=tuple(request_row(row) for row in listing.rows),
            counts=counts,
            statuses=statuses,
        )

    # ------------------------------------------------------------------------------ intake
    def create_request(self, form: IntakeForm) -> int:
        """Open the request; record the other agency's acknowledgment when it was given."""
        summary = case_requests.open_request(self.ws, user=self.user, intake=form.to_intake())
        if form.interagency and form.acknowledged_by.strip():
            case_requests.record_interagency_acknowledgment(
                self.ws,
                user=self.user,
                request_id=summary.request_id,
                acknowledged_by=form.acknowledged_by,
            )
        return summary.request_id

    def request(self, request_id: int) -> RequestSummary:
        return case_requests.get_request(self.ws, user=self.user, request_id=request_id)

    def record_acknowledgment(self, request_id: int, acknowledged_by: str) -> RequestSummary:
        return case_requests.record_interagency_acknowledgment(
            self.ws, user=self.user, request_id=request_id, acknowledged_by=acknowledged_by
        )

    # ------------------------------------------------------------------------------ case
    def case_state(
        self, request_id: int, *, probe_id: int | None = None, version_id: int | None = None
    ) -> CaseState:
        """The request, the probe version to show, and the newest search with its candidates."""
        request = self.request(request_id)
        probes = self.probes(request_id)
        searches = case_search.list_searches(self.ws, user=self.user, request_id=request_id)
        latest = max(searches, key=lambda s: s.search_id) if searches else None
        shown: ProbeShown | None = None
        known = {probe.probe_id: probe for probe in probes}
        if probe_id is None or probe_id not in known:
            probe_id = None
            if latest is not None and latest.probe_id in known:
                probe_id = latest.probe_id
                version_id = latest.probe_version_id or 0
            elif probes:
                probe_id, version_id = probes[-1].probe_id, 0
        if probe_id is not None:
            probe = known[probe_id]
            if version_id and version_id not in {v.version_id for v in probe.versions}:
                version_id = 0
            shown = self._shown(probe, version_id or 0)
        assigned = request.assigned_examiner_id == self.user.user_id
        closed = request.status in CLOSED_STATUSES
        reason = ""
        if not assigned:
            reason = (f"Read only: this request is assigned to {request.assigned_examiner}.")
        elif closed:
            reason = "Read only: this request is concluded or closed."
        return CaseState(
            request=request,
            probe=shown,
            probe_names=tuple((p.probe_id, p.original_name) for p in probes),
            search=(search_shown(latest, self.comparisons_of(request_id))
                    if latest is not None else None),
            can_work=assigned and not closed,
            read_only_reason=reason,
        )

    # ------------------------------------------------------------------------------ search
    def run_search(
        self,
        request_id: int,
        *,
        probe_version_id: int | None,
        face_index: int | None,
        progress: Progress | None = None,
        cancelled: Cancelled | None = None,
        probe_id: int | None = None,
    ) -> SearchShown:
        summary = case_search.run_search(
            self.ws, user=self.user, request_id=request_id, probe_id=probe_id,
            probe_version_id=probe_version_id, face_index=face_index, progress=progress,
            cancelled=cancelled,
        )
        return search_shown(summary)

    def search(self, search_id: int) -> SearchShown:
        return search_shown(case_search.get_search(self.ws, user=self.user, search_id=search_id))

    def thumbnail(self, photo_id: int, size: int = 128) -> npt.NDArray[np.uint8]:
        """A candidate's gallery photo, shrunk for the list (kept: reopening a case is instant).

        The returned array is shared with the cache: read it, never change it.
        """
        key = (photo_id, size)
        with self._thumbs_lock:
            cached = self._thumbs.get(key)
            if cached is not None:
                self._thumbs.move_to_end(key)
                return cached
        data = case_gallery.photo_image(self.ws, photo_id=photo_id)
        rgb = decode_image(data, max_pixels=self.ws.settings.max_image_pixels).rgb
        height, width = rgb.shape[:2]
        step = max(1, min(height, width) // size)
        thumb = np.ascontiguousarray(rgb[::step, ::step])
        with self._thumbs_lock:
            self._thumbs[key] = thumb
            while len(self._thumbs) > THUMBNAIL_CACHE_SIZE:
                self._thumbs.popitem(last=False)
        return thumb

    # ------------------------------------------------------------------------------ compare
    def probe_faces(self, probe_id: int, version_id: int) -> tuple[FaceSide, FaceSide | None]:
        """The original probe (always) and, when ``version_id``, that edited copy."""
        probe = case_probes.get_probe(self.ws, user=self.user, probe_id=probe_id)
        original = self._shown(probe, 0)
        original_face = self._chosen_face(probe.faces, probe.chosen_face_index)
        original_side = face_side(original.rgb, original_face, "Probe (original)")
        if not version_id:
            return original_side, None
        edited = self._shown(probe, version_id)
        version = next(v for v in probe.versions if v.version_id == version_id)
        edited_face = self._chosen_face(version.faces, version.chosen_face_index)
        return original_side, face_side(edited.rgb, edited_face,
                                        f"Probe (EDITED copy {version_id})")

    @staticmethod
    def _chosen_face(faces: Sequence[DetectedFace], chosen: int | None) -> DetectedFace | None:
        if chosen is not None and 0 <= chosen < len(faces):
            return faces[chosen]
        return faces[0] if len(faces) == 1 else None

    def candidate_face(self, row: CandidateRow) -> FaceSide:
        """A candidate's gallery photo with its markup (the subject's one face)."""
        data = case_gallery.photo_image(self.ws, photo_id=row.photo_id)
        rgb = decode_image(data, max_pixels=self.ws.settings.max_image_pixels,
                           name=f"photo of {row.subject_reference}").rgb
        faces, _message = case_probes.detect_faces(rgb)
        face = max(faces, key=lambda f: f.size) if faces else None
        return face_side(rgb, face, f"Candidate #{row.rank} {row.subject_reference}")

    def comparisons_of(self, request_id: int) -> dict[int, ComparisonSummary]:
        """This user's comparisons of the request, newest per candidate."""
        found: dict[int, ComparisonSummary] = {}
        for summary in case_comparisons.list_comparisons(
            self.ws, user=self.user, request_id=request_id
        ):
            if summary.examiner_id == self.user.user_id:
                found[summary.candidate_id] = summary
        return found

    def start_comparison(self, candidate_id: int) -> ComparisonSummary:
        return case_comparisons.start_comparison(
            self.ws, user=self.user, candidate_id=candidate_id
        )

    def record_answer(
        self, comparison_id: int, item_id: str, answer: str, note: str, *, against_original: bool
    ) -> ComparisonSummary:
        return case_comparisons.record_answer(
            self.ws, user=self.user, comparison_id=comparison_id, item_id=item_id,
            answer=answer, note=note, against_original=against_original,
        )

    def conclude(
        self, comparison_id: int, conclusion: str, *, against_original: bool
    ) -> ComparisonSummary:
        return case_comparisons.conclude(
            self.ws, user=self.user, comparison_id=comparison_id, conclusion=conclusion,
            against_original=against_original,
        )

    def attach_screenshot(self, comparison_id: int, png: bytes, caption: str
                          ) -> AttachmentSummary:
        return case_comparisons.attach_screenshot(
            self.ws, user=self.user, comparison_id=comparison_id, image_bytes=png,
            caption=caption,
        )

    def conclusion_gate(self, answers: Mapping[str, str]) -> tuple[bool, str]:
        """The policy's rule for the conclusion buttons (casework checks it again)."""
        decision = evaluate_conclusion(self.ws.worksheet, answers)
        return decision.allowed, decision.reason

    # ------------------------------------------------------------------------------ review
    def submit_for_review(self, comparison_id: int) -> ReviewQueueEntry:
        return case_reviews.submit_for_review(
            self.ws, user=self.user, comparison_id=comparison_id
        )

    def skip_review(self, comparison_id: int, reason: str) -> ReviewSkipSummary:
        return case_reviews.skip_review(
            self.ws, user=self.user, comparison_id=comparison_id, reason=reason
        )

    def review_entries(self, request_id: int | None = None) -> list[ReviewQueueEntry]:
        """Comparisons waiting for this user's second review (of one request, or all)."""
        entries = case_reviews.review_queue(self.ws, user=self.user)
        return [e for e in entries if request_id is None or e.request_id == request_id]

    def start_review(self, comparison_id: int) -> ReviewView:
        """Take the comparison for review (or resume it) and return what the reviewer sees."""
        review = case_reviews.start_review(self.ws, user=self.user, comparison_id=comparison_id)
        return self.review_view(review.review_id)

    def review_view(self, review_id: int) -> ReviewView:
        return case_reviews.review_view(self.ws, user=self.user, review_id=review_id)

    def record_review_answer(self, review_id: int, item_id: str, answer: str, note: str
                             ) -> ReviewSummary:
        return case_reviews.record_review_answer(
            self.ws, user=self.user, review_id=review_id, item_id=item_id, answer=answer,
            note=note,
        )

    def record_review(self, review_id: int, conclusion: str) -> ReviewView:
        """Record the reviewer's conclusion; the returned view reveals the first examiner's."""
        case_reviews.record_review(
            self.ws, user=self.user, review_id=review_id, conclusion=conclusion
        )
        return self.review_view(review_id)

    def pair_faces(self, pair: PairView) -> tuple[FaceSide, FaceSide]:
        """The original probe and the candidate of a stored pair, with their regions."""
        max_pixels = self.ws.settings.max_image_pixels
        probe_rgb = decode_image(pair.probe_original.data, max_pixels=max_pixels,
                                 name="probe").rgb
        candidate_rgb = decode_image(pair.candidate_image.data, max_pixels=max_pixels,
                                     name="candidate photo").rgb
        probe = face_side(probe_rgb, pair.probe_face, "Probe (original)")
        faces, _message = case_probes.detect_faces(candidate_rgb)
        face = max(faces, key=lambda f: f.size) if faces else None
        candidate = face_side(
            candidate_rgb, face,
            f"Candidate #{pair.candidate.rank} {pair.candidate.subject_reference}",
        )
        return probe, candidate

    # ------------------------------------------------------------------------------ probes
    def probes(self, request_id: int) -> list[ProbeSummary]:
        return case_probes.list_probes(self.ws, user=self.user, request_id=request_id)

    def add_probe(self, request_id: int, data: bytes, name: str) -> ProbeShown:
        probe = case_probes.add_probe(
            self.ws, user=self.user, request_id=request_id, image_bytes=data, original_name=name
        )
        return self._shown(probe, 0)

    def add_probe_file(self, request_id: int, path: str) -> ProbeShown:
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            raise InvalidInput(f"The file {path} cannot be read: {exc.strerror or exc}.") from exc
        return self.add_probe(request_id, data, Path(path).name)

    def show_probe(self, probe_id: int, version_id: int = 0) -> ProbeShown:
        probe = case_probes.get_probe(self.ws, user=self.user, probe_id=probe_id)
        return self._shown(probe, version_id)

    def choose_face(self, probe_id: int, version_id: int, face_index: int) -> ProbeShown:
        probe = case_probes.choose_face(
            self.ws, user=self.user, probe_id=probe_id, face_index=face_index,
            version_id=version_id or None,
        )
        return self._shown(probe, version_id)

    def edit_probe(
        self, probe_id: int, parent_version_id: int, name: str, params: Mapping[str, Any]
    ) -> ProbeShown:
        operation = EditOperation(name, dict(params))
        version = case_probes.edit_probe(
            self.ws, user=self.user, probe_id=probe_id,
            parent_version_id=parent_version_id or None, operation=operation,
        )
        return self.show_probe(probe_id, version.version_id)

    def _shown(self, probe: ProbeSummary, version_id: int) -> ProbeShown:
        target: ProbeSummary | ProbeVersionSummary = probe
        if version_id:
            found = next((v for v in probe.versions if v.version_id == version_id), None)
            if found is None:
                raise InvalidInput(f"Probe {probe.probe_id} has no edited copy {version_id}.")
            target = found
        image = case_probes.load_probe_image(
            self.ws, user=self.user, probe_id=probe.probe_id, version_id=version_id or None
        )
        name = probe.original_name if not version_id else f"edited copy {version_id}"
        rgb = decode_image(image.data, max_pixels=self.ws.settings.max_image_pixels,
                           name=name).rgb
        faces = face_boxes(target.faces)
        if isinstance(target, ProbeVersionSummary):
            size = f"{target.width} x {target.height}"
            caption = f"EDITED copy {version_id}: {target.description} ({size})"
        else:
            caption = f"Original: {probe.original_name} ({probe.width} x {probe.height})"
        message = target.detection_message
        if len(faces) > 1 and target.chosen_face_index is None:
            message = f"{message} Click the face to search with (or press its number).".strip()
        return ProbeShown(
            probe=probe,
            version_id=version_id,
            rgb=rgb,
            faces=faces,
            chosen=target.chosen_face_index,
            caption=caption,
            message=message,
            quality=tuple(quality_rows(_measures(target.quality))),
            warnings=tuple(probe.decode_notes) if not version_id else (),
            versions=version_rows(probe),
        )


__all__ = [
    "CaseDesk",
    "CaseState",
    "ProbeShown",
    "SearchShown",
    "face_boxes",
    "face_side",
    "request_row",
    "search_shown",
    "version_rows",
]
