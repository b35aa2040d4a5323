"""Peak memory of `onnx-preflight rewrite` on a model whose weights (about 1 GB by default) sit
in external data, for a rewrite that touches no initializer (opset 18 -> 17: onnx:version-convert
only), next to onnx.load + onnx.save of the same model, each measured as the peak RSS of a
child process (resource.getrusage(RUSAGE_CHILDREN).ru_maxrss after it exits).

The model: X[1, N] fed to K MatMuls with [N, N] float32 weights (K * N * N * 4 bytes in
`model.onnx.data`), the K products summed. The ratio peak / weights says how many copies of the
weights the command holds at once (the interpreter and onnxruntime themselves add ~0.1 GB). The
anonymous peak leaves out pages of files the process maps (a rewrite maps the input's data file
for onnxruntime to read the weights from: those pages are the kernel's page cache, not a copy).

    python benchmarks/bench_rewrite_external_memory.py                 # ~1 GB of weights
    python benchmarks/bench_rewrite_external_memory.py --size-mb 256 --json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnx.helper
import onnx.numpy_helper

REPO_ROOT = Path(__file__).resolve().parent.parent
N = 4096  # one weight is N * N float32 = 64 MiB


def build(folder: Path, size_mb: int) -> tuple[Path, int]:
    """model.onnx + model.onnx.data with about `size_mb` MiB of weights; returns the path and
    the weights' bytes."""
    count = max(1, round(size_mb * 2**20 / (N * N * 4)))
    rng = np.random.default_rng(0)
    inits, nodes, products = [], [], []
    for k in range(count):
        weight = rng.standard_normal((N, N), dtype=np.float32) * 0.01
        inits.append(onnx.numpy_helper.from_array(weight, f"w{k}"))
        nodes.append(onnx.helper.make_node("MatMul", ["x", f"w{k}"], [f"p{k}"], name=f"mm{k}"))
        products.append(f"p{k}")
    nodes.append(onnx.helper.make_node("Sum", products, ["y"], name="sum"))
    graph = onnx.helper.make_graph(
        nodes, "external_weights",
        [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, N])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, N])], inits)
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 18)])
    model.ir_version = 9
    path = folder / "model.onnx"
    onnx.save_model(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                    location="model.onnx.data")
    return path, count * N * N * 4


def peak_of(command: list[str]) -> tuple[int, float, int, int]:
    """(peak RSS bytes, seconds, exit status, peak anonymous RSS bytes) of `command` run as the
    only child since the last call: ru_maxrss of RUSAGE_CHILDREN is the largest of the children
    waited for, so each measurement runs in a fresh python that runs the command as its own
    child. The anonymous peak (the memory the process owns, not pages of files it maps, which
    are the kernel's page cache) is sampled from /proc/<pid>/status every 10 ms (Linux; 0
    elsewhere), so it can miss a peak shorter than that."""
    probe = ("import resource, subprocess, sys, time, json; t = time.perf_counter(); "
             "p = subprocess.Popen(sys.argv[1:]); anon = 0\n"
             "while p.poll() is None:\n"
             "    try:\n"
             "        for line in open(f'/proc/{p.pid}/status'):\n"
             "            if line.startswith('RssAnon:'): anon = max(anon, int(line.split()[1]))\n"
             "    except (OSError, ValueError): pass\n"
             "    time.sleep(0.01)\n"
             "print(json.dumps([resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024, "
             "time.perf_counter() - t, p.returncode, anon * 1024]))")
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    out = subprocess.run([sys.executable, "-c", probe, *command], capture_output=True, text=True,
                         env=env, check=True)
    peak, seconds, rc, anon = json.loads(out.stdout.strip().splitlines()[-1])
    return int(peak), float(seconds), int(rc), int(anon)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=1024, help="weights, MiB (default 1024)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        model, weights = build(folder, args.size_mb)
        (folder / "out").mkdir()
        rows = {}
        load_save = ("import onnx, sys; m = onnx.load(sys.argv[1]); "
                     "onnx.save_model(m, sys.argv[2], save_as_external_data=True, "
                     "location='copy.onnx.data')")
        rows["onnx.load + onnx.save"] = peak_of(
            [sys.executable, "-c", load_save, str(model), str(folder / "out" / "copy.onnx")])
        rows["rewrite --target-opset 17"] = peak_of(
            [sys.executable, "-m", "analyzer.cli.main", "rewrite", str(model), "-o",
             str(folder / "out" / "rewritten.onnx"), "--target-opset", "17"])
        baseline = peak_of([sys.executable, "-c", "import onnx, onnxruntime, analyzer.cli.main"])
        rows["python + imports only"] = baseline
    result = {"weights_bytes": weights,
              "rows": {name: {"peak_bytes": peak, "seconds": round(sec, 2), "exit": rc,
                              "peak_over_weights": round(peak / weights, 2),
                              "anon_peak_bytes": anon,
                              "anon_over_weights": round(anon / weights, 2)}
                       for name, (peak, sec, rc, anon) in rows.items()}}
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"weights: {weights / 2**30:.2f} GiB in external data")
    print(f"{'command':<28} {'peak RSS':>10} {'x weights':>10} {'anon peak':>10} "
          f"{'x weights':>10} {'seconds':>8} exit")
    for name, row in result["rows"].items():
        print(f"{name:<28} {row['peak_bytes'] / 2**30:>8.2f} G {row['peak_over_weights']:>10} "
              f"{row['anon_peak_bytes'] / 2**30:>8.2f} G {row['anon_over_weights']:>10} "
              f"{row['seconds']:>8} {row['exit']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
