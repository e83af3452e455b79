"""Bulk gallery import: manifest encodings and structure, idempotence, resume after a stop,
every failing-row reason in the error report, a full disk, and the 100k-row manifest."""

# ruff: noqa: F811 (the fixtures imported from gallery_support are used as arguments)

from __future__ import annotations

import csv
import errno
import shutil
import time
from pathlib import Path

import pytest
from gallery_support import (  # noqa: F401 (fixtures)
    admin,
    examiner,
    gallery_ws,
    installed_models,
    lfw_people,
    no_face_png,
    two_faces_jpeg,
)
from sqlalchemy import func, select

from app.casework import gallery
from app.casework.accounts import SignedInUser
from app.casework.gallery_import import import_gallery
from app.casework.gallery_manifest import inspect_manifest, iter_manifest
from app.casework.index_sync import synced_index
from app.casework.workstation import Workstation
from app.errors import ManifestError, PermissionDenied, StorageError
from app.records import evidence as evidence_module
from app.records.audit import iter_events
from app.records.gallery_models import GalleryPhoto, ImportBatch, PhotoEmbedding

HEADER = "file,subject_reference,name,photo_date,source_type,source_reference,lawful_basis"


def write_manifest(path: Path, lines: list[str], *, encoding: str = "utf-8") -> Path:
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def photo_folder(tmp_path: Path, lfw_dir: Path, people: int = 3) -> tuple[Path, list[str]]:
    """A folder of copied LFW photos (a temporary copy, never in the repository) and rows."""
    folder = tmp_path / "photos"
    rows = []
    for name, paths in lfw_people(lfw_dir)[:people]:
        (folder / name).mkdir(parents=True)
        for number, path in enumerate(paths[:2]):
            shutil.copy(path, folder / name / path.name)
            rows.append(
                f"{name}/{path.name},SID-{name},{name.replace('_', ' ')},2019-0{number + 1}-15,"
                f"arrest_photograph,ARR-{name}-{number},Booking photo"
            )
    return folder, rows


def report_rows(path: Path | None) -> list[dict[str, str]]:
    assert path is not None
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def photo_count(ws: Workstation) -> int:
    with ws.database.session(read_only=True) as session:
        return int(session.execute(select(func.count(GalleryPhoto.id))).scalar_one())


# ------------------------------------------------------------------------------ manifest
def test_manifest_encodings_bom_latin1_and_quoted_newlines(tmp_path: Path) -> None:
    lines = [
        "File, Subject Reference ,NAME,Photo-Date,source_type,source_reference,Eye colour",
        'a.jpg,S1,"José ""Pepe"" Núñez",2020-01-02,arrest_photograph,A1,brown',
        'b.jpg,S2,"two\nlines",2020-01-03,arrest_photograph,A2,',
        "",
        "c.jpg,S3,Zoë,2020-01-04,arrest_photograph,A3,green",
    ]
    for encoding, expected in (
        ("utf-8", "utf-8"),
        ("utf-8-sig", "utf-8-sig"),
        ("latin-1", "cp1252"),
    ):
        path = write_manifest(tmp_path / f"m-{encoding}.csv", lines, encoding=encoding)
        info = inspect_manifest(path)
        assert info.encoding == expected and info.rows == 3
        assert info.extra_columns == ("eye_colour",)
        rows = list(iter_manifest(info))
        assert [r.number for r in rows] == [1, 2, 3]
        assert [r.line for r in rows] == [2, 3, 6]  # the quoted line break spans lines 3-4
        assert rows[0].get("name") == 'José "Pepe" Núñez'
        assert rows[1].get("name") == "two\nlines"
        assert rows[2].get("name") == "Zoë" and rows[2].extras == {"eye_colour": "green"}
        assert rows[0].get("subject_reference") == "S1"
    # Windows-1252's curly quotes are not Latin-1 letters; they still read as themselves.
    path = tmp_path / "cp1252.csv"
    path.write_bytes(
        (HEADER + "\na.jpg,S1,\u2018Smart\u2019,2020-01-02,arrest_photograph,A1,\n").encode(
            "cp1252"
        )
    )
    assert next(iter_manifest(inspect_manifest(path))).get("name") == "\u2018Smart\u2019"


