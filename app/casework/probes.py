"""Probe evidence: the original stored untouched, edits only on copies, each edit logged.

The original bytes are registered as evidence (SHA-256) exactly as received; every edit is an
:class:`~app.engine.edits.EditOperation` applied to a parent (the original or an earlier copy),
stored as a new PNG evidence file with the operation, its parameters, the engine version, who and
when, and the parent and result hashes (MPTC VI.A). Nothing is ever changed in place, and the
original is always available for the comparison (MPTC IV.E.1). Mirroring is refused unless the
profile allows it. A probe in which no face is found is a result, not an error.

Probes live only in case storage: nothing here (or anywhere) enrols a probe into the gallery
(MPTC VI.D).
"""

from __future__ import annotations

import threading

import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.casework.account_rules import SignedInUser
from app.casework.case_access import (
    audit,
    check_assigned,
    check_not_concluded,
    dumps,
    load_probe,
    load_request,
    load_version,
    refusals_audited,
    require_reader,
)
from app.casework.case_views import (
    ProbeImageData,
    ProbeSummary,
    ProbeVersionSummary,
    faces_of,
    probe_summary,
    version_summary,
)
from app.casework.workstation import Workstation
from app.engine.detect import DetectedFace
from app.engine.edits import (
    EditOperation,
    apply_edit,
    apply_history,
    edit_engine_version,
)
from app.engine.images import DecodedImage, decode_image, encode_png
from app.engine.pipeline import FaceDescription, FacePipeline
from app.errors import InvalidInput
from app.policy.gates import check_edit_allowed, check_probe_kind
from app.records.case_models import ProbeImage, ProbeVersion
from app.records.evidence import register_evidence, sha256_hex

__all__ = [
    "ProbeImageData",
    "ProbeSummary",
    "ProbeVersionSummary",
    "add_probe",
    "choose_face",
    "decode_stored",
    "describe_face",
    "detect_faces",
    "edit_probe",
    "get_probe",
    "load_probe_image",
    "probe_history",
    "verify_probe_history",
]

_pipeline_lock = threading.Lock()
_pipeline: FacePipeline | None = None


def _detector() -> FacePipeline:
    """A pipeline without a model: detection, mesh, quality and regions (no embedding)."""
    global _pipeline
    with _pipeline_lock:
        if _pipeline is None:
            _pipeline = FacePipeline(None)
        return _pipeline


def detect_faces(rgb: npt.NDArray[np.uint8]) -> tuple[tuple[DetectedFace, ...], str]:
    result = _detector().detect(rgb)
    return result.faces, result.message


def describe_face(rgb: npt.NDArray[np.uint8], face: DetectedFace) -> FaceDescription:
    """Mesh, quality and feature regions of one face (no embedding)."""
    return _detector().describe(rgb, face)


def decode_stored(ws: Workstation, sha256: str, *, name: str) -> DecodedImage:
    """Decode evidence bytes (verified against their hash on read)."""
    data = ws.evidence.get(sha256)
    return decode_image(data, max_pixels=ws.settings.max_image_pixels, name=name)


def _faces_json(faces: tuple[DetectedFace, ...]) -> str:
    return dumps([face.to_dict() for face in faces])


def _quality_json(rgb: npt.NDArray[np.uint8], face: DetectedFace) -> str:
    return dumps(describe_face(rgb, face).quality.to_dict())


def _chains(rows: list[ProbeVersion]) -> dict[int, tuple[EditOperation, ...]]:
    """Every version's operations from the original, in order."""
    by_id = {row.id: row for row in rows}
    chains: dict[int, tuple[EditOperation, ...]] = {}
    for row in sorted(rows, key=lambda r: r.id):  # parents always have smaller ids
        parent = () if row.parent_version_id is None else chains[row.parent_version_id]
        chains[row.id] = (*parent, EditOperation.from_json(by_id[row.id].operation))
    return chains


def summarise_probe(session: Session, probe: ProbeImage) -> ProbeSummary:
    rows = list(
        session.execute(
            select(ProbeVersion).where(ProbeVersion.probe_id == probe.id).order_by(ProbeVersion.id)
        ).scalars()
    )
    chains = _chains(rows)
    return probe_summary(probe, tuple(version_summary(row, chains[row.id]) for row in rows))


def _editable_probe(session: Session, user: SignedInUser, probe_id: int) -> ProbeImage:
    probe = load_probe(session, probe_id)
    request = load_request(session, probe.request_id)
    check_assigned(request, user, "work on its probe")
    check_not_concluded(request, "change its probe")
    return probe


