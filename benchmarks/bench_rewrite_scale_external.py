"""`onnx-preflight rewrite --target-opset 13` of a 10,000- and a 100,000-node model that also
carries ~1 GiB of external weights, next to onnx.load + onnx.save (external data) of the same
model: wall time and peak RSS of each as its own child process, the ratios, and how each grows
from the small model to the large one (1.00 = linear in the node count).

The model (tests/fixtures/big_models.py writes the weights without one big protobuf):
x[1, 4096] times 16 [4096, 4096] float32 weights in `model.onnx.data` (1 GiB), summed, then a
chain of HardSwish blocks (HardSwish, Add, Mul, Relu, Sub; the shared [4096] bias / scale /
shift) at opset 18, blocks chosen so the graph has about N nodes. HardSwish exists from opset 14,
so the rewrite runs onnx:expand-function on every block, then onnx:version-convert, each verified
(full checker, onnxruntime before/after), analyzes before and after, and writes the pair.

Each command runs in a fresh python as the only child of a probe process (peak = the probe's
RUSAGE_CHILDREN ru_maxrss; seconds = the probe's wall clock around it, interpreter start and
imports included: the "python + imports" row gives that floor).

    python benchmarks/bench_rewrite_scale_external.py                   # 10k and 100k nodes
    python benchmarks/bench_rewrite_scale_external.py --nodes 2000 20000 --weights-mb 256
    python benchmarks/bench_rewrite_scale_external.py --profile        # cProfile of the rewrite
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import onnx
import onnx.helper
import onnx.numpy_helper

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from tests.fixtures.bench_models import hardswish_chain  # noqa: E402
from tests.fixtures.big_models import matmul_sum, save_with_external_weights  # noqa: E402

WIDTH = 4096
BLOCK = 5


def build(folder: Path, nodes: int, weights_mb: int) -> tuple[Path, int, int]:
    """model.onnx + model.onnx.data in `folder`: (path, node count, weight bytes)."""
    count = max(1, round(weights_mb * 2**20 / (WIDTH * WIDTH * 4)))
    model, weights = matmul_sum(WIDTH, count)
    graph = model.graph
    graph.node[-1].output[0] = "s"
    blocks = max(1, (nodes - len(graph.node)) // BLOCK)
    chain, shared = hardswish_chain("s", blocks, WIDTH)
    graph.node.extend(chain)
    graph.initializer.extend(shared)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "model.onnx"
    size = save_with_external_weights(model, path, weights)
    return path, len(graph.node), size


def peak_of(command: list[str]) -> tuple[int, float, int]:
    """(peak RSS bytes, seconds, exit status) of `command` as the only child of a fresh probe
    (ru_maxrss of RUSAGE_CHILDREN is the largest child waited for)."""
    probe = ("import resource, subprocess, sys, time, json; t = time.perf_counter(); "
             "rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode; "
             "print(json.dumps([resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024, "
             "time.perf_counter() - t, rc]))")
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    out = subprocess.run([sys.executable, "-c", probe, *command], capture_output=True, text=True,
                         env=env, check=True)
    peak, seconds, rc = json.loads(out.stdout.strip().splitlines()[-1])
    return int(peak), float(seconds), int(rc)


LOAD_SAVE = ("import onnx, sys; m = onnx.load(sys.argv[1]); "
             "onnx.save_model(m, sys.argv[2], save_as_external_data=True, "
             "location='copy.onnx.data')")


def measure(folder: Path, nodes: int, weights_mb: int, profile: bool) -> dict[str, object]:
    model, count, weights = build(folder, nodes, weights_mb)
    out = folder / "out"
    out.mkdir()
    load_save = peak_of([sys.executable, "-c", LOAD_SAVE, str(model), str(out / "copy.onnx")])
    rewrite_cmd = [sys.executable, "-m", "analyzer.cli.main", "rewrite", str(model), "-o",
                   str(out / "rewritten.onnx"), "--target-opset", "13"]
    if profile:
        stats = folder / "rewrite.prof"
        rewrite_cmd[1:2] = ["-m", "cProfile", "-o", str(stats), "-m"]
    rewrite = peak_of(rewrite_cmd)
    written = onnx.load(str(out / "rewritten.onnx"), load_external_data=False) \
        if (out / "rewritten.onnx").exists() else None
    row: dict[str, object] = {
        "nodes": count, "weights_bytes": weights,
        "load_save": {"peak_bytes": load_save[0], "seconds": round(load_save[1], 2),
                      "exit": load_save[2]},
        "rewrite": {"peak_bytes": rewrite[0], "seconds": round(rewrite[1], 2),
                    "exit": rewrite[2]},
        "nodes_after": len(written.graph.node) if written is not None else None,
        "opset_after": next((i.version for i in written.opset_import if i.domain == ""), None)
        if written is not None else None,
        "external_after": Path(f"{out / 'rewritten.onnx'}.data").exists(),
    }
    if profile:
        import pstats  # only with --profile

        pstats.Stats(str(stats)).sort_stats("cumulative").print_stats(30)
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--weights-mb", type=int, default=1024)
    parser.add_argument("--profile", action="store_true",
                        help="cProfile the rewrite (the profile's overhead is in its time)")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args(argv)
    rows = []
    imports = peak_of([sys.executable, "-c", "import onnx, onnxruntime, analyzer.cli.main"])
    floors = {"load_save": peak_of([sys.executable, "-c", "import onnx"])[1],
              "rewrite": imports[1]}
    for nodes in args.nodes:
        with tempfile.TemporaryDirectory() as tmp:
            rows.append(measure(Path(tmp), nodes, args.weights_mb, args.profile))
        print(json.dumps(rows[-1]), flush=True)
    gib = 2**30
    print(f"\npython + imports only: {imports[0] / gib:.2f} GiB, {imports[1]:.1f} s "
          f"(python + import onnx: {floors['load_save']:.1f} s)")
    print(f"{'nodes':>8} {'weights':>8} | {'load+save s':>11} {'GiB':>5} | {'rewrite s':>9} "
          f"{'GiB':>5} {'exit':>4} {'opset':>5} | {'time x':>6} {'mem x':>5} "
          f"{'mem/weights':>11}")
    for r in rows:
        ls, rw = r["load_save"], r["rewrite"]
        assert isinstance(ls, dict) and isinstance(rw, dict)
        w = float(str(r["weights_bytes"]))
        print(f"{r['nodes']:>8} {w / gib:>6.2f} G | {ls['seconds']:>11} "
              f"{ls['peak_bytes'] / gib:>5.2f} | {rw['seconds']:>9} {rw['peak_bytes'] / gib:>5.2f} "
              f"{rw['exit']:>4} {r['opset_after']!s:>5} | "
              f"{rw['seconds'] / ls['seconds']:>6.1f} {rw['peak_bytes'] / ls['peak_bytes']:>5.2f} "
              f"{rw['peak_bytes'] / w:>11.2f}")
    if len(rows) >= 2:
        a, b = rows[0], rows[-1]
        size = float(str(b["nodes"])) / float(str(a["nodes"]))
        for case in ("load_save", "rewrite"):
            ca, cb = a[case], b[case]
            assert isinstance(ca, dict) and isinstance(cb, dict)
            growth = (cb["seconds"] / ca["seconds"]) / size
            rest = ((cb["seconds"] - floors[case]) / (ca["seconds"] - floors[case])) / size
            print(f"{case}: {size:.0f}x the nodes -> time x{cb['seconds'] / ca['seconds']:.1f} "
                  f"(growth {growth:.2f}, without the interpreter and imports {rest:.2f}; "
                  f"1.00 = linear), peak memory x{cb['peak_bytes'] / ca['peak_bytes']:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"imports": imports, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
