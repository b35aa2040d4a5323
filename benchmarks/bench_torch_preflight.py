"""Pre-flight vs real export time for a mid-size PyTorch model (a few transformer layers).

Each measurement runs in a fresh interpreter (imports and torch.onnx's registry build are paid
by both sides alike) and is repeated; the best and the median are printed with their ratio.
Goal (issue 3): pre-flight at most half of the dynamo export time.

    .venv/bin/python benchmarks/bench_torch_preflight.py [--layers 4] [--dim 256] [--repeat 3]
    .venv/bin/python benchmarks/bench_torch_preflight.py --architectures [--opsets 17,18,20]

`--architectures` runs the models of tests/fixtures/torch_arch_corpus.py (vision and language
architectures in the style of public models) in one warm process: per model and opset the
pre-flight's verdict against the real dynamo export's outcome (agreement), and at opset 18 the
pre-flight's time as a fraction of the export's, with the ratio over the corpus (sums).
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


ARCH_CHILD = r"""
import contextlib, io, json, logging, sys, tempfile, time, warnings
warnings.simplefilter("ignore")
logging.disable(logging.WARNING)
import torch
from analyzer.workflows.torch_preflight import analyze_torch
from tests.fixtures.torch_arch_corpus import ARCHITECTURES
opsets = [int(o) for o in sys.argv[1].split(",")]
# warm both sides once (imports, torchlib registry) so neither pays them in the figures
m, a = ARCHITECTURES["gpt2"]()
analyze_torch(m, a, opset=18)
with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()):
    torch.onnx.export(m, a, f"{tmp}/m.onnx", dynamo=True, opset_version=18)
for name, build in ARCHITECTURES.items():
    for opset in opsets:
        m, a = build()
        t = time.perf_counter()
        report = analyze_torch(m, a, opset=opset)
        pre = time.perf_counter() - t
        t = time.perf_counter()
        try:
            with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()):
                torch.onnx.export(m, a, f"{tmp}/m.onnx", dynamo=True, opset_version=opset)
                import onnx
                got = next(o.version for o in onnx.load(f"{tmp}/m.onnx").opset_import
                           if o.domain in ("", "ai.onnx"))
            # below 18 a failed down-conversion is silent: the file keeps opset 18
            real = "pass" if got == opset else f"fail: delivered opset {got}"
        except Exception as exc:  # noqa: BLE001
            real = "fail: " + str(exc).splitlines()[0][:80]
        exp = time.perf_counter() - t
        print(json.dumps({"model": name, "opset": opset, "predicted": report.verdict,
                          "real": real, "preflight_s": pre, "export_s": exp}), flush=True)
"""


def architectures(opsets: str) -> None:
    """Agreement and time ratio over tests/fixtures/torch_arch_corpus.py (one warm process)."""
    out = subprocess.run([sys.executable, "-c", ARCH_CHILD, opsets], capture_output=True,
                         text=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": ""},
                         check=True, timeout=1800)
    rows = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    print(f"{'model':<22} {'opset':>5} {'predicted':>9} {'real':<30} {'pre s':>6} {'exp s':>6}"
          f" {'ratio':>6}")
    agree = 0
    for r in rows:
        ok = (r["predicted"] != "fail") == (r["real"] == "pass")
        agree += ok
        print(f"{r['model']:<22} {r['opset']:>5} {r['predicted']:>9} {r['real'][:30]:<30} "
              f"{r['preflight_s']:>6.2f} {r['export_s']:>6.2f} "
              f"{r['preflight_s'] / r['export_s']:>6.2f}{'' if ok else '  DISAGREE'}")
    at18 = [r for r in rows if r["opset"] == 18] or rows
    ratio = sum(r["preflight_s"] for r in at18) / sum(r["export_s"] for r in at18)
    print(f"agreement {agree}/{len(rows)}; pre-flight/export time over the corpus at opset "
          f"{at18[0]['opset']}: {ratio:.2f}x (goal <= 0.50 {'met' if ratio <= 0.5 else 'MISSED'})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--dim", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--exporters", default="dynamo,torchscript")
    parser.add_argument("--architectures", action="store_true",
                        help="agreement and time ratio over tests/fixtures/torch_arch_corpus.py")
    parser.add_argument("--opsets", default="17,18,20")
    args = parser.parse_args()
    if args.architectures:
        architectures(args.opsets)
        return
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
