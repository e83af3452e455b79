"""Calibrate the default model's alignment template for the face mesh's points (run by hand).

    .venv/bin/python bench/mesh_template.py [--images DIR] [--pairs FILE] [--limit N] [--workers 2]

dlib's face descriptor was trained on chips cut from the landmarks of dlib's 5-point predictor. The
engine finds the same five points (outer and inner eye corners, base of the nose) with the face
mesh, which puts them slightly elsewhere. On LFW photos of people who are NOT in the pairs file
(so that bench/lfw_verify.py measures on photos the calibration never saw) this finds both sets
of points on the face nearest the centre, maps the mesh's points into the chip dlib cuts from its
own landmarks, drops faces where the two disagree grossly (a different face or a failed fit: RMS
over three times the median) and prints the mean position of each mesh point in dlib's chip:
the template ``app.engine.models.MESH_POINTS_IN_DLIB_CHIP``. It also prints the spread, dlib's own
template beside it, and the difference from the constant in the code.

Last line: ``max difference <pixels>`` between the measured template and the one in the code.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.lfw_common import LFW_IMAGES, LFW_PAIRS, quiet_native_logs, read_pairs

_STATE: dict[str, Any] = {}


def _init() -> None:
    quiet_native_logs()
    import dlib

    from app.engine.detect import FaceDetector
    from app.engine.landmarks import FaceMesher
    from app.engine.models import find_dlib_model_files

    _dat, shape5 = find_dlib_model_files()
    _STATE["hog"] = dlib.get_frontal_face_detector()
    _STATE["shape"] = dlib.shape_predictor(str(shape5))
    _STATE["detector"] = FaceDetector()
    _STATE["mesher"] = FaceMesher()


def _points(path: Path) -> tuple[np.ndarray, np.ndarray] | None:
    """(dlib's five points, the mesh's five points), both in dlib_template().points order."""
    from app.engine.align import DLIB_5_POINT_ORDER, dlib_template
    from app.engine.detect import face_nearest_center
    from app.engine.images import load_image_file
    from app.engine.landmarks import five_points, named_points

    if not _STATE:
        _init()
    rgb = load_image_file(path)[1].rgb
    face = face_nearest_center(_STATE["detector"].detect(rgb))
    mesh = _STATE["mesher"].mesh(rgb, face) if face is not None else None
    rects = list(_STATE["hog"](rgb, 1))
    if mesh is None or not rects:
        return None
    cx, cy = (rgb.shape[1] - 1) / 2, (rgb.shape[0] - 1) / 2
    rect = min(
        rects,
        key=lambda r: (
            ((r.left() + r.right()) / 2 - cx) ** 2 + ((r.top() + r.bottom()) / 2 - cy) ** 2
        ),
    )
    parts = [(p.x, p.y) for p in _STATE["shape"](rgb, rect).parts()]
    names = dlib_template().points
    theirs = np.array([parts[DLIB_5_POINT_ORDER.index(n)] for n in names], dtype=np.float64)
    ours = five_points(named_points(mesh), names)
    return theirs, ours


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=Path, default=LFW_IMAGES)
    parser.add_argument("--pairs", type=Path, default=LFW_PAIRS)
    parser.add_argument("--limit", type=int, default=None, help="at most N photos")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    from app.engine.align import dlib_template, image_to_chip_matrix
    from app.engine.models import MESH_POINTS_IN_DLIB_CHIP

    pairs, _folds = read_pairs(args.pairs)
    in_pairs = {name for p in pairs for name in (p.first[0], p.second[0])}
    paths = [p for p in sorted(args.images.glob("*/*.jpg")) if p.parent.name not in in_pairs][
        : args.limit or None
    ]
    people = len({p.parent.name for p in paths})
    if args.workers > 1:
        import multiprocessing

        with multiprocessing.get_context("spawn").Pool(args.workers, _init) as pool:
            found = pool.map(_points, paths, chunksize=16)
    else:
        found = [_points(p) for p in paths]
    spec = dlib_template()
    in_chip = []
    for item in found:
        if item is None:
            continue
        theirs, ours = item
        matrix = image_to_chip_matrix(theirs, spec)  # photo -> dlib's own chip
        mapped = ours @ matrix[:, :2].T + matrix[:, 2]
        own = theirs @ matrix[:, :2].T + matrix[:, 2]
        in_chip.append((mapped, own))
    mapped = np.array([m for m, _ in in_chip])
    own = np.array([o for _, o in in_chip])
    rms = np.sqrt(((mapped - own) ** 2).mean(axis=(1, 2)))
    kept = rms < 3 * np.median(rms)
    template = mapped[kept].mean(axis=0)
    spread = mapped[kept].std(axis=0)

    out = sys.stdout
    out.write(
        f"{len(paths)} photos of {people} people not in {args.pairs.name}; both landmark sets "
        f"on {len(in_chip)}; kept {int(kept.sum())} (mesh-dlib RMS < {3 * np.median(rms):.2f} "
        "chip pixels)\n"
    )
    out.write(f"{'point':<18}{'measured':>18}{'spread':>14}{'dlib template':>18}{'in code':>18}\n")
    code = np.array(MESH_POINTS_IN_DLIB_CHIP)
    for i, name in enumerate(spec.points):
        out.write(
            f"{name:<18}{template[i, 0]:>9.2f}{template[i, 1]:>9.2f}"
            f"{spread[i, 0]:>7.2f}{spread[i, 1]:>7.2f}"
            f"{spec.template[i][0]:>9.2f}{spec.template[i][1]:>9.2f}"
            f"{code[i, 0]:>9.2f}{code[i, 1]:>9.2f}\n"
        )
    out.write("as code: (" + ", ".join(f"({x:.2f}, {y:.2f})" for x, y in template) + ")\n")
    out.write(f"max difference {float(np.abs(template - code).max()):.3f}\n")


if __name__ == "__main__":
    main()