# ----------------------------------------------------------------------------- adding
def add_probe(
    ws: Workstation,
    *,
    user: SignedInUser,
    request_id: int,
    image_bytes: bytes,
    original_name: str,
    probe_kind: str | None = None,
) -> ProbeSummary:
    """Store the probe exactly as received, find its faces (none found is a result)."""
    with refusals_audited(
        ws,
        user=user,
        action="probe.refused",
        object_type="request",
        object_id=request_id,
        details={"original_name": original_name, "probe_kind": probe_kind},
    ):
        decoded = decode_image(
            image_bytes, max_pixels=ws.settings.max_image_pixels, name=original_name
        )
        faces, message = detect_faces(decoded.rgb)
        quality = _quality_json(decoded.rgb, faces[0]) if len(faces) == 1 else None
        with ws.database.session() as session:
            request = load_request(session, request_id, for_update=True)
            check_assigned(request, user, "add a probe")
            check_not_concluded(request, "add a probe")
            check_probe_kind(probe_kind or request.probe_kind, ws.profile)
            evidence = register_evidence(
                session,
                ws.evidence,
                data=image_bytes,
                media_type=decoded.media_type,
                original_name=original_name,
                actor=user.username,
            )
            now = ws.now()
            probe = ProbeImage(
                request_id=request.id,
                original_sha256=evidence.sha256,
                original_name=evidence.original_name,
                media_type=decoded.media_type,
                width=decoded.width,
                height=decoded.height,
                detected_faces=_faces_json(faces),
                detection_message=message,
                chosen_face_index=0 if len(faces) == 1 else None,
                quality=quality,
                decode_notes=dumps(list(decoded.notes)),
                created_at=now,
                created_by=user.username,
            )
            session.add(probe)
            request.updated_at = now
            session.flush()
            audit(
                ws,
                session,
                user=user,
                action="probe.added",
                object_type="probe",
                object_id=probe.id,
                details={
                    "request_id": request.id,
                    "sha256": evidence.sha256,
                    "original_name": evidence.original_name,
                    "media_type": decoded.media_type,
                    "size": len(image_bytes),
                    "faces": len(faces),
                    "detection_message": message,
                },
            )
            return summarise_probe(session, probe)


def _face_at(faces: tuple[DetectedFace, ...], index: int) -> DetectedFace:
    if not faces:
        raise InvalidInput("No face was found in this image, so none can be chosen.")
    if not 0 <= index < len(faces):
        raise InvalidInput(f"Choose a face number from 0 to {len(faces) - 1}.")
    return faces[index]


def choose_face(
    ws: Workstation,
    *,
    user: SignedInUser,
    probe_id: int,
    face_index: int,
    version_id: int | None = None,
) -> ProbeSummary:
    """Choose which of several faces is the subject (on the original or an edited copy)."""
    with (
        refusals_audited(
            ws,
            user=user,
            action="probe.refused",
            object_type="probe",
            object_id=probe_id,
            details={"attempted": "choose the face", "face_index": face_index},
        ),
        ws.database.session() as session,
    ):
        probe = _editable_probe(session, user, probe_id)
        target: ProbeImage | ProbeVersion = probe
        sha, name = probe.original_sha256, probe.original_name
        if version_id is not None:
            target = load_version(session, version_id)
            if target.probe_id != probe.id:
                raise InvalidInput(f"Version {version_id} is not a copy of probe {probe_id}.")
            sha, name = target.evidence_sha256, f"edited copy {version_id}"
        face = _face_at(faces_of(target.detected_faces), face_index)
        rgb = decode_stored(ws, sha, name=name).rgb
        target.chosen_face_index = face_index
        target.quality = _quality_json(rgb, face)
        session.flush()
        audit(
            ws,
            session,
            user=user,
            action="probe.face_chosen",
            object_type="probe",
            object_id=probe.id,
            details={"version_id": version_id, "face_index": face_index, "box": face.box},
        )
        return summarise_probe(session, probe)


