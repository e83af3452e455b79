"""Reading a gallery import manifest: a CSV file, one row per photo, streamed.

Columns (header names are matched without regard to case, spaces, hyphens or underscores):

=================  ========  ====================================================================
column             required  meaning
=================  ========  ====================================================================
file               yes       the photo's path, relative to the import folder
subject_reference  yes       the agency's subject reference (e.g. state ID number)
photo_date         yes       when the photo was taken, YYYY-MM-DD
source_type        yes       e.g. ``arrest_photograph``; must be allowed by the policy profile
source_reference   yes       e.g. the arrest or booking number
name               no        the subject's name
date_of_birth      no        YYYY-MM-DD
sex                no        as the agency records it
lawful_basis       no        note on the lawful basis for holding the photo
(any other)        no        kept as the subject's descriptors; never used to rank
=================  ========  ====================================================================

Encodings: UTF-8, UTF-8 with a byte-order mark; a file that is not UTF-8 is read as Windows-1252
(what spreadsheet programs write; Latin-1 for every printable letter) or, failing that, Latin-1,
in which every byte is a character, so such a file always reads. The manifest's hash is kept.
Fields may hold quoted line breaks. Missing required columns are one plain error before anything
is imported.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from app.errors import ManifestError

REQUIRED_COLUMNS = ("file", "subject_reference", "photo_date", "source_type", "source_reference")
OPTIONAL_COLUMNS = ("name", "date_of_birth", "sex", "lawful_basis")
KNOWN_COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
_ALIASES = {
    "filename": "file",
    "path": "file",
    "photo": "file",
    "subject": "subject_reference",
    "subject_id": "subject_reference",
    "dob": "date_of_birth",
    "birth_date": "date_of_birth",
}
_READ_CHUNK = 1 << 20
# csv's default field limit (128 KiB) is plenty for a manifest; a larger field means a stray quote.
_FIELD_LIMIT = 1 << 17


@dataclass(frozen=True)
class ManifestInfo:
    """What the first pass over the file found."""

    path: Path
    sha256: str
    size: int
    encoding: str  # "utf-8", "utf-8-sig", "cp1252" or "latin-1"
    columns: tuple[str, ...]  # normalised names, in file order
    extra_columns: tuple[str, ...]  # kept as descriptors
    rows: int


@dataclass(frozen=True)
class ManifestRow:
    """One data row: ``number`` counts data rows from 1; ``line`` is where it starts in the file."""

    number: int
    line: int
    values: dict[str, str]
    extras: dict[str, str]

    def get(self, column: str) -> str:
        return self.values.get(column, "")


def normalise_column(name: str) -> str:
    key = "_".join(name.strip().lower().replace("-", " ").replace("_", " ").split())
    return _ALIASES.get(key, key)


def _sniff_encoding(path: Path) -> tuple[str, str, int]:
    """(encoding, sha256, size) from one streamed pass over the bytes."""
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    valid_utf8 = True
    size = 0
    first = b""
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(_READ_CHUNK):
                if not first:
                    first = chunk[:3]
                size += len(chunk)
                digest.update(chunk)
                if valid_utf8:
                    try:
                        decoder.decode(chunk)
                    except UnicodeDecodeError:
                        valid_utf8 = False
            if valid_utf8:
                try:
                    decoder.decode(b"", final=True)
                except UnicodeDecodeError:
                    valid_utf8 = False
    except FileNotFoundError:
        raise ManifestError(f"The manifest {path} does not exist.") from None
    except IsADirectoryError:
        raise ManifestError(f"The manifest {path} is a folder, not a CSV file.") from None
    except OSError as exc:
        raise ManifestError(f"The manifest {path} cannot be read ({exc.strerror}).") from None
    if size == 0:
        raise ManifestError(f"The manifest {path} is empty.")
    if b"\x00" in first:
        raise ManifestError(f"The manifest {path} is not a text (CSV) file.")
    if valid_utf8:
        encoding = "utf-8-sig" if first.startswith(codecs.BOM_UTF8) else "utf-8"
    else:
        encoding = "cp1252" if _decodes(path, "cp1252") else "latin-1"
    return encoding, digest.hexdigest(), size


def _decodes(path: Path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(_READ_CHUNK):
                decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except (UnicodeDecodeError, OSError):
        return False
    return True


def _open_text(path: Path, encoding: str) -> io.TextIOWrapper:
    return io.TextIOWrapper(path.open("rb"), encoding=encoding, newline="")


def _reader(handle: io.TextIOWrapper) -> Iterator[list[str]]:
    csv.field_size_limit(max(csv.field_size_limit(), _FIELD_LIMIT))
    return csv.reader(handle, strict=False)


def _header(path: Path, raw: list[str] | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if raw is None:
        raise ManifestError(f"The manifest {path} has no header row.")
    if raw:
        # A byte-order mark left in a file that is not UTF-8 otherwise spoils the first name.
        raw = [raw[0].lstrip("\ufeff").removeprefix("\u00ef\u00bb\u00bf"), *raw[1:]]
    columns = tuple(normalise_column(c) for c in raw)
    seen: set[str] = set()
    for original, column in zip(raw, columns, strict=True):
        if not column:
            continue
        if column in seen:
            raise ManifestError(
                f"The manifest {path.name} has the column '{original.strip()}' twice."
            )
        seen.add(column)
    missing = [c for c in REQUIRED_COLUMNS if c not in seen]
    if missing:
        found = ", ".join(c for c in columns if c) or "none"
        separator = next((s for s in (";", "\t", "|") if len(raw) == 1 and s in raw[0]), None)
        hint = (
            f" The header looks separated by {'tabs' if separator == chr(9) else repr(separator)}"
            "; the manifest must be a comma-separated CSV file (save it as 'CSV (Comma "
            "delimited)')."
            if separator
            else ""
        )
        raise ManifestError(
            f"The manifest {path.name} lacks the required column(s) {', '.join(missing)} "
            f"(found: {found}). Required: {', '.join(REQUIRED_COLUMNS)}.{hint} "
            "Nothing was imported."
        )
    extras = tuple(c for c in columns if c and c not in KNOWN_COLUMNS)
    return columns, extras


def inspect_manifest(path: Path) -> ManifestInfo:
    """Check the encoding, header and CSV structure and count the rows (nothing is imported).

    Raises ManifestError with one plain sentence for a file that cannot be used.
    """
    encoding, sha, size = _sniff_encoding(path)
    rows = 0
    with _open_text(path, encoding) as handle:
        reader = _reader(handle)
        try:
            columns, extras = _header(path, next(reader, None))
            for record in reader:
                if any(cell.strip() for cell in record):
                    rows += 1
        except csv.Error as exc:
            raise ManifestError(
                f"The manifest {path.name} is not a valid CSV file near line "
                f"{getattr(reader, 'line_num', '?')}: {exc}."
            ) from None
    return ManifestInfo(
        path=path,
        sha256=sha,
        size=size,
        encoding=encoding,
        columns=columns,
        extra_columns=extras,
        rows=rows,
    )


def iter_manifest(info: ManifestInfo) -> Iterator[ManifestRow]:
    """The data rows (blank lines skipped), streamed; short rows are padded with empty cells."""
    with _open_text(info.path, info.encoding) as handle:
        reader = csv.reader(handle, strict=False)
        next(reader, None)
        number = 0
        start_line = reader.line_num + 1
        for record in reader:
            line = start_line
            start_line = reader.line_num + 1
            if not any(cell.strip() for cell in record):
                continue
            number += 1
            values: dict[str, str] = {}
            extras: dict[str, str] = {}
            for column, cell in zip(info.columns, record, strict=False):
                if not column:
                    continue
                if column in KNOWN_COLUMNS:
                    values[column] = cell
                else:
                    extras[column] = cell
            yield ManifestRow(number=number, line=line, values=values, extras=extras)


__all__ = [
    "KNOWN_COLUMNS",
    "OPTIONAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "ManifestInfo",
    "ManifestRow",
    "inspect_manifest",
    "iter_manifest",
    "normalise_column",
]
