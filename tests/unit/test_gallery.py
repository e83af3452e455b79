"""Gallery casework: enrolment, sealing (database and index at once), expunging, search, and the
proof that searching with probes never changes the gallery (MPTC IV.C, VI.D)."""

# ruff: noqa: F811 (the fixtures imported from gallery_support are used as arguments)

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from gallery_support import (  # noqa: F401 (fixtures)
    PHOTO_DATE,
    admin,
    descriptor_of,
    examiner,
    gallery_ws,
    installed_models,
    lfw_people,
    no_face_png,
    supervisor,
    two_faces_jpeg,
)
from sqlalchemy import select, text

from app.casework import gallery
from app.casework.accounts import SignedInUser
from app.casework.gallery_engine import gallery_embedder
from app.casework.gallery_reembed import reembed_gallery
from app.casework.gallery_search import search_gallery
from app.casework.index_sync import index_path, index_report, synced_index
from app.casework.workstation import Workstation
from app.engine.images import decode_image
from app.engine.index import FaceIndex
from app.engine.pipeline import FacePipeline
from app.errors import ImageError, InvalidInput, NotFound, PermissionDenied, PolicyViolation
from app.records.audit import iter_events
from app.records.gallery_models import GalleryChange, GalleryPhoto, GallerySubject, PhotoEmbedding
from app.records.models import AuditEvent, EvidenceFile

People = dict[str, list[gallery.EnrolResult]]


def enrol_people(ws: Workstation, by: SignedInUser, lfw_dir: Path, count: int = 4) -> People:
    enrolled: People = {}
    for name, paths in lfw_people(lfw_dir)[:count]:
        for number, path in enumerate(paths):
            result = gallery.enrol_photo(
                ws,
                by=by,
                subject_reference=f"SID-{name}",
                name=name.replace("_", " "),
                image_bytes=path.read_bytes(),
                file_name=path.name,
                photo_date=f"20{10 + number}-03-0{1 + number}",
                source_type="arrest_photograph",
                source_reference=f"ARR-{name}-{number}",
                lawful_basis="Arrest photograph held under state law",
            )
            enrolled.setdefault(name, []).append(result)
    return enrolled


def events(ws: Workstation, action: str) -> list[AuditEvent]:
    with ws.database.session(read_only=True) as session:
        return [e for e in iter_events(session) if e.action == action]


def first_photo(lfw_dir: Path, index: int = 0) -> tuple[str, Path]:
    name, paths = lfw_people(lfw_dir)[index]
    return name, paths[0]


# ------------------------------------------------------------------------------ enrolment
def test_enrol_photo_stores_record_embedding_change_and_audit(
    gallery_ws: Workstation, admin: SignedInUser, lfw_dir: Path
) -> None:
    ws = gallery_ws
    _name, path = first_photo(lfw_dir)
    data = path.read_bytes()
    result = gallery.enrol_photo(
        ws,
        by=admin,
        subject_reference=" SID-1 ",
        name="Jo Example",
        date_of_birth="1980-02-03",
        sex="F",
        descriptors={"eye colour": "brown"},
        image_bytes=data,
        file_name=path.name,
        photo_date=PHOTO_DATE,
        source_type="arrest_photograph",
        source_reference="ARR-77",
        lawful_basis="Booking photograph",
    )
    sha = hashlib.sha256(data).hexdigest()
    assert (result.subject_reference, result.evidence_sha256) == ("SID-1", sha)
    assert result.new_subject and not result.already_in_gallery and result.generation == 1
    assert ws.evidence.get(sha) == data
    with ws.database.session(read_only=True) as session:
        subject = session.execute(select(GallerySubject)).scalar_one()
        photo = session.execute(select(GalleryPhoto)).scalar_one()
        embedding = session.execute(select(PhotoEmbedding)).scalar_one()
        change = session.execute(select(GalleryChange)).scalar_one()
        assert (subject.name, subject.date_of_birth.isoformat(), subject.sex) == (
            "Jo Example",
            "1980-02-03",
            "F",
        )
        assert subject.descriptors == {"eye colour": "brown"}
        assert (photo.source_type, photo.source_reference, photo.lawful_basis) == (
            "arrest_photograph",
            "ARR-77",
            "Booking photograph",
        )
        assert photo.enrolled_by == "boss" and photo.quality and len(photo.face_box or []) == 4
        assert embedding.model_name == "dlib-resnet-v1" and embedding.dim == 128
        assert len(embedding.vector) == 128 * 4
        assert (change.sequence, change.photo_id, change.kind) == (1, photo.id, "add")
        assert session.get(EvidenceFile, sha) is not None
    [event] = events(ws, "gallery.photo_enrolled")
    details = event.details_dict
    assert details["evidence_sha256"] == sha and details["source_reference"] == "ARR-77"
    assert details["new_subject"] is True and event.actor == "boss"
    # The photo is in the index at once (in memory; saved later).
    live, _ = synced_index(ws)
    assert result.photo_id in live.index


