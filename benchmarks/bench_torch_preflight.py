"""Pre-flight vs real export time for a mid-size PyTorch model (a few transformer layers).

Each measurement runs in a fresh interpreter (imports and torch.onnx's registry build are paid
by both sides alike) and is repeated; the best and the median are printed with their ratio.
Goal (issue 3): pre-flight at most half of the dynamo export time.

    .venv/bin/python benchmarks/bench_torch_preflight.py [--layers 4] [--dim 256] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys, tempfile, time, warnings
warnings.simplefilter("ignore")
import torch
from torch import nn
layers, dim, which, exporter = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
torch.manual_seed(0)
layer = nn.TransformerEncoderLayer(dim, nhead=8, dim_feedforward=4 * dim, batch_first=True)
model = nn.TransformerEncoder(layer, num_layers=layers, enable_nested_tensor=False).eval()
x = torch.randn(1, 64, dim)
if which == "preflight":
    from analyzer.workflows.torch_preflight import analyze_torch
    t = time.perf_counter()
    report = analyze_torch(model, (x,), opset=18, exporter=exporter)
    elapsed = time.perf_counter() - t
    extra = {"verdict": report.verdict, "ops": len(report.ops)}
else:
    import io, contextlib
    t = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()):
        torch.onnx.export(model, (x,), f"{tmp}/m.onnx", dynamo=exporter == "dynamo",
                          opset_version=18)
    elapsed = time.perf_counter() - t
    extra = {}
print(json.dumps({"seconds": elapsed, **extra}))
"""


def run(which: str, exporter: str, layers: int, dim: int) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(layers), str(dim), which, exporter],
        capture_output=True, text=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": ""},
        check=True, timeout=900,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--dim", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--exporters", default="dynamo,torchscript")
    args = parser.parse_args()
    print(f"nn.TransformerEncoder: {args.layers} layers, d_model {args.dim}, seq 64; "
          f"best (median) of {args.repeat} fresh processes")
    print(f"{'exporter':<12} {'pre-flight s':>16} {'export s':>16} {'ratio':>7}  goal")
    for exporter in args.exporters.split(","):
        pre = [float(run("preflight", exporter, args.layers, args.dim)["seconds"])
               for _ in range(args.repeat)]
        exp = [float(run("export", exporter, args.layers, args.dim)["seconds"])
               for _ in range(args.repeat)]
        ratio = min(pre) / min(exp)
        goal = "<= 0.50 " + ("met" if ratio <= 0.5 else "MISSED") if exporter == "dynamo" else ""
        print(f"{exporter:<12} {min(pre):>7.2f} ({statistics.median(pre):5.2f}) "
              f"{min(exp):>7.2f} ({statistics.median(exp):5.2f}) {ratio:>7.2f}  {goal}")


if __name__ == "__main__":
    main()