def test_missing_columns_are_one_plain_error_before_anything_is_imported(
    gallery_ws: Workstation, admin: SignedInUser, tmp_path: Path
) -> None:
    path = write_manifest(tmp_path / "m.csv", ["file,name,photo_date", "a.jpg,Al,2020-01-01"])
    with pytest.raises(ManifestError) as caught:
        import_gallery(gallery_ws, by=admin, folder=tmp_path, manifest_csv=path)
    message = str(caught.value)
    for column in ("subject_reference", "source_type", "source_reference"):
        assert column in message
    assert "Nothing was imported" in message
    with gallery_ws.database.session(read_only=True) as session:
        assert session.execute(select(ImportBatch)).first() is None
    for bad, reason in (
        (b"", "empty"),
        (b"\x00\x01\x02binary", "not a text"),
        (b"file,file,subject_reference\n", "twice"),
    ):
        (tmp_path / "bad.csv").write_bytes(bad)
        with pytest.raises(ManifestError, match=reason):
            inspect_manifest(tmp_path / "bad.csv")
    with pytest.raises(ManifestError, match="does not exist"):
        inspect_manifest(tmp_path / "nowhere.csv")
    # Saved from a spreadsheet with semicolons (or tabs): the message says what to do.
    for separator, said in ((";", "';'"), ("\t", "tabs")):
        (tmp_path / "semi.csv").write_text(HEADER.replace(",", separator) + "\n")
        with pytest.raises(ManifestError) as caught:
            inspect_manifest(tmp_path / "semi.csv")
        assert f"separated by {said}" in str(caught.value)
        assert "comma-separated" in str(caught.value)


def test_a_100k_row_manifest_streams_quickly(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER.split(","))
        for n in range(100_000):
            writer.writerow(
                [f"p/{n % 3}.jpg", f"S{n}", f"Name {n}", "2020-01-01", "arrest_photograph", n, ""]
            )
    started = time.perf_counter()
    info = inspect_manifest(path)
    count = sum(1 for _ in iter_manifest(info))
    elapsed = time.perf_counter() - started
    assert info.rows == count == 100_000
    assert elapsed < 10, f"reading 100k manifest rows took {elapsed:.1f} s"


def test_100k_rows_pointing_at_a_few_files_import_as_one_photo_each(
    gallery_ws: Workstation, admin: SignedInUser, lfw_dir: Path, tmp_path: Path
) -> None:
    ws = gallery_ws
    folder, rows = photo_folder(tmp_path, lfw_dir, people=1)
    path = tmp_path / "big.csv"
    path.write_text(HEADER + "\n" + "\n".join(rows[n % 2] for n in range(100_000)) + "\n")
    started = time.perf_counter()
    result = import_gallery(ws, by=admin, folder=folder, manifest_csv=path, workers=0)
    elapsed = time.perf_counter() - started
    assert (result.enrolled, result.already_in_gallery, result.failed) == (2, 99_998, 0)
    assert result.rows_processed == 100_000 and photo_count(ws) == 2
    assert elapsed < 60, f"a 100k-row import of 2 photos took {elapsed:.1f} s"