def test_the_same_photo_twice_is_one_photo(
    gallery_ws: Workstation, admin: SignedInUser, lfw_dir: Path
) -> None:
    ws = gallery_ws
    _name, path = first_photo(lfw_dir)
    kwargs = dict(
        subject_reference="SID-1",
        image_bytes=path.read_bytes(),
        photo_date=PHOTO_DATE,
        source_type="arrest_photograph",
        source_reference="ARR-1",
    )
    first = gallery.enrol_photo(ws, by=admin, **kwargs)  # type: ignore[arg-type]
    again = gallery.enrol_photo(ws, by=admin, **kwargs)  # type: ignore[arg-type]
    assert again.already_in_gallery and again.photo_id == first.photo_id
    stats = gallery.gallery_stats(ws)
    assert (stats.photos, stats.subjects, stats.generation) == (1, 1, 1)


def test_enrolment_refusals_are_plain_and_change_nothing(
    gallery_ws: Workstation, admin: SignedInUser, examiner: SignedInUser, lfw_dir: Path
) -> None:
    ws = gallery_ws
    people = lfw_people(lfw_dir)
    good = people[0][1][0].read_bytes()
    base = dict(
        subject_reference="SID-9",
        photo_date=PHOTO_DATE,
        source_type="arrest_photograph",
        source_reference="ARR-9",
    )
    with pytest.raises(PermissionDenied, match="administrator or supervisor"):
        gallery.enrol_photo(ws, by=examiner, image_bytes=good, **base)  # type: ignore[arg-type]
    assert events(ws, "permission.denied")[-1].actor == "exa"
    with pytest.raises(PolicyViolation, match="not allowed"):
        gallery.enrol_photo(
            ws,
            by=admin,
            image_bytes=good,
            **{**base, "source_type": "social_media"},  # type: ignore[arg-type]
        )
    with pytest.raises(InvalidInput, match="future"):
        gallery.enrol_photo(ws, by=admin, image_bytes=good, **{**base, "photo_date": "2099-01-01"})  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="YYYY-MM-DD"):
        gallery.enrol_photo(ws, by=admin, image_bytes=good, **{**base, "photo_date": "3/4/2020"})  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="source reference is missing"):
        gallery.enrol_photo(ws, by=admin, image_bytes=good, **{**base, "source_reference": " "})  # type: ignore[arg-type]
    with pytest.raises(ImageError, match="No face"):
        gallery.enrol_photo(ws, by=admin, image_bytes=no_face_png(), **base)  # type: ignore[arg-type]
    with pytest.raises(ImageError, match=r"not a picture|not an image|cannot be"):
        gallery.enrol_photo(ws, by=admin, image_bytes=b"plain text, no picture", **base)  # type: ignore[arg-type]
    two = two_faces_jpeg(people[0][1][0], people[1][1][0])
    with pytest.raises(ImageError, match="2 faces"):
        gallery.enrol_photo(ws, by=admin, image_bytes=two, **base)  # type: ignore[arg-type]
    assert gallery.gallery_stats(ws).photos == 0
    # A subject reference means one person: a different name is refused.
    gallery.enrol_photo(ws, by=admin, image_bytes=good, name="Ann One", **base)  # type: ignore[arg-type]
    other = people[0][1][1].read_bytes()
    with pytest.raises(InvalidInput, match="under the name 'Ann One'"):
        gallery.enrol_photo(ws, by=admin, image_bytes=other, name="Bea Two", **base)  # type: ignore[arg-type]
    assert gallery.gallery_stats(ws).photos == 1


