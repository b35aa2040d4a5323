"""`onnx-preflight demo`: the whole pipeline on a built-in model written in code (no downloads).

With torch installed: a small vision + attention network (hardswish, silu, gelu, layer_norm,
scaled_dot_product_attention) is pre-flighted at opset 13, the proposed opset is taken, the model
is exported with torch.onnx (dynamo), analyzed for the CUDA and CPU providers (placement,
fallbacks), checked for parity against torch on CPU, and timed on every available provider.
Without torch, the ONNX half runs on a built-in ONNX model. Reports go to DIR: report.html
(interactive graph, works offline), report.json, report.md, the model, and latency.png when
matplotlib is installed."""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path
from typing import Any

from analyzer.cli.common import write_atomically
from analyzer.demo_model import build_demo_model
from analyzer.demo_torch import build_demo_torch
from analyzer.error_codes import OUTPUT_PATH
from analyzer.errors import InputError
from analyzer.report.html import render_html
from analyzer.report.rewrite_extras import rewrite_block
from analyzer.report.text import build_renderable
from analyzer.runtime.bench import bench
from analyzer.runtime.verify import merge_into_report, verify
from analyzer.safe_write import save_onnx_atomically
from analyzer.workflows.onnx_preflight import analyze
from analyzer.workflows.rewrite_pipeline import run_pass
from analyzer.workflows.torch_export import export_torch
from analyzer.workflows.torch_preflight import analyze_torch

LOW_OPSET = 13


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("demo", help="run the pipeline on a built-in model", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-o", "--output-dir", default="preflight-demo", metavar="DIR",
                   help="folder for the model and the reports (default: ./preflight-demo)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console


    out = Path(args.output_dir)
    if out.exists() and not out.is_dir():
        raise InputError(out, OUTPUT_PATH, "output path exists and is not a directory")
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
    write_atomically(str(out / "report.html"), render_html(report))
    files = ", ".join(sorted(p.name for p in out.iterdir() if not p.name.startswith(".")))
    console.print(f"\n[bold]wrote[/bold] {out}/: {files}")
    return 0


def _onnx_half(out: Path, console: Any) -> Any:
    model_path = out / "demo_vit.onnx"
    save_onnx_atomically(build_demo_model(), model_path)
    with console.status("analyzing for CUDAExecutionProvider, CPUExecutionProvider"):
        report = analyze(model_path, providers=("cuda", "cpu"))
    console.print(build_renderable(report))
    return report


def _torch_pipeline(out: Path, console: Any) -> Any:
    import onnxruntime as ort


    module, example = build_demo_torch()
    name = "analyzer.demo_torch:build_demo_torch"
    console.rule(f"1. pre-flight at opset {LOW_OPSET} (dynamo exporter)")
    with console.status("capturing the model with torch.export"):
        pre = analyze_torch(module, example, opset=LOW_OPSET, exporter="dynamo", name=name,
                            both_exporters=True)
    console.print(build_renderable(pre))
    console.rule(f"2. fix: export at opset {LOW_OPSET} with the source rules the pre-flight "
                 "proposes")
    model_path = out / "demo_vit.onnx"
    with console.status(f"exporting with torch.onnx at opset {LOW_OPSET} under the source rules, "
                        "then analyzing"):
        report = export_torch(module, example, model_path, opset=LOW_OPSET, exporter="dynamo",
                              providers=("cuda", "cpu"), name=name, rewrite=True)
    applied = list(report.rewrites.applied) if report.rewrites is not None else []
    if applied:
        console.print(f"source rules applied: {', '.join(applied)}")
    console.rule("3. the exported model for CUDA and CPU")
    console.print(build_renderable(report))
    console.rule("4. parity against torch (CPU)")
    parity_block = report.extras.get("parity")
    if not parity_block:
        with console.status("running onnxruntime and torch on seeded inputs"):
            merge_into_report(report, verify(model_path, reference=module, providers=("cpu",),
                                             samples=2))
        parity_block = report.extras["parity"]
    outputs = [o for s in parity_block.get("samples", []) for o in s.get("outputs", [])]
    worst = max((o.get("max_abs") or 0.0 for o in outputs), default=0.0)
    console.print(f"parity {'PASS' if parity_block.get('passed') else 'FAIL'}: max abs error "
                  f"{worst:.3g} over {len(parity_block.get('samples', []))} samples")
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
    _graph_rewrites(model_path, out, report, console)
    return report


def _graph_rewrites(model_path: Path, out: Path, report: Any, console: Any) -> None:
    """Step 6: the findings-driven ONNX pass for CUDA and CPU (e.g. Celu, which CUDA lacks,
    expanded into its function body), verified, written beside the model, placement before
    and after in the report."""
    import onnx


    console.rule("6. graph rewrites for CUDA and CPU (before / after)")
    original = onnx.load(str(model_path))
    with console.status("rewriting what the findings ask for, verifying each rule"):
        passed = run_pass(original, providers=("cuda", "cpu"))
    result = passed.result
    for entry in result.applied:
        error = "" if entry.max_abs_error is None else f", max abs error {entry.max_abs_error:.3g}"
        console.print(f"{entry.rule} on {entry.node} ({'exact' if entry.exact else 'approximate'}"
                      f"{error}): -{'/'.join(entry.removed)} +{'/'.join(entry.added)}")
    placement = passed.placement()
    for provider, before in placement["before"].items():
        after = placement["after"].get(provider, {})
        console.print(f"{provider}: fallback nodes {len(before.get('fallback_nodes', []))} -> "
                      f"{len(after.get('fallback_nodes', []))}, partitions "
                      f"{before.get('partitions')} -> {after.get('partitions')}")
    if result.applied:
        rewritten = out / "demo_vit_rewritten.onnx"
        save_onnx_atomically(result.model, rewritten)
        console.print(f"wrote {rewritten}")
        block = rewrite_block(original, result, output=str(rewritten))
        block.placement = placement
        report.rewrites = block
    else:
        console.print("[dim]no finding asks for a graph rewrite[/dim]")