# ------------------------------------------------------------------------------ import
def test_import_enrols_skips_failures_with_reasons_and_is_idempotent(
    gallery_ws: Workstation, admin: SignedInUser, lfw_dir: Path, tmp_path: Path
) -> None:
    ws = gallery_ws
    folder, rows = photo_folder(tmp_path, lfw_dir)
    people = lfw_people(lfw_dir)
    (folder / "nobody.png").write_bytes(no_face_png())
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated JPEG")
    (folder / "pair.jpg").write_bytes(two_faces_jpeg(people[4][1][0], people[5][1][0]))
    shutil.copy(people[4][1][1], tmp_path / "outside.jpg")
    first_file = rows[0].split(",")[0]
    failing = [
        "missing.jpg,SID-X1,,2020-01-01,arrest_photograph,A,",
        "nobody.png,SID-X2,,2020-01-01,arrest_photograph,A,",
        "broken.jpg,SID-X3,,2020-01-01,arrest_photograph,A,",
        "pair.jpg,SID-X4,,2020-01-01,arrest_photograph,A,",
        f"{first_file},SID-X5,,01/02/2020,arrest_photograph,A,",
        f"{first_file},SID-X6,,2020-01-01,dmv_photograph,A,",
        "../outside.jpg,SID-X7,,2020-01-01,arrest_photograph,A,",
        f"{tmp_path / 'outside.jpg'},SID-X8,,2020-01-01,arrest_photograph,A,",
        f"{first_file},SID-OTHER,,2020-01-01,arrest_photograph,A,",  # same photo, other person
        "subdir,SID-X9,,2020-01-01,arrest_photograph,A,",
    ]
    (folder / "subdir").mkdir()
    duplicate = rows[1]  # the same photo listed twice for the same person: one photo
    manifest = write_manifest(tmp_path / "m.csv", [HEADER, *rows, *failing, duplicate])
    progress: list[tuple[int, int]] = []
    result = import_gallery(
        ws,
        by=admin,
        folder=folder,
        manifest_csv=manifest,
        progress=lambda done, total, _m: progress.append((done, total)),
        chunk_rows=4,
        workers=1,  # a worker process, as in a large import
    )
    total = len(rows) + len(failing) + 1
    assert result.status == "finished" and result.rows_total == result.rows_processed == total
    assert (result.enrolled, result.already_in_gallery, result.failed) == (
        len(rows),
        1,
        len(failing),
    )
    assert progress[-1] == (total, total)
    assert [d for d, _ in progress] == sorted(d for d, _ in progress)
    reasons = {r["subject_reference"]: r["reason"] for r in report_rows(result.error_report_path)}
    assert "does not exist" in reasons["SID-X1"]
    assert "No face" in reasons["SID-X2"]
    assert "truncated" in reasons["SID-X3"]
    assert "2 faces" in reasons["SID-X4"]
    assert "YYYY-MM-DD" in reasons["SID-X5"]
    assert "not allowed" in reasons["SID-X6"]
    assert "outside the import folder" in reasons["SID-X7"]
    assert "outside the import folder" in reasons["SID-X8"]
    assert "under subject SID-" in reasons["SID-OTHER"]
    assert "not a file" in reasons["SID-X9"]
    report = report_rows(result.error_report_path)
    assert [int(r["row"]) for r in report] == sorted(int(r["row"]) for r in report)
    assert ws.evidence.verify(result.error_report_sha256 or "")
    assert result.error_report_path.parent == ws.settings.data_dir / "import-reports"  # type: ignore[union-attr]
    with ws.database.session(read_only=True) as session:
        batch = session.get(ImportBatch, result.batch_id)
        assert batch is not None and batch.status == "finished"
        assert (batch.enrolled, batch.already_present, batch.failed) == (len(rows), 1, len(failing))
        assert batch.error_report_sha256 == result.error_report_sha256
        assert int(session.execute(select(func.count(PhotoEmbedding.id))).scalar_one()) == len(rows)
        enrolled_events = [e for e in iter_events(session) if e.action == "gallery.photo_enrolled"]
        assert len(enrolled_events) == len(rows)
        assert {e.details_dict["import_batch"] for e in enrolled_events} == {result.batch_id}
        photo_ids = list(session.execute(select(GalleryPhoto.id)).scalars())
    live, _ = synced_index(ws)
    assert sorted(live.index.ids().tolist()) == sorted(photo_ids)
    subject = gallery.get_subject(ws, by=admin, subject_reference=f"SID-{people[0][0]}")
    assert subject.summary.photo_count == 2 and subject.summary.name == people[0][0].replace(
        "_", " "
    )

    again = import_gallery(ws, by=admin, folder=folder, manifest_csv=manifest, chunk_rows=4)
    assert (again.enrolled, again.already_in_gallery, again.failed) == (
        0,
        len(rows) + 1,
        len(failing),
    )
    assert photo_count(ws) == len(rows) and again.generation == result.generation
    # A row naming another person does not spoil a later row of the photo's own subject.
    other_first = write_manifest(tmp_path / "m2.csv", [HEADER, failing[8], rows[0]])
    third = import_gallery(ws, by=admin, folder=folder, manifest_csv=other_first)
    assert (third.already_in_gallery, third.failed) == (1, 1)


