"""`scan` throughput: cells per minute with the local executor and with Ray on this machine,
the Ray / local overhead ratio, the cost of a cached rerun, and the per-cell costs that
docs/scan.md's cost model for 10,000 cells is built from.

The zoo: the nine models the onnx package ships under backend/test/data/light (one cell each)
and the PyTorch factories of tests/fixtures/scan_zoo.py (mlp, norm) at --opsets with both
exporters. Each executor scans it into a fresh folder (nothing cached), --repeat times; then
the local scan is rerun on its own cache.

    python benchmarks/bench_scan.py                       # local and ray, 2 workers
    python benchmarks/bench_scan.py --executors local --jobs 1 --repeat 3
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from analyzer.workflows.scan import ScanOptions, ScanPlan, run_scan
from analyzer.workflows.scan.sources import Source, dedupe, expand, with_hashes
from tests.fixtures.onnx_models import ONNX_TEST_DATA

FACTORIES = ("tests.fixtures.scan_zoo:mlp", "tests.fixtures.scan_zoo:norm")


def zoo_plan(opsets: tuple[int, ...], jobs_limit: float) -> ScanPlan:
    sources: list[Source] = expand(str(ONNX_TEST_DATA / "light"))
    for spec in FACTORIES:
        sources += expand(spec)
    return ScanPlan(tuple(with_hashes(dedupe(sources))), opsets, ("dynamo", "torchscript"),
                    ("CUDAExecutionProvider", "CPUExecutionProvider"), jobs_limit, 32768)


def one_scan(plan: ScanPlan, executor: str, jobs: int) -> tuple[float, dict[str, Any]]:
    out = Path(tempfile.mkdtemp(prefix=f"bench_scan_{executor}_"))
    try:
        start = time.perf_counter()
        matrix = run_scan(plan, out / "scan", ScanOptions(executor, jobs))
        wall = time.perf_counter() - start
        start = time.perf_counter()
        run_scan(plan, out / "scan", ScanOptions(executor, jobs))  # all cached
        matrix["_cached_wall"] = time.perf_counter() - start
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return wall, matrix


def ray_start_cost(jobs: int) -> float:
    """Seconds to start and stop a local Ray instance: the part of the Ray wall that does not
    grow with the number of cells."""
    import ray  # optional: only when the ray executor is measured

    start = time.perf_counter()
    ray.init(num_cpus=jobs, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    ray.shutdown()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--executors", default="local,ray")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--opsets", default="17,18")
    args = parser.parse_args()
    plan = zoo_plan(tuple(int(o) for o in args.opsets.split(",")), 600.0)
    walls: dict[str, list[float]] = {}
    for _ in range(args.repeat):
        for executor in args.executors.split(","):
            wall, matrix = one_scan(plan, executor, args.jobs)
            walls.setdefault(executor, []).append(wall)
            cells = matrix["cells"]
            kinds = {s["id"]: s["kind"] for s in matrix["sources"]}
            per_kind: dict[str, list[float]] = {}
            for c in cells:
                per_kind.setdefault(kinds[c["source"]] + (f"/{c['exporter']}" if c["exporter"]
                                                          else ""), []).append(c["duration_s"])
            print(f"{executor}: {len(cells)} cells in {wall:.1f} s = "
                  f"{len(cells) / wall * 60:.1f} cells/min with {args.jobs} workers; "
                  f"sum of cell times {sum(c['duration_s'] for c in cells):.1f} s; "
                  f"cached rerun {matrix['_cached_wall']:.2f} s; verdicts "
                  f"{ {k: v for k, v in matrix['summary']['counts'].items() if v} }")
            for kind, times in sorted(per_kind.items()):
                print(f"    {kind:18} n={len(times):2}  median {statistics.median(times):6.2f} s"
                      f"  max {max(times):6.2f} s")
    if "local" in walls and "ray" in walls:
        local, ray = statistics.median(walls["local"]), statistics.median(walls["ray"])
        fixed = ray_start_cost(args.jobs)
        print(f"overhead ratio ray/local (median wall): {ray / local:.2f} "
              f"({ray:.1f} s / {local:.1f} s); Ray start + stop alone {fixed:.1f} s; "
              f"without it {(ray - fixed) / local:.2f}")


if __name__ == "__main__":
    main()
