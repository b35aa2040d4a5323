"""`onnx-preflight demo`: analyze a built-in vision + attention model for the CUDA and CPU
providers, print the report, and write report.json, report.md and the model into DIR.

The model is built in code (no downloads). Later releases grow this into the whole pipeline
(PyTorch pre-flight, rewrites, parity, latency); today it runs the ONNX analysis."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analyzer.cli.common import write_atomically


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("demo", help="run the analysis on a built-in model", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-o", "--output-dir", default="preflight-demo", metavar="DIR",
                   help="folder for the model and the reports (default: ./preflight-demo)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import onnx
    from rich.console import Console

    from analyzer.api import analyze
    from analyzer.demo_model import build_demo_model
    from analyzer.errors import InputError
    from analyzer.report.text import build_renderable

    out = Path(args.output_dir)
    if out.exists() and not out.is_dir():
        raise InputError(out, "OUTPUT_PATH", "output path exists and is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    console = Console(stderr=False)
    model_path = out / "demo_vit.onnx"
    with console.status("building the demo model"):
        model = build_demo_model()
        onnx.save_model(model, model_path)
    with console.status("analyzing for CUDAExecutionProvider, CPUExecutionProvider"):
        report = analyze(model_path, providers=("cuda", "cpu"))
    console.print(build_renderable(report))
    write_atomically(str(out / "report.json"), report.to_json() + "\n")
    write_atomically(str(out / "report.md"), report.to_markdown())
    print(f"\nwrote {model_path}, {out / 'report.json'}, {out / 'report.md'}", file=sys.stderr)
    return 0