def test_cancelled_import_resumes_where_it_stopped(
    gallery_ws: Workstation, admin: SignedInUser, lfw_dir: Path, tmp_path: Path
) -> None:
    ws = gallery_ws
    folder, rows = photo_folder(tmp_path, lfw_dir, people=4)
    manifest = write_manifest(tmp_path / "m.csv", [HEADER, *rows])
    calls = {"n": 0}

    def cancel_after_first_chunk() -> bool:
        calls["n"] += 1
        return calls["n"] > 2

    first = import_gallery(
        ws,
        by=admin,
        folder=folder,
        manifest_csv=manifest,
        cancelled=cancel_after_first_chunk,
        chunk_rows=2,
    )
    assert first.status == "cancelled"
    assert 0 < first.enrolled < len(rows) and first.rows_processed < len(rows)
    assert photo_count(ws) == first.enrolled
    with ws.database.session(read_only=True) as session:
        assert session.get(ImportBatch, first.batch_id).status == "cancelled"  # type: ignore[union-attr]
    second = import_gallery(ws, by=admin, folder=folder, manifest_csv=manifest, chunk_rows=2)
    assert second.status == "finished"
    assert second.already_in_gallery == first.enrolled
    assert second.enrolled == len(rows) - first.enrolled
    assert photo_count(ws) == len(rows)


def test_full_disk_stops_cleanly_and_the_import_resumes(
    gallery_ws: Workstation,
    admin: SignedInUser,
    lfw_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ws = gallery_ws
    folder, rows = photo_folder(tmp_path, lfw_dir, people=4)
    manifest = write_manifest(tmp_path / "m.csv", [HEADER, *rows])
    original_put = evidence_module.EvidenceStore.put
    writes = {"n": 0}

    def filling_put(self: evidence_module.EvidenceStore, data: bytes) -> str:
        writes["n"] += 1
        if writes["n"] > 4:  # the manifest, then three photos fit
            raise evidence_module._write_error(OSError(errno.ENOSPC, "No space left"), self.root)
        return original_put(self, data)

    monkeypatch.setattr(evidence_module.EvidenceStore, "put", filling_put)
    with pytest.raises(StorageError) as caught:
        import_gallery(ws, by=admin, folder=folder, manifest_csv=manifest, chunk_rows=2, workers=0)
    message = str(caught.value)
    assert "full" in message and "run the same import again" in message
    stopped = photo_count(ws)
    assert 0 < stopped < len(rows)
    with ws.database.session(read_only=True) as session:
        batch = session.execute(select(ImportBatch)).scalar_one()
        assert batch.status == "stopped" and "full" in (batch.message or "")
        # Nothing half-written: every committed photo has its embedding and its file.
        for photo in session.execute(select(GalleryPhoto)).scalars():
            assert photo.embeddings and ws.evidence.verify(photo.evidence_sha256)
    monkeypatch.setattr(evidence_module.EvidenceStore, "put", original_put)
    resumed = import_gallery(ws, by=admin, folder=folder, manifest_csv=manifest, chunk_rows=2)
    assert resumed.already_in_gallery == stopped and resumed.enrolled == len(rows) - stopped
    assert photo_count(ws) == len(rows)
    live, _ = synced_index(ws)
    assert len(live.index) == len(rows)


def test_only_supervisors_and_administrators_import(
    gallery_ws: Workstation, admin: SignedInUser, examiner: SignedInUser, tmp_path: Path
) -> None:
    manifest = write_manifest(tmp_path / "m.csv", [HEADER])
    with pytest.raises(PermissionDenied):
        import_gallery(gallery_ws, by=examiner, folder=tmp_path, manifest_csv=manifest)
    with pytest.raises(ManifestError, match="not a folder"):
        import_gallery(gallery_ws, by=admin, folder=tmp_path / "x", manifest_csv=manifest)
