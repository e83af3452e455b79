"""The files of a persisted face index, and their verification before hnswlib ever reads them.

A face index folder holds:

- ``faces.<p>.hnsw`` for each part ``p``: hnswlib's own binary (``Index.save_index``) of one graph.
  Graph labels are rows of the vector store; row ``r`` is in part ``r % parts``.
- ``faces.vectors``: the vector store (:class:`app.engine.index_store.VectorStore`): the face id
  of each row (int64), then each row's full descriptor (float32), little-endian.
- ``faces.projection`` when the graphs hold projected descriptors (``graph_dim < dim``): the
  projection's mean and basis (float32).
- ``faces.meta.json``: what those are (format version, dimensions, metric, M, ef_construction,
  parts, live/deleted/stored counts, generation, each file's size and SHA-256, created/updated
  times, optionally the model's SHA-256), sealed by ``meta_sha256``, a SHA-256 of the rest.

hnswlib trusts its input and may crash the process or allocate absurd memory on a damaged file,
so :func:`verify_index_files` checks everything first: the meta file's own checksum, each file's
size and checksum, each binary's header against the meta file, and that each graph holds exactly
the rows of its part. Only then may a binary be loaded. Every failure raises
:class:`app.errors.IndexCorruptError` with a plain message; the caller rebuilds the index from
the gallery. Format 1 (one graph of full descriptors) is refused the same way, so an index of an
earlier version is rebuilt once.
"""

from __future__ import annotations

import hashlib
import json
import mmap
import os
import struct
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from app.engine.atomic_files import sha256_of
from app.engine.exact_search import Metric, check_metric
from app.errors import IndexCorruptError, IndexFormatError

FORMAT_VERSION = 2
META_FILE = "faces.meta.json"
VECTORS_FILE = "faces.vectors"
PROJECTION_FILE = "faces.projection"

# hnswlib 0.8 header: offsetLevel0, max_elements, element count, bytes per element, label offset,
# data offset (six size_t), max level (int), entry point (uint), maxM, maxM0, M (size_t),
# level multiplier (double), ef_construction (size_t). Little-endian on every supported machine.
_HEADER = struct.Struct("<6QiI3QdQ")
HEADER_SIZE = _HEADER.size
_LINK_COUNT_BYTES = 4  # level-0 link list header (uint); its third byte holds the deleted mark
_DELETED_MARK = 0x01
_LABEL_BYTES = 8


def part_file(part: int) -> str:
    """The name of graph ``part``'s binary."""
    return f"faces.{part}.hnsw"


def rows_of_part(part: int, parts: int, stored: int) -> int:
    """How many of ``stored`` rows graph ``part`` of ``parts`` holds (row r is in r % parts)."""
    return len(range(part, stored, parts))


@dataclass(frozen=True)
class IndexMeta:
    """The content of ``faces.meta.json`` (without its own checksum)."""

    format_version: int
    dim: int  # the descriptors' dimension
    graph_dim: int  # what the graphs hold: dim, or the projection's dimension
    metric: Metric
    m: int
    ef_construction: int
    parts: int
    count: int  # live (searchable) faces
    deleted: int  # faces marked deleted, still stored
    generation: int
    files: dict[str, dict[str, Any]]  # file name -> {"size": bytes, "sha256": hex}
    created: str  # ISO 8601, UTC
    updated: str
    model_sha256: str = ""  # the embedding model the vectors came from, when the caller says

    @property
    def stored(self) -> int:
        return self.count + self.deleted

    @property
    def projected(self) -> bool:
        return self.graph_dim != self.dim

    def expected_files(self) -> list[str]:
        names = [part_file(part) for part in range(self.parts)] + [VECTORS_FILE]
        return [*names, PROJECTION_FILE] if self.projected else names

    def to_json_bytes(self) -> bytes:
        body = asdict(self)
        body["meta_sha256"] = _digest(body)
        return (json.dumps(body, indent=2, sort_keys=True) + "\n").encode("utf-8")


