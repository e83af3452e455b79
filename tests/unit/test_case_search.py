"""The gated search: who may search (III.B, IV.A, VII), complete requests only (IV.B, IV.D, V.B),
everything recorded (model, index, parameters, candidates), sealed subjects never returned
(IV.C), probes never touching the gallery (VI.D). Each refusal is audited as search.refused."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from case_support import (
    SearchedCase,
    acknowledge,
    add_user,
    count_rows,
    enrol_yale_gallery,
    events,
    intake,
    load_case,
    make_people,
    yale_photo,
)
from PIL import Image
from sqlalchemy import func, select, update

from app.casework import gallery, probes, requests, search
from app.casework.accounts import SignedInUser
from app.casework.workstation import Workstation
from app.engine.edits import EditOperation
from app.errors import ImportCancelled, InvalidInput, PermissionDenied, PolicyViolation
from app.policy.profiles import load_profile
from app.policy.roles import Role
from app.records.case_models import CaseRequest, CaseSearch, SearchCandidate
from app.records.gallery_models import GalleryChange, GalleryPhoto, GallerySubject, PhotoEmbedding


@pytest.fixture
def case(ws: Workstation, yale_dir: Path) -> SearchedCase:
    return load_case(ws, yale_dir)


def _open_with_probe(ws: Workstation, user: SignedInUser, yale_dir: Path) -> int:
    request = requests.open_request(ws, user=user, intake=intake())
    probes.add_probe(
        ws,
        user=user,
        request_id=request.request_id,
        image_bytes=yale_photo(yale_dir, "03", "sad"),
        original_name="probe.gif",
    )
    return request.request_id


# ----------------------------------------------------------------------------- the record
def test_search_records_model_index_parameters_and_whole_candidate_list(
    ws: Workstation, case: SearchedCase
) -> None:
    summary = case.search
    assert summary.candidates[0].subject_reference == "YALE-03"  # the same person ranks first
    assert len(summary.candidates) == 6  # the whole list: every subject of the small gallery
    assert [c.rank for c in summary.candidates] == [1, 2, 3, 4, 5, 6]
    scores = [c.score for c in summary.candidates]
    assert scores == sorted(scores)
    assert summary.model_name == ws.settings.model_name
    assert len(summary.model_sha256) == 64
    assert summary.index_generation == 6 and summary.gallery_size == 6
    assert (summary.method, summary.k, summary.ef) == ("exact", ws.profile.search_top_k, None)
    assert summary.threshold is not None and summary.score_meaning
    assert summary.probe_version_id is None
    assert summary.lead_banner == ws.profile.report.banner
    best = summary.candidates[0]
    assert (best.source_type, best.source_reference) == ("arrest_photograph", "ARR-03")
    assert best.photo_id == case.photos["YALE-03"]
    assert str(best.most_recent_photo_date) == "2020-01-03"
    assert count_rows(ws, SearchCandidate) == 6
    event = events(ws, "search.run")[0]
    assert event.actor == "erin"
    assert event.details_dict["index_generation"] == 6
    assert event.details_dict["candidates"][0][1] == "YALE-03"
    assert requests.get_request(
        ws, user=case.people.examiner, request_id=case.request_id
    ).status == ("searched")
    again = search.get_search(ws, user=case.people.examiner, search_id=summary.search_id)
    assert again.candidates == summary.candidates


def test_search_with_an_edited_copy_records_the_copy(ws: Workstation, case: SearchedCase) -> None:
    copy = probes.edit_probe(
        ws,
        user=case.people.examiner,
        probe_id=case.probe_id,
        parent_version_id=None,
        operation=EditOperation("contrast", {"amount": 15}),
    )
    steps: list[tuple[int, int, str]] = []
    summary = search.run_search(
        ws,
        user=case.people.examiner,
        request_id=case.request_id,
        probe_version_id=copy.version_id,
        progress=lambda done, total, message: steps.append((done, total, message)),
    )
    assert [s[0] for s in steps if s[1] == 3] == [0, 1, 2, 3]
    assert steps[-1] == (3, 3, "Search recorded")
    assert summary.probe_version_id == copy.version_id
    assert summary.searched_sha256 == copy.evidence_sha256
    assert summary.candidates[0].subject_reference == "YALE-03"
    assert len(search.list_searches(ws, user=case.people.examiner, request_id=case.request_id)) == 2


def test_cancelled_search_records_nothing(ws: Workstation, case: SearchedCase) -> None:
    with pytest.raises(ImportCancelled):
        search.run_search(
            ws, user=case.people.examiner, request_id=case.request_id, cancelled=lambda: True
        )
    assert count_rows(ws, CaseSearch) == 1


# ----------------------------------------------------------------------------- who may search
@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("untrained", "no training record"),
        ("expired", "training expired on"),
        ("not_yet", "not valid until"),
        ("not_acknowledged", "has not acknowledged the policy"),
    ],
)
def test_unqualified_examiner_cannot_search_and_it_is_audited(
    ws: Workstation, yale_dir: Path, kind: str, message: str
) -> None:
    people = make_people(ws)
    options: dict[str, object] = {
        "untrained": {"trained": False},
        "expired": {"training_days": (-400, -35)},
        "not_yet": {"training_days": (0, 365)},
        "not_acknowledged": {"acknowledged": False},
    }[kind]  # type: ignore[assignment]
    user = add_user(ws, people.admin, "newbie", frozenset({Role.EXAMINER}), **options)  # type: ignore[arg-type]
    request_id = _open_with_probe(ws, user, yale_dir)
    if kind == "not_yet":  # completed today; seen from three days earlier
        earlier = ws.now() - timedelta(days=3)
        ws.clock = lambda: earlier
    with pytest.raises(PermissionDenied, match=message):
        search.run_search(ws, user=user, request_id=request_id)
    assert count_rows(ws, CaseSearch) == 0
    refused = events(ws, "search.refused")
    assert len(refused) == 1 and refused[0].actor == "newbie"
    assert refused[0].object_id == str(request_id)
    assert message in refused[0].details_dict["reason"]


def test_non_examiner_cannot_search(ws: Workstation, yale_dir: Path) -> None:
    people = make_people(ws)
    request_id = _open_with_probe(ws, people.examiner, yale_dir)
    with pytest.raises(PermissionDenied, match="Only an examiner may run"):
        search.run_search(ws, user=people.supervisor, request_id=request_id)
    assert events(ws, "search.refused")[0].actor == "sam"


def test_changed_policy_file_must_be_acknowledged_again(
    ws: Workstation, yale_dir: Path, tmp_path: Path
) -> None:
    people = make_people(ws)
    request_id = _open_with_probe(ws, people.examiner, yale_dir)
    edited = tmp_path / "agency-policy.toml"
    edited.write_bytes(ws.profile.path.read_bytes() + b"\n# local note\n")
    ws.profile = load_profile(str(edited))
    with pytest.raises(PermissionDenied, match="changed since the examiner acknowledged"):
        search.run_search(ws, user=people.examiner, request_id=request_id)
    acknowledge(ws, people.examiner)
    enrol_yale_gallery(ws, people.admin, yale_dir)
    assert search.run_search(ws, user=people.examiner, request_id=request_id).candidates


def test_only_the_assigned_examiner_searches(ws: Workstation, yale_dir: Path) -> None:
    people = make_people(ws)
    request_id = _open_with_probe(ws, people.examiner, yale_dir)
    with pytest.raises(PermissionDenied, match="assigned to another examiner"):
        search.run_search(ws, user=people.reviewer, request_id=request_id)
    assert events(ws, "search.refused")[0].actor == "rita"


# ----------------------------------------------------------------------------- complete requests
@pytest.mark.parametrize(
    ("column", "message"),
    [
        ("lawful_source_attested_at", "lawfully obtained"),
        ("not_protected_basis_attested_at", "protected characteristics"),
        ("actual_subject_attested_at", "actual subject"),
    ],
)
def test_missing_attestation_blocks_the_search(
    ws: Workstation, yale_dir: Path, column: str, message: str
) -> None:
    people = make_people(ws)
    request_id = _open_with_probe(ws, people.examiner, yale_dir)
    with ws.database.session() as session:  # a record that lost an attestation
        session.execute(
            update(CaseRequest).where(CaseRequest.id == request_id).values({column: None})
        )
    blockers = requests.get_request(ws, user=people.examiner, request_id=request_id)
    assert any(message in b for b in blockers.search_blockers)
    with pytest.raises(PolicyViolation, match=message):
        search.run_search(ws, user=people.examiner, request_id=request_id)
    assert message in events(ws, "search.refused")[0].details_dict["reason"]


def test_purpose_outside_the_active_profile_blocks_the_search(
    ws: Workstation, yale_dir: Path
) -> None:
    people = make_people(ws)
    request_id = _open_with_probe(ws, people.examiner, yale_dir)  # an MPTC purpose
    ws.profile = load_profile("nypd-2020")
    acknowledge(ws, people.examiner)
    with pytest.raises(PolicyViolation, match="is not one of the purposes authorized"):
        search.run_search(ws, user=people.examiner, request_id=request_id)
    assert count_rows(ws, CaseSearch) == 0


def test_request_without_probe_or_face_cannot_be_searched(ws: Workstation) -> None:
    people = make_people(ws)
    request = requests.open_request(ws, user=people.examiner, intake=intake())
    with pytest.raises(PolicyViolation, match="no probe image yet"):
        search.run_search(ws, user=people.examiner, request_id=request.request_id)
    buffer = io.BytesIO()
    Image.fromarray(np.full((80, 80, 3), 200, np.uint8)).save(buffer, format="PNG")
    probes.add_probe(
        ws,
        user=people.examiner,
        request_id=request.request_id,
        image_bytes=buffer.getvalue(),
        original_name="blank.png",
    )
    with pytest.raises(InvalidInput, match="No face was found"):
        search.run_search(ws, user=people.examiner, request_id=request.request_id)


def test_closed_request_cannot_be_searched(ws: Workstation, case: SearchedCase) -> None:
    requests.close_request(
        ws, user=case.people.examiner, request_id=case.request_id, reason="Withdrawn"
    )
    with pytest.raises(PolicyViolation, match="closed"):
        search.run_search(ws, user=case.people.examiner, request_id=case.request_id)


# ----------------------------------------------------------------------------- IV.C and VI.D
def test_sealed_subject_never_appears_even_for_its_own_photo(
    ws: Workstation, case: SearchedCase, yale_dir: Path
) -> None:
    people = case.people
    gallery.seal_subject(
        ws, by=people.admin, subject_reference="YALE-03", reason="Record sealed by court order"
    )
    own_photo = requests.open_request(ws, user=people.examiner, intake=intake())
    probes.add_probe(
        ws,
        user=people.examiner,
        request_id=own_photo.request_id,
        image_bytes=yale_photo(yale_dir, "03", "normal"),  # the gallery photo itself
        original_name="subject03.normal",
    )
    for request_id in (case.request_id, own_photo.request_id):
        result = search.run_search(ws, user=people.examiner, request_id=request_id)
        assert "YALE-03" not in {c.subject_reference for c in result.candidates}
        assert len(result.candidates) == 5
    gallery.unseal_subject(
        ws, by=people.admin, subject_reference="YALE-03", reason="Seal lifted by court order"
    )
    result = search.run_search(ws, user=people.examiner, request_id=own_photo.request_id)
    assert result.candidates[0].subject_reference == "YALE-03"


def _gallery_fingerprint(
    ws: Workstation,
) -> tuple[tuple[int, ...], tuple[str, ...], tuple[tuple[str, str], ...]]:
    with ws.database.session(read_only=True) as session:
        counts = tuple(
            session.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (GallerySubject, GalleryPhoto, PhotoEmbedding, GalleryChange)
        )
        shas = tuple(sorted(session.execute(select(GalleryPhoto.evidence_sha256)).scalars()))
    index_files = tuple(
        (path.name, hashlib.sha256(path.read_bytes()).hexdigest())
        for path in sorted(ws.settings.index_dir.rglob("*"))
        if path.is_file()
    )
    return counts, shas, index_files


def test_probes_never_leak_into_the_gallery_or_its_index(
    ws: Workstation, case: SearchedCase, yale_dir: Path
) -> None:
    people = case.people
    before = _gallery_fingerprint(ws)
    assert before[2], "the index files exist after the first search"
    probe_shas = set()
    for subject, condition in (("07", "wink"), ("08", "glasses"), ("03", "sleepy")):
        request = requests.open_request(ws, user=people.examiner, intake=intake())
        probe = probes.add_probe(
            ws,
            user=people.examiner,
            request_id=request.request_id,
            image_bytes=yale_photo(yale_dir, subject, condition),
            original_name=f"{subject}.{condition}",
        )
        copy = probes.edit_probe(
            ws,
            user=people.examiner,
            probe_id=probe.probe_id,
            parent_version_id=None,
            operation=EditOperation("sharpen", {"amount": 0.5, "radius": 1.0}),
        )
        search.run_search(ws, user=people.examiner, request_id=request.request_id)
        search.run_search(
            ws,
            user=people.examiner,
            request_id=request.request_id,
            probe_version_id=copy.version_id,
        )
        probe_shas |= {probe.original_sha256, copy.evidence_sha256}
    after = _gallery_fingerprint(ws)
    assert after == before
    assert not probe_shas & set(after[1])