# ----------------------------------------------------------------------------- edits
def edit_probe(
    ws: Workstation,
    *,
    user: SignedInUser,
    probe_id: int,
    parent_version_id: int | None,
    operation: EditOperation,
) -> ProbeVersionSummary:
    """Apply one edit to a copy of the parent (None: the original) and log it."""
    with refusals_audited(
        ws,
        user=user,
        action="probe.edit_refused",
        object_type="probe",
        object_id=probe_id,
        details={"operation": operation.to_dict(), "parent_version_id": parent_version_id},
    ):
        with ws.database.session(read_only=True) as session:
            probe = _editable_probe(session, user, probe_id)
            check_edit_allowed(operation.name, ws.profile)
            if parent_version_id is None:
                parent_sha, parent_name = probe.original_sha256, probe.original_name
            else:
                parent = load_version(session, parent_version_id)
                if parent.probe_id != probe.id:
                    raise InvalidInput(
                        f"Version {parent_version_id} is not a copy of probe {probe_id}."
                    )
                parent_sha, parent_name = parent.evidence_sha256, f"edited copy {parent.id}"
            request_number = load_request(session, probe.request_id).request_number
        source = decode_stored(ws, parent_sha, name=parent_name).rgb
        edited = apply_edit(source, operation)
        png = encode_png(edited)
        faces, message = detect_faces(edited)
        quality = _quality_json(edited, faces[0]) if len(faces) == 1 else None
        with ws.database.session() as session:
            probe = _editable_probe(session, user, probe_id)  # again, inside the write lock
            count = len(probe.versions)
            evidence = register_evidence(
                session,
                ws.evidence,
                data=png,
                media_type="image/png",
                original_name=f"{request_number}-probe-{probe.id}-edit-{count + 1}.png",
                actor=user.username,
            )
            version = ProbeVersion(
                probe_id=probe.id,
                parent_version_id=parent_version_id,
                parent_sha256=parent_sha,
                evidence_sha256=evidence.sha256,
                operation=operation.to_json(),
                operation_name=operation.name,
                engine_version=edit_engine_version(),
                width=int(edited.shape[1]),
                height=int(edited.shape[0]),
                detected_faces=_faces_json(faces),
                detection_message=message,
                chosen_face_index=0 if len(faces) == 1 else None,
                quality=quality,
                created_at=ws.now(),
                created_by=user.username,
            )
            session.add(version)
            session.flush()
            audit(
                ws,
                session,
                user=user,
                action="probe.edited",
                object_type="probe",
                object_id=probe.id,
                details={
                    "version_id": version.id,
                    "operation": operation.to_dict(),
                    "description": operation.describe(),
                    "parent_version_id": parent_version_id,
                    "parent_sha256": parent_sha,
                    "result_sha256": evidence.sha256,
                    "engine_version": version.engine_version,
                },
            )
            chain = summarise_probe(session, probe).versions
            return next(v for v in chain if v.version_id == version.id)


# ----------------------------------------------------------------------------- reading
def get_probe(ws: Workstation, *, user: SignedInUser, probe_id: int) -> ProbeSummary:
    with ws.database.session(read_only=True) as session:
        require_reader(session, user)
        return summarise_probe(session, load_probe(session, probe_id))


def probe_history(ws: Workstation, *, user: SignedInUser, probe_id: int) -> ProbeSummary:
    """The probe with every edited copy, each with its whole chain of operations."""
    return get_probe(ws, user=user, probe_id=probe_id)


def list_probes(ws: Workstation, *, user: SignedInUser, request_id: int) -> list[ProbeSummary]:
    with ws.database.session(read_only=True) as session:
        require_reader(session, user)
        request = load_request(session, request_id)
        return [summarise_probe(session, probe) for probe in request.probes]


def load_probe_image(
    ws: Workstation, *, user: SignedInUser, probe_id: int, version_id: int | None = None
) -> ProbeImageData:
    """The stored bytes of the original (default) or an edited copy, verified on read."""
    with ws.database.session(read_only=True) as session:
        require_reader(session, user)
        probe = load_probe(session, probe_id)
        sha, media_type = probe.original_sha256, probe.media_type
        if version_id is not None:
            version = load_version(session, version_id)
            if version.probe_id != probe.id:
                raise InvalidInput(f"Version {version_id} is not a copy of probe {probe_id}.")
            sha, media_type = version.evidence_sha256, "image/png"
    return ProbeImageData(probe_id, version_id, sha, ws.evidence.get(sha), media_type)


def verify_probe_history(ws: Workstation, *, user: SignedInUser, probe_id: int) -> dict[int, bool]:
    """Replay every copy's chain of edits on the original: True where the stored copy is
    reproduced bit for bit (same software build; see ``engine_version``)."""
    summary = get_probe(ws, user=user, probe_id=probe_id)
    original = decode_stored(ws, summary.original_sha256, name=summary.original_name).rgb
    results: dict[int, bool] = {}
    for version in summary.versions:
        replayed = encode_png(apply_history(original, version.chain))
        results[version.version_id] = sha256_hex(replayed) == version.evidence_sha256
    return results


def chosen_face(target: ProbeImage | ProbeVersion, face_index: int | None) -> DetectedFace:
    """The face to search with: the one asked for, else the chosen one, else the only one."""
    faces = faces_of(target.detected_faces)
    if face_index is not None:
        return _face_at(faces, face_index)
    if target.chosen_face_index is not None:
        return _face_at(faces, target.chosen_face_index)
    if not faces:
        raise InvalidInput("No face was found in this probe image, so it cannot be searched.")
    raise InvalidInput(
        f"{len(faces)} faces were found in this probe image: choose the subject's face first."
    )