@dataclass(frozen=True)
class HnswHeader:
    """The fields of hnswlib's binary header this project checks."""

    offset_level0: int
    max_elements: int
    element_count: int
    bytes_per_element: int
    label_offset: int
    data_offset: int
    max_level: int
    entry_point: int
    max_m: int
    max_m0: int
    m: int
    level_multiplier: float
    ef_construction: int

    @property
    def dim(self) -> int:
        return (self.label_offset - self.data_offset) // 4

    @property
    def level0_end(self) -> int:
        return HEADER_SIZE + self.element_count * self.bytes_per_element


@dataclass(frozen=True)
class VerifiedIndexFiles:
    """What :func:`verify_index_files` found: safe to hand to ``hnswlib.Index.load_index``."""

    meta: IndexMeta
    headers: tuple[HnswHeader, ...]  # one per part
    deleted_rows: frozenset[int]


def _digest(body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return hashlib.sha256(canonical).hexdigest()


def _corrupt(folder: Path, reason: str) -> IndexCorruptError:
    return IndexCorruptError(
        f"The face search index in {folder} cannot be used: {reason}. "
        "It has to be rebuilt from the gallery."
    )


def read_meta(folder: Path) -> IndexMeta:
    """Read and check ``faces.meta.json``; IndexCorruptError when missing, damaged or foreign."""
    path = folder / META_FILE
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise _corrupt(folder, "its description file is missing") from None
    except OSError as exc:
        raise _corrupt(folder, f"its description file cannot be read ({exc.strerror})") from exc
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise _corrupt(folder, "its description file is damaged") from None
    if not isinstance(body, dict) or body.pop("meta_sha256", None) != _digest(body):
        raise _corrupt(folder, "its description file is damaged (checksum mismatch)")
    if body.get("format_version") != FORMAT_VERSION:
        raise IndexFormatError(
            f"The face search index in {folder} was written in format "
            f"{body.get('format_version')!r} by another version of the workstation, which reads "
            f"format {FORMAT_VERSION}. It has to be rebuilt from the gallery."
        )
    try:
        meta = IndexMeta(**body)
        check_metric(meta.metric)
        numbers = (
            meta.dim,
            meta.graph_dim,
            meta.m,
            meta.ef_construction,
            meta.parts,
            meta.count,
            meta.deleted,
            meta.generation,
        )
        if not all(isinstance(n, int) and n >= 0 for n in numbers):
            raise ValueError("bad numbers")
        if not (0 < meta.graph_dim <= meta.dim and meta.parts > 0):
            raise ValueError("bad layout")
        if not isinstance(meta.files, dict) or sorted(meta.files) != sorted(meta.expected_files()):
            raise ValueError("bad file list")
        for entry in meta.files.values():
            if not (
                isinstance(entry, dict)
                and isinstance(entry.get("size"), int)
                and isinstance(entry.get("sha256"), str)
            ):
                raise ValueError("bad file entry")
    except (TypeError, ValueError):
        raise _corrupt(folder, "its description file has missing or invalid fields") from None
    return meta


def parse_header(raw: bytes) -> HnswHeader:
    """The header fields of an hnswlib binary (``raw``: at least its first HEADER_SIZE bytes)."""
    return HnswHeader(*_HEADER.unpack_from(raw, 0))


def _check_header(folder: Path, header: HnswHeader, meta: IndexMeta, holds: int, size: int) -> None:
    level0_links = _LINK_COUNT_BYTES + header.max_m0 * 4
    problems = [
        (header.offset_level0 != 0, "unexpected layout"),
        (header.data_offset != level0_links, "unexpected layout"),
        (
            header.label_offset - header.data_offset != meta.graph_dim * 4,
            f"a graph has {header.dim} dimensions, its description says {meta.graph_dim}",
        ),
        (
            header.bytes_per_element != level0_links + meta.graph_dim * 4 + _LABEL_BYTES,
            "unexpected element size",
        ),
        (
            header.m != meta.m or header.max_m != meta.m or header.max_m0 != 2 * meta.m,
            "its graph parameters differ from its description",
        ),
        (
            header.ef_construction != meta.ef_construction,
            "its graph parameters differ from its description",
        ),
        (
            header.element_count != holds,
            f"a graph holds {header.element_count} faces, its description says {holds}",
        ),
        (header.max_elements < header.element_count, "its capacity is smaller than its content"),
        (
            header.element_count > 0
            and not (0 <= header.max_level < 64 and header.entry_point < header.element_count),
            "its entry point is invalid",
        ),
        (header.level0_end > size, "a graph file is shorter than its header says"),
    ]
    for failed, reason in problems:
        if failed:
            raise _corrupt(folder, reason)


def _element_table(
    mapped: mmap.mmap, header: HnswHeader
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.bool_]]:
    """Labels and deleted marks of every stored element, read straight from the binary."""
    layout = np.dtype(
        {
            "names": ["mark", "label"],
            "formats": ["u1", "<u8"],
            "offsets": [2, header.label_offset],
            "itemsize": header.bytes_per_element,
        }
    )
    table: npt.NDArray[np.void] = np.ndarray(
        shape=(header.element_count,), dtype=layout, buffer=mapped, offset=HEADER_SIZE
    )
    labels = np.array(table["label"], dtype=np.uint64)
    deleted = (np.array(table["mark"]) & _DELETED_MARK) != 0
    return labels, deleted


