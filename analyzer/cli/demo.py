"""`onnx-preflight demo`: the whole pipeline on a built-in model written in code (no downloads).

With torch installed: a small vision + attention network (hardswish, silu, gelu, layer_norm,
scaled_dot_product_attention) is pre-flighted at opset 13, the proposed opset is taken, the model
is exported with torch.onnx (dynamo), analyzed for the CUDA and CPU providers (placement,
fallbacks), checked for parity against torch on CPU, and timed on every available provider.
Without torch, the ONNX half runs on a built-in ONNX model. Reports go to DIR: report.json,
report.md, the model, and latency.png when matplotlib is installed."""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path
from typing import Any

from analyzer.cli.common import write_atomically

LOW_OPSET = 13


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("demo", help="run the pipeline on a built-in model", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-o", "--output-dir", default="preflight-demo", metavar="DIR",
                   help="folder for the model and the reports (default: ./preflight-demo)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from analyzer.errors import InputError

    out = Path(args.output_dir)
    if out.exists() and not out.is_dir():
        raise InputError(out, "OUTPUT_PATH", "output path exists and is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    console = Console()
    if importlib.util.find_spec("torch") is None:
        console.print("[yellow]torch is not installed: running the ONNX half of the pipeline on "
                      "a built-in ONNX model[/yellow]")
        report = _onnx_half(out, console)
    else:
        report = _torch_pipeline(out, console)
    write_atomically(str(out / "report.json"), report.to_json() + "\n")
    write_atomically(str(out / "report.md"), report.to_markdown())
    files = ", ".join(sorted(p.name for p in out.iterdir() if not p.name.startswith(".")))
    console.print(f"\n[bold]wrote[/bold] {out}/: {files}")
    return 0


def _onnx_half(out: Path, console: Any) -> Any:
    import onnx

    from analyzer.api import analyze
    from analyzer.demo_model import build_demo_model
    from analyzer.report.text import build_renderable

    model_path = out / "demo_vit.onnx"
    onnx.save_model(build_demo_model(), model_path)
    with console.status("analyzing for CUDAExecutionProvider, CPUExecutionProvider"):
        report = analyze(model_path, providers=("cuda", "cpu"))
    console.print(build_renderable(report))
    return report


def _torch_pipeline(out: Path, console: Any) -> Any:
    import onnxruntime as ort

    from analyzer.demo_torch import build_demo_torch
    from analyzer.report.text import build_renderable
    from analyzer.runtime.bench import bench
    from analyzer.runtime.verify import merge_into_report, verify
    from analyzer.torch_api import analyze_torch, export_torch

    module, example = build_demo_torch()
    name = "analyzer.demo_torch:build_demo_torch"
    console.rule(f"1. pre-flight at opset {LOW_OPSET} (dynamo exporter)")
    with console.status("capturing the model with torch.export"):
        pre = analyze_torch(module, example, opset=LOW_OPSET, exporter="dynamo", name=name,
                            both_exporters=True)
    console.print(build_renderable(pre))
    proposed = (pre.extras.get("min_opset") or {}).get("dynamo") or 18
    console.rule(f"2. fix: export at opset {proposed}, the lowest the dynamo exporter delivers")
    model_path = out / "demo_vit.onnx"
    with console.status(f"exporting with torch.onnx at opset {proposed}, then analyzing"):
        report = export_torch(module, example, model_path, opset=proposed, exporter="dynamo",
                              providers=("cuda", "cpu"), name=name)
    console.rule("3. the exported model for CUDA and CPU")
    console.print(build_renderable(report))
    console.rule("4. parity against torch (CPU)")
    with console.status("running onnxruntime and torch on seeded inputs"):
        parity = verify(model_path, reference=module, providers=("cpu",), samples=2)
    merge_into_report(report, parity)
    worst = max((o.max_abs for s in parity.samples for o in s.outputs), default=0.0)
    console.print(f"parity {'PASS' if parity.passed else 'FAIL'}: max abs error {worst:.3g} over "
                  f"{len(parity.samples)} samples")
    console.rule("5. latency on every available provider")
    available = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider")
                 if p in ort.get_available_providers()]
    with console.status(f"timing on {', '.join(available)}"):
        timing = bench(model_path, providers=available, warmup=5, iterations=50,
                       plot=out / "latency.png", progress=False)
    for provider in available:
        stats = timing.run_for(provider).stats
        console.print(f"{provider}: p50 {stats.p50_ms:.3f} ms, p90 {stats.p90_ms:.3f} ms")
    if timing.plot_note:
        console.print(f"[dim]{timing.plot_note}[/dim]")
    report.extras["latency"] = timing.to_dict()
    report.extras["demo_preflight"] = pre.to_dict()
    console.print("[dim]graph rewrites (before/after) join the demo when the rewrite rules "
                  "land[/dim]")
    return report
