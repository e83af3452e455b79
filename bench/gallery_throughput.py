"""Bulk import throughput and search latency of the gallery, on real LFW photos (run by hand).

    .venv/bin/python -m bench.gallery_throughput --photos 1000

Builds a throw-away data folder, enrols the first N LFW photos through
``app.casework.gallery_import.import_gallery`` (decode, detect, mesh, embed, store, index) and
then times searches with probes made from the same photos. Reference measured in the same run:
the bare engine (decode, detect, describe, embed) on the same photos, one by one in one thread,
and numpy's brute-force search over the same descriptors. Figures are printed with their ratio
to the reference; the CPU time of this process and of its worker processes is printed too, since
the wall-clock figures depend on how busy the machine is.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from app.casework import accounts
from app.casework.gallery_engine import analyse_photo, embed_chips, gallery_embedder
from app.casework.gallery_import import import_gallery
from app.casework.gallery_search import search_gallery
from app.casework.index_sync import synced_index
from app.casework.workstation import Workstation
from app.engine.index import exact_search
from app.engine.models import install_default_model
from app.engine.pipeline import FacePipeline
from app.settings import load_settings

LFW = Path(__file__).resolve().parents[2] / "shared" / "data" / "lfw-devtrain" / "images"


def cpu_seconds() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def percentile(values: list[float], share: float) -> float:
    return float(np.percentile(np.asarray(values), share))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=1000)
    parser.add_argument("--searches", type=int, default=200)
    parser.add_argument("--workers", type=int, default=None, help="import worker processes")
    parser.add_argument("--lfw", type=Path, default=Path(os.environ.get("FRX_LFW", LFW)))
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="frx-bench-gallery-"))
    os.environ["FRX_DATA_DIR"] = str(folder / "data")
    try:
        settings = load_settings()
        install_default_model(settings.models_dir)
        files = sorted(args.lfw.glob("*/*.jpg"))[: args.photos]
        lines = ["file,subject_reference,name,photo_date,source_type,source_reference"]
        for path in files:
            person = path.parent.name
            lines.append(
                f"{person}/{path.name},{person},{person.replace('_', ' ')},2020-01-01,"
                f"arrest_photograph,B-{path.stem}"
            )
        manifest = folder / "manifest.csv"
        manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")

        # Reference: the bare engine, one photo after the other, in one thread.
        embedder = gallery_embedder(settings, settings.model_name)
        pipeline = FacePipeline(None, alignment=embedder.manifest.alignment)
        sample = files[: min(200, len(files))]
        analyse_photo(pipeline, sample[0].read_bytes(), name="warm-up", max_pixels=10**8)
        started = time.perf_counter()
        for path in sample:
            result = analyse_photo(pipeline, path.read_bytes(), name=path.name, max_pixels=10**8)
            chip = getattr(result, "chip", None)
            if chip is not None:
                embed_chips(embedder, [chip])
        reference_rate = len(sample) / (time.perf_counter() - started)

        with Workstation.open(settings) as ws:
            admin = accounts.create_first_admin(
                ws, username="bench", display_name="Bench", password="bench password 1"
            )
            own_before, children_before = cpu_seconds()
            result = import_gallery(
                ws, by=admin, folder=args.lfw, manifest_csv=manifest, workers=args.workers
            )
            own_after, children_after = cpu_seconds()
            rate = result.rows_processed / result.seconds
            print(f"photos                     {result.rows_total}")
            print(
                f"enrolled / failed          {result.enrolled} / {result.failed} "
                "(failed: no face or several faces)"
            )
            print(f"import wall time           {result.seconds:.1f} s")
            print(f"import rows/s              {rate:.1f}")
            print(f"reference rows/s           {reference_rate:.1f} (bare engine, one thread)")
            print(f"import / reference         {rate / reference_rate:.2f}x")
            cpu = (own_after - own_before) + (children_after - children_before)
            print(
                f"import CPU time            {cpu:.1f} s ({own_after - own_before:.1f} s this "
                f"process, {children_after - children_before:.1f} s workers) = "
                f"{1000 * cpu / result.rows_total:.1f} ms per row"
            )
            print(f"rows/s per CPU-second      {result.rows_total / cpu:.1f}")
            print(f"load average (1 min)       {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

            live, _ = synced_index(ws)
            ids = live.index.ids()
            vectors = live.index.vectors(ids)
            rng = np.random.default_rng(1)
            probes = vectors[rng.integers(0, len(ids), args.searches)]
            probes = probes + rng.normal(0, 0.02, probes.shape).astype(np.float32)
            timings: dict[str, list[float]] = {"exact": [], "hnsw": [], "numpy": []}
            for probe in probes:
                for method in ("exact", "hnsw"):
                    started = time.perf_counter()
                    search_gallery(ws, embedding=probe, exact=method == "exact")
                    timings[method].append(time.perf_counter() - started)
                started = time.perf_counter()
                exact_search(vectors, ids, probe, 150, metric=live.index.metric)
                timings["numpy"].append(time.perf_counter() - started)
            reference = statistics.median(timings["numpy"])
            print(f"search gallery size        {len(ids)} photos, top_k {ws.profile.search_top_k}")
            for method in ("exact", "hnsw", "numpy"):
                p50, p99 = percentile(timings[method], 50), percentile(timings[method], 99)
                print(
                    f"search {method:<6} p50/p99      {1000 * p50:.2f} / {1000 * p99:.2f} ms "
                    f"({p50 / reference:.1f}x numpy brute force alone)"
                )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
