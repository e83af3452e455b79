"""The files of a persisted face index, and their verification before hnswlib ever reads them.

A face index folder holds two files:

- ``faces.hnsw``: hnswlib's own binary (``Index.save_index``).
- ``faces.meta.json``: what the binary is (format version, dimension, metric, M, ef_construction,
  live and deleted counts, generation, the binary's size and SHA-256, created/updated times,
  optionally the model's SHA-256), sealed by ``meta_sha256``, a SHA-256 of the rest.

hnswlib trusts its input and may crash the process or allocate absurd memory on a damaged file,
so :func:`verify_index_files` checks everything first: the meta file's own checksum, the binary's
size and checksum, and the binary's header against the meta file. Only then may the binary be
loaded. Every failure raises :class:`app.errors.IndexCorruptError` with a plain message; the
caller rebuilds the index from the gallery.
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
from app.errors import IndexCorruptError

FORMAT_VERSION = 1
INDEX_FILE = "faces.hnsw"
META_FILE = "faces.meta.json"

# hnswlib 0.8 header: offsetLevel0, max_elements, element count, bytes per element, label offset,
# data offset (six size_t), max level (int), entry point (uint), maxM, maxM0, M (size_t),
# level multiplier (double), ef_construction (size_t). Little-endian on every supported machine.
_HEADER = struct.Struct("<6QiI3QdQ")
HEADER_SIZE = _HEADER.size
_LINK_COUNT_BYTES = 4  # level-0 link list header (uint); its third byte holds the deleted mark
_DELETED_MARK = 0x01
_LABEL_BYTES = 8


@dataclass(frozen=True)
class IndexMeta:
    """The content of ``faces.meta.json`` (without its own checksum)."""

    format_version: int
    dim: int
    metric: Metric
    m: int
    ef_construction: int
    count: int  # live (searchable) items
    deleted: int  # items marked deleted, still stored in the binary
    generation: int
    index_size: int
    index_sha256: str
    created: str  # ISO 8601, UTC
    updated: str
    model_sha256: str = ""  # the embedding model the vectors came from, when the caller says

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
    header: HnswHeader
    deleted_ids: frozenset[int]


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
        raise _corrupt(
            folder, f"it was written in format {body.get('format_version')!r}, not {FORMAT_VERSION}"
        )
    try:
        meta = IndexMeta(**body)
        check_metric(meta.metric)
        numbers = (
            meta.dim,
            meta.m,
            meta.ef_construction,
            meta.count,
            meta.deleted,
            meta.generation,
            meta.index_size,
        )
        if not all(isinstance(n, int) and n >= 0 for n in numbers) or meta.dim == 0:
            raise ValueError("bad numbers")
    except (TypeError, ValueError):
        raise _corrupt(folder, "its description file has missing or invalid fields") from None
    return meta


def parse_header(raw: bytes) -> HnswHeader:
    """The header fields of an hnswlib binary (``raw``: at least its first HEADER_SIZE bytes)."""
    return HnswHeader(*_HEADER.unpack_from(raw, 0))


def _check_header(folder: Path, header: HnswHeader, meta: IndexMeta) -> None:
    level0_links = _LINK_COUNT_BYTES + header.max_m0 * 4
    problems = [
        (header.offset_level0 != 0, "unexpected layout"),
        (header.data_offset != level0_links, "unexpected layout"),
        (
            header.label_offset - header.data_offset != meta.dim * 4,
            f"the data has {header.dim} dimensions, its description says {meta.dim}",
        ),
        (
            header.bytes_per_element != level0_links + meta.dim * 4 + _LABEL_BYTES,
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
            header.element_count != meta.count + meta.deleted,
            f"it holds {header.element_count} faces, its description says "
            f"{meta.count + meta.deleted}",
        ),
        (header.max_elements < header.element_count, "its capacity is smaller than its content"),
        (
            header.element_count > 0
            and not (0 <= header.max_level < 64 and header.entry_point < header.element_count),
            "its entry point is invalid",
        ),
        (header.level0_end > meta.index_size, "the data file is shorter than its header says"),
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


def verify_index_files(folder: Path) -> VerifiedIndexFiles:
    """Check both files of the index in ``folder`` without letting hnswlib near them."""
    meta = read_meta(folder)
    path = folder / INDEX_FILE
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise _corrupt(folder, "its data file is missing") from None
    except OSError as exc:
        raise _corrupt(folder, f"its data file cannot be read ({exc.strerror})") from exc
    if size != meta.index_size:
        raise _corrupt(folder, f"its data file has {size} bytes, {meta.index_size} were written")
    if size < HEADER_SIZE:
        raise _corrupt(folder, "its data file is too short")
    try:
        digest = sha256_of(path)
    except OSError as exc:
        raise _corrupt(folder, f"its data file cannot be read ({exc.strerror})") from exc
    if digest != meta.index_sha256:
        raise _corrupt(folder, "its data file is damaged (checksum mismatch)")
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        header = parse_header(data[:HEADER_SIZE])
        _check_header(folder, header, meta)
        labels, deleted = _element_table(data, header)
    if len(np.unique(labels)) != len(labels):
        raise _corrupt(folder, "it holds the same face twice")
    if int(deleted.sum()) != meta.deleted:
        raise _corrupt(folder, "its deleted faces differ from its description")
    return VerifiedIndexFiles(
        meta=meta,
        header=header,
        deleted_ids=frozenset(int(label) for label in labels[deleted]),
    )


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
