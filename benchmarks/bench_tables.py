"""Load time of the shipped support tables, and the cost of a kernel lookup.

`analyze model.onnx` loads both tables once per process, so their cold load is a floor on the
CLI's start-up time. Run: `python benchmarks/bench_tables.py [--repeat N] [--json OUT]`.

Measures, per table: a truly cold load (fresh interpreter: import opsets.tables + load, minus the
interpreter's own start-up), and in-process loads with the lru_cache cleared (min / median of N:
file read + JSON parse + dataclass construction). Then match_kernel per call, uncached.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from opsets import tables
from opsets.query import match_kernel

COLD_SNIPPET = """
import time
t0 = time.perf_counter()
from opsets import tables
t1 = time.perf_counter()
tables.{loader}()
t2 = time.perf_counter()
print((t1 - t0) * 1e3, (t2 - t1) * 1e3)
"""


def _cold_subprocess(loader: str, repeat: int) -> tuple[float, float]:
    """(import ms, load ms), medians over fresh interpreters."""
    imports, loads = [], []
    for _ in range(repeat):
        out = subprocess.run(
            [sys.executable, "-c", COLD_SNIPPET.format(loader=loader)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
        imports.append(float(out[0]))
        loads.append(float(out[1]))
    return statistics.median(imports), statistics.median(loads)


def _in_process(loader: Callable[[], Any], clear: Callable[[], None], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        clear()
        t0 = time.perf_counter()
        loader()
        times.append((time.perf_counter() - t0) * 1e3)
    return times


def _match_us(repeat: int) -> float:
    """Microseconds per match_kernel call over a mix of hits, type misses and version misses."""
    schemas = tables.load_schemas()
    cases = []
    for op, opset, types in [
        ("Conv", 17, ["tensor(float)"] * 3),
        ("Relu", 17, ["tensor(bfloat16)"]),
        ("Cast", 28, ["tensor(float)"]),
        ("Concat", 13, ["tensor(float16)"] * 8),
        ("LayerNormalization", 17, ["tensor(float)"] * 3),
    ]:
        schema = schemas.resolve("", op, opset)
        assert schema is not None
        cases.append((schema, op, types))
    calls = 0
    t0 = time.perf_counter()
    for _ in range(repeat):
        for provider in ("cpu", "cuda"):
            for schema, op, types in cases:
                match_kernel(provider, schema, "", op, schema.since_version, types, ())
                calls += 1
    return (time.perf_counter() - t0) * 1e6 / calls


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20, help="in-process repeats (default 20)")
    parser.add_argument("--cold", type=int, default=5, help="fresh interpreters (default 5)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)

    rows: list[dict[str, Any]] = []
    for name, loader, path in [
        ("onnx_schemas", tables.load_schemas, tables.SCHEMAS_PATH),
        ("ort_kernels", tables.load_kernels, tables.KERNELS_PATH),
    ]:
        import_ms, cold_ms = _cold_subprocess(loader.__name__, args.cold)
        warm = _in_process(loader, loader.cache_clear, args.repeat)
        rows.append(
            {
                "table": name,
                "size_mb": round(path.stat().st_size / 1e6, 3),
                "cold_ms": round(cold_ms, 2),
                "import_ms": round(import_ms, 2),
                "reload_min_ms": round(min(warm), 2),
                "reload_median_ms": round(statistics.median(warm), 2),
            }
        )
    match_us = _match_us(200)

    header = f"{'table':<14}{'size MB':>9}{'cold ms':>9}{'reload min':>12}{'median ms':>11}"
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['table']:<14}{r['size_mb']:>9.2f}{r['cold_ms']:>9.1f}"
            f"{r['reload_min_ms']:>12.1f}{r['reload_median_ms']:>11.1f}"
        )
    print(f"import opsets.tables (fresh interpreter): {rows[0]['import_ms']:.1f} ms")
    print(f"match_kernel: {match_us:.1f} us per call (uncached)")
    if args.json:
        result = {"tables": rows, "match_kernel_us": round(match_us, 2), "python": sys.version}
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
