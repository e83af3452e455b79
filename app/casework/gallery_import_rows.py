"""One manifest row on its way through a bulk import: its checks, its file, its hash.

Row checks never raise: a row that cannot be imported is marked failed with a plain reason,
which the error report quotes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from app.casework import gallery_rules as rules
from app.casework.gallery_engine import PhotoAnalysis
from app.casework.gallery_manifest import ManifestInfo, ManifestRow, iter_manifest
from app.casework.gallery_records import PhotoFields, SubjectFields
from app.casework.workstation import Workstation
from app.engine.images import MAX_FILE_BYTES
from app.errors import InvalidInput, PolicyViolation
from app.policy.gates import check_gallery_source
from app.records.evidence import sha256_hex


@dataclass
class ImportRow:
    """One manifest row on its way through the import."""

    source: ManifestRow
    file_text: str
    path: Path | None = None
    subject: SubjectFields | None = None
    photo: PhotoFields | None = None
    sha256: str = ""
    data: bytes = b""
    outcome: str = ""  # "enrolled", "already", "failed", "" while undecided
    reason: str = ""
    duplicate_of: str = ""  # sha256 whose first row decides this one's outcome
    owner: str = ""  # subject the photo turned out to be enrolled under by someone else
    analysis: PhotoAnalysis | None = None


def inside_folder(folder: Path, file_text: str) -> Path:
    """The file named by a manifest cell, refused unless it lies inside the import folder."""
    text = file_text.strip()
    if not text:
        raise InvalidInput("The file column is empty.")
    candidate = Path(text)
    if not candidate.is_absolute():
        candidate = folder / candidate
    resolved = candidate.resolve()
    if not resolved.is_relative_to(folder):
        raise InvalidInput(
            f"The file '{text}' is outside the import folder {folder}; only files inside it "
            "are imported."
        )
    if not resolved.exists():
        raise InvalidInput(f"The file '{text}' does not exist in the import folder.")
    if not resolved.is_file():
        raise InvalidInput(f"'{text}' is not a file.")
    return resolved


def check_row(ws: Workstation, folder: Path, row: ImportRow, paths: dict[str, Path | str]) -> None:
    """Fill in the cleaned fields or mark the row failed with a plain reason."""
    values = row.source
    today = ws.now().date()
    try:
        row.subject = SubjectFields(
            subject_reference=rules.subject_reference(values.get("subject_reference")),
            name=rules.subject_name(values.get("name")),
            date_of_birth=rules.parse_date(
                values.get("date_of_birth"), what="date of birth", today=today, required=False
            ),
            sex=rules.sex(values.get("sex")),
            descriptors=rules.descriptors(dict(values.extras)),
        )
        row.photo = PhotoFields(
            photo_date=rules.required_date(
                values.get("photo_date"), what="photo date", today=today
            ),
            source_type=rules.source_type(values.get("source_type")),
            source_reference=rules.source_reference(values.get("source_reference")),
            lawful_basis=rules.lawful_basis(values.get("lawful_basis")),
        )
        check_gallery_source(row.photo.source_type, ws.profile)
    except (InvalidInput, PolicyViolation) as exc:
        row.outcome, row.reason = "failed", str(exc)
        return
    # Many rows may name one file: each name is resolved once per run.
    found = paths.get(row.file_text)
    if found is None:
        try:
            found = inside_folder(folder, row.file_text)
        except InvalidInput as exc:
            found = str(exc)
        paths[row.file_text] = found
    if isinstance(found, Path):
        row.path = found
    else:
        row.outcome, row.reason = "failed", found


def read_and_hash(row: ImportRow) -> None:
    assert row.path is not None  # only rows that passed check_row are read
    try:
        size = row.path.stat().st_size
        if size > MAX_FILE_BYTES:
            row.outcome = "failed"
            row.reason = f"The file is too large ({size:,} bytes; the limit is {MAX_FILE_BYTES:,})."
            return
        row.data = row.path.read_bytes()
    except OSError as exc:
        row.outcome, row.reason = "failed", f"The file cannot be read ({exc.strerror or exc})."
        return
    if not row.data:
        row.outcome, row.reason = "failed", "The file is empty (0 bytes)."
        return
    row.sha256 = sha256_hex(row.data)


def row_chunks(info: ManifestInfo, size: int) -> Iterator[list[ImportRow]]:
    chunk: list[ImportRow] = []
    for record in iter_manifest(info):
        chunk.append(ImportRow(source=record, file_text=record.get("file")))
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def already_owner_reason(owner: str) -> str:
    return f"This photo is already in the gallery under subject {owner}."


def file_size(row: ImportRow) -> int:
    try:
        return row.path.stat().st_size if row.path is not None else 0
    except OSError:
        return 0


__all__ = [
    "ImportRow",
    "already_owner_reason",
    "check_row",
    "file_size",
    "inside_folder",
    "read_and_hash",
    "row_chunks",
]