# ------------------------------------------------------------------------------ search
def test_search_finds_the_subject_first_grouped_with_every_photo(
    gallery_ws: Workstation, admin: SignedInUser, lfw_dir: Path
) -> None:
    ws = gallery_ws
    enrolled = enrol_people(ws, admin, lfw_dir)
    name, paths = lfw_people(lfw_dir)[1]
    probe = descriptor_of(ws, paths[0].read_bytes())
    outcome = search_gallery(ws, embedding=probe, top_k=3)
    assert outcome.method == "exact" and outcome.top_k == 3 and outcome.ef is None
    assert outcome.model_name == "dlib-resnet-v1" and outcome.metric == "euclidean"
    assert len(outcome.model_sha256) == 64 and outcome.model_version == "1"
    assert outcome.threshold == pytest.approx(0.6)
    assert outcome.index_generation == gallery.gallery_stats(ws).generation
    assert outcome.gallery_size == sum(len(v) for v in enrolled.values())
    assert outcome.duration_seconds > 0
    assert [c.rank for c in outcome.candidates] == [1, 2, 3]
    top = outcome.candidates[0]
    assert top.subject_reference == f"SID-{name}"
    assert top.photo_id == enrolled[name][0].photo_id and top.score == pytest.approx(0, abs=1e-4)
    assert top.within_threshold
    # Every photo of the subject comes with the candidate, newest first.
    assert {p.photo_id for p in top.all_photos} == {r.photo_id for r in enrolled[name]}
    dates = [p.photo_date for p in top.all_photos]
    assert dates == sorted(dates, reverse=True) and top.most_recent_photo_date == dates[0]
    scores = [c.score for c in outcome.candidates]
    assert scores == sorted(scores)
    assert len({c.subject_id for c in outcome.candidates}) == 3  # one entry per subject
    record = outcome.to_dict()
    assert record["parameters"]["k"] == 3 and record["candidates"][0]["rank"] == 1


def test_exact_and_hnsw_search_agree_on_a_small_gallery(
    gallery_ws: Workstation, admin: SignedInUser, lfw_dir: Path
) -> None:
    ws = gallery_ws
    enrol_people(ws, admin, lfw_dir, count=6)
    for _name, paths in lfw_people(lfw_dir)[:6]:
        probe = descriptor_of(ws, paths[-1].read_bytes())
        exact = search_gallery(ws, embedding=probe, top_k=5, exact=True)
        approx = search_gallery(ws, embedding=probe, top_k=5, exact=False)
        assert approx.method == "hnsw" and approx.ef is not None and approx.ef >= 5
        assert [c.subject_id for c in exact.candidates] == [c.subject_id for c in approx.candidates]
        assert np.allclose(
            [c.score for c in exact.candidates], [c.score for c in approx.candidates], atol=1e-4
        )


def test_search_refuses_a_descriptor_of_another_model(
    gallery_ws: Workstation, admin: SignedInUser
) -> None:
    with pytest.raises(InvalidInput, match="128"):
        search_gallery(gallery_ws, embedding=np.zeros(512, np.float32))
    with pytest.raises(InvalidInput, match="between 1 and"):
        search_gallery(gallery_ws, embedding=np.zeros(128, np.float32), top_k=0)


# ------------------------------------------------------------------------------ sealing
def saved_index(ws: Workstation) -> FaceIndex:
    return FaceIndex.open(index_path(ws, ws.settings.model_name), threads=1)


