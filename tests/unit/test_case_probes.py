"""Probe evidence: original untouched, edits only on copies (logged, reproducible), mirror refused,
no face is a result, composite sketches refused."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from case_support import People, count_rows, events, intake, make_people, yale_photo
from PIL import Image

from app.casework import probes, requests
from app.casework.workstation import Workstation
from app.engine.edits import EditOperation
from app.errors import ImageError, InvalidInput, PermissionDenied, PolicyViolation
from app.records.case_models import ProbeImage, ProbeVersion
from app.records.evidence import sha256_hex


@pytest.fixture
def people(ws: Workstation) -> People:
    return make_people(ws)


@pytest.fixture
def request_id(ws: Workstation, people: People) -> int:
    return requests.open_request(ws, user=people.examiner, intake=intake()).request_id


def _blank_png() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((120, 160, 3), 128, np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_original_is_stored_untouched_and_its_face_found(
    ws: Workstation, people: People, request_id: int, yale_dir: Path
) -> None:
    data = yale_photo(yale_dir, "07", "happy")
    probe = probes.add_probe(
        ws,
        user=people.examiner,
        request_id=request_id,
        image_bytes=data,
        original_name="C:\\cases\\subject07.happy",
    )
    assert probe.original_sha256 == sha256_hex(data)
    assert ws.evidence.get(probe.original_sha256) == data
    assert probe.original_name == "subject07.happy"
    assert probe.media_type == "image/gif"
    assert len(probe.faces) == 1 and probe.chosen_face_index == 0
    assert probe.quality is not None and probe.quality["measures"]
    loaded = probes.load_probe_image(ws, user=people.examiner, probe_id=probe.probe_id)
    assert loaded.data == data and loaded.version_id is None
    event = events(ws, "probe.added")[0]
    assert event.details_dict["sha256"] == sha256_hex(data)
    assert requests.get_request(ws, user=people.examiner, request_id=request_id).probe_count == 1


def test_no_face_is_a_result_not_an_error(ws: Workstation, people: People, request_id: int) -> None:
    probe = probes.add_probe(
        ws,
        user=people.examiner,
        request_id=request_id,
        image_bytes=_blank_png(),
        original_name="wall.png",
    )
    assert not probe.face_found and probe.chosen_face_index is None
    assert "No face" in probe.detection_message
    with pytest.raises(InvalidInput, match="No face"):
        probes.choose_face(ws, user=people.examiner, probe_id=probe.probe_id, face_index=0)


def test_not_an_image_is_refused_before_anything_is_stored(
    ws: Workstation, people: People, request_id: int
) -> None:
    with pytest.raises(ImageError):
        probes.add_probe(
            ws,
            user=people.examiner,
            request_id=request_id,
            image_bytes=b"%PDF-1.4 not a photo",
            original_name="scan.pdf",
        )
    assert count_rows(ws, ProbeImage) == 0
    assert list(ws.evidence.iter_hashes()) == []


def test_composite_sketch_is_refused_as_a_probe(
    ws: Workstation, people: People, request_id: int, yale_dir: Path
) -> None:
    with pytest.raises(PolicyViolation, match="omposite sketch"):
        probes.add_probe(
            ws,
            user=people.examiner,
            request_id=request_id,
            image_bytes=yale_photo(yale_dir, "07", "happy"),
            original_name="sketch.gif",
            probe_kind="composite_sketch",
        )
    assert count_rows(ws, ProbeImage) == 0
    assert events(ws, "probe.refused")[0].details_dict["probe_kind"] == "composite_sketch"


def test_only_the_assigned_examiner_adds_probes(
    ws: Workstation, people: People, request_id: int, yale_dir: Path
) -> None:
    with pytest.raises(PermissionDenied, match="assigned to another examiner"):
        probes.add_probe(
            ws,
            user=people.reviewer,
            request_id=request_id,
            image_bytes=yale_photo(yale_dir, "07", "happy"),
            original_name="x.gif",
        )
    assert events(ws, "probe.refused")[0].actor == "rita"


def test_edits_make_logged_copies_and_replay_exactly(
    ws: Workstation, people: People, request_id: int, yale_dir: Path
) -> None:
    data = yale_photo(yale_dir, "08", "sad")
    probe = probes.add_probe(
        ws, user=people.examiner, request_id=request_id, image_bytes=data, original_name="p.gif"
    )
    crop = EditOperation("crop", {"x": 40, "y": 10, "width": 240, "height": 220})
    first = probes.edit_probe(
        ws, user=people.examiner, probe_id=probe.probe_id, parent_version_id=None, operation=crop
    )
    bright = EditOperation("brightness", {"amount": 20})
    second = probes.edit_probe(
        ws,
        user=people.examiner,
        probe_id=probe.probe_id,
        parent_version_id=first.version_id,
        operation=bright,
    )
    assert (first.width, first.height) == (240, 220)
    assert first.parent_sha256 == probe.original_sha256
    assert second.parent_version_id == first.version_id
    assert second.parent_sha256 == first.evidence_sha256
    assert second.chain == (crop, bright)
    assert len(second.faces) == 1
    # The original is untouched and still there.
    assert ws.evidence.get(probe.original_sha256) == data
    copy = probes.load_probe_image(
        ws, user=people.examiner, probe_id=probe.probe_id, version_id=second.version_id
    )
    assert sha256_hex(copy.data) == second.evidence_sha256 and copy.media_type == "image/png"
    history = probes.probe_history(ws, user=people.examiner, probe_id=probe.probe_id)
    assert [v.version_id for v in history.versions] == [first.version_id, second.version_id]
    assert probes.verify_probe_history(ws, user=people.examiner, probe_id=probe.probe_id) == {
        first.version_id: True,
        second.version_id: True,
    }
    logged = events(ws, "probe.edited")
    assert [e.details_dict["operation"]["name"] for e in logged] == ["crop", "brightness"]
    assert logged[1].details_dict["parent_sha256"] == first.evidence_sha256
    assert logged[1].details_dict["result_sha256"] == second.evidence_sha256
    assert logged[1].actor == "erin"


def test_mirror_is_refused_audited_and_nothing_is_stored(
    ws: Workstation, people: People, request_id: int, yale_dir: Path
) -> None:
    probe = probes.add_probe(
        ws,
        user=people.examiner,
        request_id=request_id,
        image_bytes=yale_photo(yale_dir, "08", "sad"),
        original_name="p.gif",
    )
    stored = set(ws.evidence.iter_hashes())
    with pytest.raises(PolicyViolation, match="Mirroring"):
        probes.edit_probe(
            ws,
            user=people.examiner,
            probe_id=probe.probe_id,
            parent_version_id=None,
            operation=EditOperation("mirror"),
        )
    assert count_rows(ws, ProbeVersion) == 0
    assert set(ws.evidence.iter_hashes()) == stored
    refused = events(ws, "probe.edit_refused")
    assert refused[0].details_dict["operation"]["name"] == "mirror"


def test_edit_of_a_copy_of_another_probe_is_refused(
    ws: Workstation, people: People, request_id: int, yale_dir: Path
) -> None:
    one = probes.add_probe(
        ws,
        user=people.examiner,
        request_id=request_id,
        image_bytes=yale_photo(yale_dir, "08", "sad"),
        original_name="a.gif",
    )
    two = probes.add_probe(
        ws,
        user=people.examiner,
        request_id=request_id,
        image_bytes=yale_photo(yale_dir, "09", "sad"),
        original_name="b.gif",
    )
    copy = probes.edit_probe(
        ws,
        user=people.examiner,
        probe_id=one.probe_id,
        parent_version_id=None,
        operation=EditOperation("gamma", {"gamma": 1.2}),
    )
    with pytest.raises(InvalidInput, match="not a copy of probe"):
        probes.edit_probe(
            ws,
            user=people.examiner,
            probe_id=two.probe_id,
            parent_version_id=copy.version_id,
            operation=EditOperation("gamma", {"gamma": 0.8}),
        )


def test_choose_face_among_several(
    ws: Workstation, people: People, request_id: int, yale_dir: Path
) -> None:
    left = np.asarray(Image.open(io.BytesIO(yale_photo(yale_dir, "01", "normal"))).convert("RGB"))
    right = np.asarray(Image.open(io.BytesIO(yale_photo(yale_dir, "02", "normal"))).convert("RGB"))
    buffer = io.BytesIO()
    Image.fromarray(np.concatenate([left, right], axis=1)).save(buffer, format="PNG")
    probe = probes.add_probe(
        ws,
        user=people.examiner,
        request_id=request_id,
        image_bytes=buffer.getvalue(),
        original_name="two.png",
    )
    assert len(probe.faces) == 2 and probe.chosen_face_index is None and probe.quality is None
    chosen = probes.choose_face(ws, user=people.examiner, probe_id=probe.probe_id, face_index=1)
    assert chosen.chosen_face_index == 1 and chosen.quality is not None
    with pytest.raises(InvalidInput, match="from 0 to 1"):
        probes.choose_face(ws, user=people.examiner, probe_id=probe.probe_id, face_index=2)
    assert events(ws, "probe.face_chosen")[0].details_dict["face_index"] == 1


def test_closed_request_takes_no_more_probes(
    ws: Workstation, people: People, request_id: int, yale_dir: Path
) -> None:
    requests.close_request(ws, user=people.examiner, request_id=request_id, reason="Withdrawn")
    with pytest.raises(PolicyViolation, match="closed"):
        probes.add_probe(
            ws,
            user=people.examiner,
            request_id=request_id,
            image_bytes=yale_photo(yale_dir, "07", "happy"),
            original_name="x.gif",
        )
