"""Benchmark the rewrite pass on large graphs: a chain of HardSwish blocks at opset 18 lowered to
opset 13 (HardSwish exists from 14, so every block needs onnx:expand-function, then
onnx:version-convert),
next to onnx.load + onnx.save of the same model, at two sizes to show how the cost grows.

Each block is 5 nodes (HardSwish, Add, Mul, Relu, Sub) on a [1, 16] float tensor with shared
initializers, so 20,000 blocks make a 100,000-node graph. Timed per size, each in this process
after a warm-up on a small model (imports and table loads excluded):

  load+save   onnx.load(path) + onnx.save(model, other path)
  rewrite     analyzer.workflows.rewrite_pipeline.run_pass(model, target_opset=13): analyze,
              onnx:expand-function on the findings' nodes (verified: full checker + onnxruntime
              before/after), analyze again, onnx:version-convert (verified), analyze the result
  ORT runs    of which: the verification runs on onnxruntime (session creation + inference),
              whose session creation grows faster than linearly on long chains (ORT's own cost)
  phases      where the rewrite time goes (cProfile, cumulative, top functions), with --profile

    python benchmarks/bench_rewrite_scale.py                  # 10,000 and 100,000 nodes
    python benchmarks/bench_rewrite_scale.py --blocks 2000 4000 --profile
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import onnx.helper
import onnx.numpy_helper

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from tests.fixtures.bench_models import hardswish_chain  # noqa: E402

NODES_PER_BLOCK = 5
SOURCE_OPSET = 18
TARGET_OPSET = 13
WIDTH = 16


def build(blocks: int) -> onnx.ModelProto:
    """A chain of `blocks` HardSwish blocks (5 nodes each) at opset 18."""
    nodes, inits = hardswish_chain("x", blocks, WIDTH)
    graph = onnx.helper.make_graph(
        nodes, "hardswish_chain",
        [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, WIDTH])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, WIDTH])],
        inits)
    return onnx.helper.make_model(graph, ir_version=9,
                                  opset_imports=[onnx.helper.make_opsetid("", SOURCE_OPSET)])


def _timed_runs() -> list[float]:
    """Wrap the pass's onnxruntime runs (session creation + inference, its verification) to
    time them apart: ORT's own session creation grows faster than the node count on long
    chains (measured on a plain Relu chain: 0.33 s at 10k nodes, 0.85 s at 30k, 5.5 s at 60k)."""
    import rewrites.passes as passes

    spent: list[float] = []
    original = passes.__dict__.setdefault("_untimed_run", passes._run)

    def timed(model: onnx.ModelProto, feeds: list[dict[str, np.ndarray]]) -> object:
        start = time.perf_counter()
        try:
            return original(model, feeds)
        finally:
            spent.append(time.perf_counter() - start)

    passes._run = timed  # type: ignore[assignment]
    return spent


def measure(blocks: int, folder: Path, profile: bool) -> dict[str, object]:
    from analyzer.workflows.rewrite_pipeline import run_pass

    path, copy = folder / f"chain_{blocks}.onnx", folder / f"copy_{blocks}.onnx"
    onnx.save(build(blocks), path)
    start = time.perf_counter()
    model = onnx.load(path)
    onnx.save(model, copy)
    load_save = time.perf_counter() - start
    profiler = cProfile.Profile() if profile else None
    ort_runs = _timed_runs()
    start = time.perf_counter()
    if profiler:
        profiler.enable()
    passed = run_pass(model, target_opset=TARGET_OPSET)
    if profiler:
        profiler.disable()
    rewrite = time.perf_counter() - start
    applied = passed.result.applied
    out = passed.result.model
    row: dict[str, object] = {
        "blocks": blocks,
        "nodes_before": len(model.graph.node),
        "nodes_after": len(out.graph.node),
        "opset_after": {i.domain: i.version for i in out.opset_import}.get(""),
        "rules_applied": sorted({e.rule for e in applied}),
        "firings": len(applied),
        "load_save_s": round(load_save, 3),
        "rewrite_s": round(rewrite, 3),
        "ratio": round(rewrite / load_save, 1),
        "ort_verify_s": round(sum(ort_runs), 3),
        "rewrite_without_ort_s": round(rewrite - sum(ort_runs), 3),
    }
    if profiler:
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(25)
    return row


def _num(row: dict[str, object], key: str) -> float:
    return float(str(row[key]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--blocks", type=int, nargs="+", default=[2_000, 20_000],
                        help="HardSwish blocks per model (5 nodes each)")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        measure(20, Path(tmp), False)  # warm-up: imports, tables, onnxruntime
        for blocks in args.blocks:
            rows.append(measure(blocks, Path(tmp), args.profile))
            print(json.dumps(rows[-1]), flush=True)
    print(f"\n{'nodes':>8} {'load+save s':>12} {'rewrite s':>10} {'ratio':>6} "
          f"{'ORT runs s':>11} {'rest s':>8} {'rest s/1k':>10}")
    for row in rows:
        per_k = _num(row, "rewrite_without_ort_s") / (_num(row, "nodes_before") / 1000)
        print(f"{row['nodes_before']:>8} {row['load_save_s']:>12} {row['rewrite_s']:>10} "
              f"{row['ratio']:>6} {row['ort_verify_s']:>11} {row['rewrite_without_ort_s']:>8} "
              f"{per_k:>10.3f}")
    if len(rows) >= 2:
        a, b = rows[0], rows[-1]
        size = _num(b, "nodes_before") / _num(a, "nodes_before")
        for key, label in (("rewrite_s", "the whole rewrite"),
                           ("rewrite_without_ort_s", "the rewrite without ORT's runs")):
            growth = (_num(b, key) / _num(a, key)) / size
            print(f"{label}: time grows {growth:.2f}x as fast as the node count (1.0 = linear)")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