def test_sealed_subject_never_appears_and_unsealing_restores(
    gallery_ws: Workstation, admin: SignedInUser, supervisor: SignedInUser, lfw_dir: Path
) -> None:
    ws = gallery_ws
    enrolled = enrol_people(ws, admin, lfw_dir)
    name, paths = lfw_people(lfw_dir)[2]
    reference = f"SID-{name}"
    ids = {r.photo_id for r in enrolled[name]}
    probes = [descriptor_of(ws, p.read_bytes()) for p in paths]
    live, _ = synced_index(ws)  # the index a search window holds open
    result = gallery.seal_subject(
        ws, by=supervisor, subject_reference=reference, reason="Court order 12"
    )
    assert result.sealed and set(result.photo_ids) == ids
    # In the open index and in the saved one, before the call returned.
    assert not any(pid in live.index for pid in ids)
    assert all(saved_index(ws).is_deleted(pid) for pid in ids)
    for probe in probes:
        for exact in (True, False):
            outcome = search_gallery(ws, embedding=probe, top_k=10, exact=exact)
            assert reference not in {c.subject_reference for c in outcome.candidates}
            assert not ids & {p.photo_id for c in outcome.candidates for p in c.all_photos}
    assert gallery.live_photo_ids(ws, photo_ids=ids) == frozenset()
    with pytest.raises(PolicyViolation, match="sealed"):
        gallery.get_photo(ws, photo_id=min(ids))
    with pytest.raises(PolicyViolation, match="sealed"):
        gallery.get_subject(ws, by=admin, subject_reference=reference)
    assert gallery.get_subject(ws, by=supervisor, subject_reference=reference, include_sealed=True)
    assert reference not in {s.subject_reference for s in gallery.find_subjects(ws, by=admin)}
    [event] = events(ws, "gallery.subject_sealed")
    assert event.actor == "sup" and event.details_dict["reason"] == "Court order 12"
    with pytest.raises(PolicyViolation, match="already sealed"):
        gallery.seal_subject(ws, by=supervisor, subject_reference=reference, reason="again")

    gallery.unseal_subject(ws, by=admin, subject_reference=reference, reason="Order vacated")
    assert all(pid in live.index for pid in ids)
    outcome = search_gallery(ws, embedding=probes[0], top_k=3)
    assert outcome.candidates[0].subject_reference == reference
    assert len(events(ws, "gallery.subject_unsealed")) == 1


def test_sealed_photo_is_out_while_the_subjects_other_photos_stay(
    gallery_ws: Workstation, admin: SignedInUser, lfw_dir: Path
) -> None:
    ws = gallery_ws
    enrolled = enrol_people(ws, admin, lfw_dir, count=3)
    name, paths = lfw_people(lfw_dir)[0]
    sealed_id, kept_id = enrolled[name][0].photo_id, enrolled[name][1].photo_id
    gallery.seal_photo(ws, by=admin, photo_id=sealed_id, reason="Wrong person photographed")
    probe = descriptor_of(ws, paths[0].read_bytes())
    for exact in (True, False):
        outcome = search_gallery(ws, embedding=probe, top_k=3, exact=exact)
        photo_ids = {p.photo_id for c in outcome.candidates for p in c.all_photos}
        assert sealed_id not in photo_ids and kept_id in photo_ids
        assert outcome.candidates[0].subject_reference == f"SID-{name}"
    assert gallery.live_photo_ids(ws, photo_ids=[sealed_id, kept_id]) == {kept_id}
    gallery.unseal_photo(ws, by=admin, photo_id=sealed_id, reason="Checked again")
    assert search_gallery(ws, embedding=probe, top_k=1).candidates[0].photo_id == sealed_id


def test_only_supervisors_and_administrators_seal_with_a_reason(
    gallery_ws: Workstation, admin: SignedInUser, examiner: SignedInUser, lfw_dir: Path
) -> None:
    ws = gallery_ws
    enrolled = enrol_people(ws, admin, lfw_dir, count=1)
    reference = f"SID-{next(iter(enrolled))}"
    with pytest.raises(PermissionDenied, match="administrator or supervisor"):
        gallery.seal_subject(ws, by=examiner, subject_reference=reference, reason="because")
    assert events(ws, "permission.denied")[-1].actor == "exa"
    with pytest.raises(InvalidInput, match="reason is required"):
        gallery.seal_subject(ws, by=admin, subject_reference=reference, reason="  ")
    with pytest.raises(NotFound):
        gallery.seal_subject(ws, by=admin, subject_reference="SID-nobody", reason="because")
    assert gallery.gallery_stats(ws).sealed_subjects == 0


