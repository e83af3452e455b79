"""Resource lookup in a PyInstaller bundle and the bundle's entry scripts and spec."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from app.settings import REPO_ROOT, RESOURCES_DIR, resources_dir

ROOT = Path(__file__).resolve().parents[2]


def test_resources_come_from_the_source_tree_when_not_frozen() -> None:
    assert resources_dir() == REPO_ROOT / "resources" == RESOURCES_DIR
    assert (RESOURCES_DIR / "policies" / "mptc-2019.toml").is_file()


def test_resources_come_from_the_bundle_folder_when_frozen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert resources_dir() == tmp_path / "resources"


def test_meipass_alone_does_not_move_the_resources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delattr(sys, "frozen", raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert resources_dir() == REPO_ROOT / "resources"


def test_spec_builds_both_programs_from_the_entry_scripts() -> None:
    spec = (ROOT / "pyinstaller.spec").read_text(encoding="utf-8")
    ast.parse(spec)  # a syntax error would only show at build time
    for name in ('name="frx-workstation"', 'name="frx"', "COLLECT(gui, cli"):
        assert name in spec
    for script in ("frx_workstation.py", "frx.py"):
        source = (ROOT / "tools" / "bundle" / script).read_text(encoding="utf-8")
        # Frozen "spawn" workers of a gallery import need this before anything else runs.
        assert "multiprocessing.freeze_support()" in source
    # Data the code reads from files must be listed for the bundle.
    for needle in ("resources", "script.py.mako", "versions/*.py", "*.tflite", "*.binarypb",
                   "dlib_face_recognition_resnet_model_v1.dat", "DejaVuSans"):
        assert needle in spec, needle