def _check_file(folder: Path, meta: IndexMeta, name: str) -> int:
    """Size and checksum of one file against the meta file; returns its size."""
    path = folder / name
    entry = meta.files[name]
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise _corrupt(folder, f"its file {name} is missing") from None
    except OSError as exc:
        raise _corrupt(folder, f"its file {name} cannot be read ({exc.strerror})") from exc
    if size != entry["size"]:
        raise _corrupt(folder, f"its file {name} has {size} bytes, {entry['size']} were written")
    try:
        digest = sha256_of(path)
    except OSError as exc:
        raise _corrupt(folder, f"its file {name} cannot be read ({exc.strerror})") from exc
    if digest != entry["sha256"]:
        raise _corrupt(folder, f"its file {name} is damaged (checksum mismatch)")
    return size


def _check_part(folder: Path, meta: IndexMeta, part: int) -> tuple[HnswHeader, list[int]]:
    """One graph's header and rows; returns the header and the rows marked deleted."""
    name = part_file(part)
    size = _check_file(folder, meta, name)
    if size < HEADER_SIZE:
        raise _corrupt(folder, f"its file {name} is too short")
    holds = rows_of_part(part, meta.parts, meta.stored)
    with (
        (folder / name).open("rb") as handle,
        mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data,
    ):
        header = parse_header(data[:HEADER_SIZE])
        _check_header(folder, header, meta, holds, size)
        labels, deleted = _element_table(data, header)
    expected = np.arange(part, meta.stored, meta.parts, dtype=np.uint64)
    if not np.array_equal(np.sort(labels), expected):
        raise _corrupt(folder, f"its graph {part} holds faces of another part")
    return header, [int(label) for label in labels[deleted]]


def verify_index_files(folder: Path) -> VerifiedIndexFiles:
    """Check every file of the index in ``folder`` without letting hnswlib near them."""
    meta = read_meta(folder)
    for name, wanted in (
        (VECTORS_FILE, 8 * meta.stored + 4 * meta.dim * meta.stored),
        (PROJECTION_FILE, 4 * (meta.dim + meta.dim * meta.graph_dim)),
    ):
        if name in meta.files:
            if meta.files[name]["size"] != wanted:
                raise _corrupt(folder, f"its file {name} does not fit its description")
            _check_file(folder, meta, name)
    headers: list[HnswHeader] = []
    deleted: list[int] = []
    for part in range(meta.parts):
        header, gone = _check_part(folder, meta, part)
        headers.append(header)
        deleted.extend(gone)
    if len(deleted) != meta.deleted:
        raise _corrupt(folder, "its deleted faces differ from its description")
    return VerifiedIndexFiles(meta=meta, headers=tuple(headers), deleted_rows=frozenset(deleted))


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def fsync_folder(folder: Path) -> None:
    """Make the renames in ``folder`` durable (POSIX; a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