def test_search_drops_a_photo_sealed_behind_the_index_back(
    gallery_ws: Workstation, admin: SignedInUser, lfw_dir: Path
) -> None:
    # Belt and braces: a row sealed without a change-log entry (the index cannot know) is still
    # dropped, because every candidate is checked against the database.
    ws = gallery_ws
    enrolled = enrol_people(ws, admin, lfw_dir, count=2)
    name, paths = lfw_people(lfw_dir)[0]
    target = enrolled[name][0].photo_id
    with ws.database.engine.begin() as conn:
        conn.execute(
            text("UPDATE gallery_photos SET sealed = :t, sealed_at = :at WHERE id = :id"),
            {"t": True, "at": "2026-01-01 00:00:00", "id": target},
        )
    outcome = search_gallery(ws, embedding=descriptor_of(ws, paths[0].read_bytes()), top_k=5)
    assert target not in {p.photo_id for c in outcome.candidates for p in c.all_photos}
    assert outcome.dropped_sealed == 1


# ------------------------------------------------------------------------------ expunging
def test_expunge_deletes_rows_and_files_and_keeps_only_hashes_in_the_audit(
    gallery_ws: Workstation, admin: SignedInUser, lfw_dir: Path
) -> None:
    ws = gallery_ws
    enrolled = enrol_people(ws, admin, lfw_dir, count=2)
    name, paths = lfw_people(lfw_dir)[1]
    hashes = {r.evidence_sha256 for r in enrolled[name]}
    ids = {r.photo_id for r in enrolled[name]}
    result = gallery.expunge_subject(
        ws, by=admin, subject_reference=f"SID-{name}", reason="Expungement order 5"
    )
    assert result.photos_removed == len(ids) and result.evidence_files_removed == len(ids)
    assert not any(ws.evidence.exists(sha) for sha in hashes)
    with ws.database.session(read_only=True) as session:
        assert session.execute(select(GalleryPhoto).where(GalleryPhoto.id.in_(ids))).first() is None
        assert (
            session.execute(select(PhotoEmbedding).where(PhotoEmbedding.photo_id.in_(ids))).first()
            is None
        )
        assert all(session.get(EvidenceFile, sha) is None for sha in hashes)
    [event] = events(ws, "gallery.subject_expunged")
    assert set(event.details_dict["evidence_sha256"]) == hashes
    assert name.replace("_", " ") not in event.details
    with pytest.raises(NotFound):
        gallery.get_subject(ws, by=admin, subject_reference=f"SID-{name}")
    outcome = search_gallery(ws, embedding=descriptor_of(ws, paths[0].read_bytes()), top_k=5)
    assert f"SID-{name}" not in {c.subject_reference for c in outcome.candidates}
    assert not any(pid in saved_index(ws) for pid in ids)


# ------------------------------------------------------------------------------ VI.D
def gallery_fingerprint(ws: Workstation) -> tuple[object, ...]:
    """Every gallery row, every evidence hash and the index files, as comparable values."""
    tables = (
        "gallery_subjects",
        "gallery_photos",
        "gallery_embeddings",
        "gallery_changes",
        "gallery_import_batches",
        "evidence_files",
    )
    with ws.database.engine.connect() as conn:
        rows = tuple(
            tuple(map(tuple, conn.execute(text(f"SELECT * FROM {t} ORDER BY 1")).all()))
            for t in tables
        )
    folder = index_path(ws, ws.settings.model_name)
    files = tuple(
        (p.name, hashlib.sha256(p.read_bytes()).hexdigest()) for p in sorted(folder.iterdir())
    )
    return rows, tuple(ws.evidence.iter_hashes()), files


