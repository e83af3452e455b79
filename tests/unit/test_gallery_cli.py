"""``frx gallery``: import with progress and summary, list, seal/unseal, expunge, index status
and rebuild, run in-process with the password on standard input."""

# ruff: noqa: F811 (the fixtures imported from gallery_support are used as arguments)

from __future__ import annotations

import io
import re
import shutil
import sys
from pathlib import Path

import pytest
from gallery_support import (  # noqa: F401 (fixtures)
    ADMIN_PASSWORD,
    admin,
    gallery_ws,
    installed_models,
    lfw_people,
)

from app import cli
from app.casework import gallery
from app.casework.accounts import SignedInUser
from app.casework.index_sync import index_path
from app.casework.workstation import Workstation
from app.engine.index_files import part_file

HEADER = "file,subject_reference,name,photo_date,source_type,source_reference"


def frx(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{ADMIN_PASSWORD}\n"))
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_gallery_commands_end_to_end(
    gallery_ws: Workstation,
    admin: SignedInUser,
    lfw_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    lines = [HEADER]
    people = lfw_people(lfw_dir)[:2]
    for name, paths in people:
        for path in paths[:2]:
            shutil.copy(path, folder / path.name)
            lines.append(
                f"{path.name},SID-{name},{name},2018-05-06,arrest_photograph,B-{path.stem}"
            )
    lines.append("missing.jpg,SID-X,,2018-05-06,arrest_photograph,B-0")
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    args = ("gallery", "import", "--folder", str(folder), "--manifest", str(manifest))

    code, out, err = frx(monkeypatch, capsys, *args, "--as", "boss")
    assert code == 1  # one row failed
    assert "enrolled:              4" in out and "failed:                1" in out
    assert "Error report" in out and "import-reports" in out
    assert "Importing [" in err and "5/5" in err

    code, out, _ = frx(monkeypatch, capsys, *args, "--as", "boss")
    assert code == 1 and "already in gallery:    4" in out

    code, out, _ = frx(monkeypatch, capsys, "gallery", "list", "--as", "boss")
    assert code == 0 and "2 subjects" in out and f"SID-{people[0][0]}" in out

    reference = f"SID-{people[0][0]}"
    code, out, _ = frx(
        monkeypatch, capsys, "gallery", "seal", reference, "--reason", "Order 1", "--as", "boss"
    )
    assert code == 0 and "sealed" in out
    shown = re.search(r"\((\d+) (photos?)\)", out)
    assert shown is not None and shown.group(2) == ("photo" if shown.group(1) == "1" else "photos")
    assert gallery.gallery_stats(gallery_ws).sealed_subjects == 1
    code, out, _ = frx(monkeypatch, capsys, "gallery", "list", "--as", "boss")
    assert reference not in out
    code, out, _ = frx(monkeypatch, capsys, "gallery", "list", "--sealed", "--as", "boss")
    assert reference in out and "SEALED" in out
    code, out, err = frx(
        monkeypatch, capsys, "gallery", "seal", reference, "--reason", "Again", "--as", "boss"
    )
    assert code == 2 and "already sealed" in err
    code, out, _ = frx(
        monkeypatch, capsys, "gallery", "unseal", reference, "--reason", "Vacated", "--as", "boss"
    )
    assert code == 0 and "unsealed" in out

    code, out, _ = frx(monkeypatch, capsys, "gallery", "index-status")
    assert code == 0 and "Searchable in index:    4" in out
    assert "Layout:                 2 graphs of the full 128-number descriptors" in out
    assert "rebuilds it" not in out

    index_file = index_path(gallery_ws, gallery_ws.settings.model_name) / part_file(0)
    index_file.write_bytes(index_file.read_bytes()[:100])
    code, out, _ = frx(monkeypatch, capsys, "gallery", "index-status")
    assert code == 1 and "NOT USABLE" in out
    code, out, err = frx(monkeypatch, capsys, "gallery", "rebuild-index")
    assert code == 0 and "4 searchable photos" in out
    code, out, _ = frx(monkeypatch, capsys, "gallery", "index-status")
    assert code == 0 and "Searchable in index:    4" in out

    other = f"SID-{people[1][0]}"
    code, out, _ = frx(
        monkeypatch, capsys, "gallery", "expunge", other, "--reason", "Expunged", "--as", "boss"
    )
    assert code == 0 and "2 photos removed" in out
    assert gallery.gallery_stats(gallery_ws).subjects == 1


def test_import_with_a_bad_manifest_is_one_plain_line(
    gallery_ws: Workstation,
    admin: SignedInUser,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    manifest = tmp_path / "m.csv"
    manifest.write_text("file,name\nx.jpg,X\n", encoding="utf-8")
    code, _out, err = frx(
        monkeypatch,
        capsys,
        "gallery",
        "import",
        "--folder",
        str(tmp_path),
        "--manifest",
        str(manifest),
        "--as",
        "boss",
    )
    assert code == 2 and err.startswith("frx: The manifest m.csv lacks the required column")
    assert "Traceback" not in err and err.count("\n") == 1