def test_probes_never_enter_the_gallery_or_the_index(
    gallery_ws: Workstation, admin: SignedInUser, lfw_dir: Path
) -> None:
    ws = gallery_ws
    enrol_people(ws, admin, lfw_dir, count=3)
    synced_index(ws)  # saved, so the files are there to compare
    before = gallery_fingerprint(ws)
    live, _ = synced_index(ws)
    stored_before = live.index.stored_count
    # Probes: gallery people's other photos and people who are not in the gallery at all.
    probe_paths = [p for _n, paths in lfw_people(lfw_dir)[:6] for p in paths]
    rng = np.random.default_rng(5)
    probes = [descriptor_of(ws, p.read_bytes()) for p in probe_paths]
    probes += [rng.normal(0, 0.1, 128).astype(np.float32) for _ in range(20)]
    for number, probe in enumerate(probes):
        search_gallery(ws, embedding=probe, top_k=5, exact=bool(number % 2))
    assert gallery_fingerprint(ws) == before
    assert live.index.stored_count == stored_before


def test_stats_and_lookups(gallery_ws: Workstation, admin: SignedInUser, lfw_dir: Path) -> None:
    ws = gallery_ws
    enrolled = enrol_people(ws, admin, lfw_dir, count=3)
    name = next(iter(enrolled))
    stats = gallery.gallery_stats(ws)
    total = sum(len(v) for v in enrolled.values())
    assert (stats.subjects, stats.photos, stats.searchable_photos) == (3, total, total)
    assert stats.embeddings_by_model == {"dlib-resnet-v1": total}
    found = gallery.find_subjects(ws, by=admin, name_contains=name.split("_")[-1].lower())
    assert [s.subject_reference for s in found] == [f"SID-{name}"]
    assert len(gallery.find_subjects(ws, by=admin, reference_prefix="SID-")) == 3
    assert gallery.find_subjects(ws, by=admin, reference_prefix="SID_%") == []
    detail = gallery.get_subject(ws, by=admin, subject_reference=f"SID-{name}")
    assert detail.summary.photo_count == len(enrolled[name])
    assert {p.photo_id for p in detail.photos} == {r.photo_id for r in enrolled[name]}
    assert detail.photos[0].models == ("dlib-resnet-v1",)
    photo_id = enrolled[name][0].photo_id
    assert gallery.photo_image(ws, photo_id=photo_id) == lfw_people(lfw_dir)[0][1][0].read_bytes()


# ------------------------------------------------------------------------------ descriptors
def test_gallery_descriptors_match_the_pipelines_and_follow_the_manifest(
    gallery_ws: Workstation, admin: SignedInUser, lfw_dir: Path
) -> None:
    ws = gallery_ws
    # The gallery describes a face exactly as the face pipeline does (mirror average included).
    name, paths = lfw_people(lfw_dir)[0]
    embedder = gallery_embedder(ws.settings, ws.settings.model_name)
    assert getattr(embedder.manifest, "mirror_average", False)
    data = paths[0].read_bytes()
    pipeline = FacePipeline(embedder)
    rgb = decode_image(data).rgb
    described = pipeline.describe(rgb, pipeline.detect(rgb).faces[0])
    assert np.allclose(descriptor_of(ws, data), described.embedding, atol=1e-5)

    enrolled = enrol_people(ws, admin, lfw_dir, count=2)
    count = sum(len(v) for v in enrolled.values())
    # A manifest change that alters the descriptors: the old ones are no longer compared ...
    manifest_file = ws.settings.models_dir / ws.settings.model_name / "manifest.toml"
    text = manifest_file.read_text(encoding="utf-8")
    manifest_file.write_text(
        text.replace("mirror_average = true", "mirror_average = false"), encoding="utf-8"
    )
    report = index_report(ws)
    assert report.photos_needing_descriptors == count and report.live_photos_in_database == 0
    probe = descriptor_of(ws, data)
    assert search_gallery(ws, embedding=probe).candidates == ()
    # ... until the gallery is described again with the model as it is now.
    result = reembed_gallery(ws, by=admin)
    assert (result.photos, result.described, result.failed) == (count, count, ())
    assert index_report(ws).photos_needing_descriptors == 0
    top = search_gallery(ws, embedding=probe, top_k=1).candidates[0]
    assert top.subject_reference == f"SID-{name}" and top.score == pytest.approx(0, abs=1e-4)
    assert len(events(ws, "gallery.photos_described")) == 1
