"""Terminal rendering of a Report with rich: summary line, placement, findings, op table."""

from __future__ import annotations

import io

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from analyzer.report.markdown import converter_cell, onnx_cell
from analyzer.report.model import Report
from opsets.tables import short_provider

_STATUS_STYLE = {"ok": "green", "fallback": "yellow", "none": "bold red"}
_SEV_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}
_VERDICT_STYLE = {"pass": "bold green", "warn": "bold yellow", "fail": "bold red"}



def build_renderable(report: Report, max_nodes: int = 4) -> Group:
    m = report.model
    summary = Text()
    summary.append(f" {report.verdict.upper()} ", style="reverse " + _VERDICT_STYLE[report.verdict])
    summary.append(f"  {m.path or '<in-memory model>'}  ")
    counts = {s: sum(1 for f in report.open_findings if f.severity == s)
              for s in ("error", "warning", "info")}
    resolved = len(report.findings) - len(report.open_findings)
    summary.append(
        f"{m.nodes} nodes, {len(report.ops)} op types, opset "
        + ", ".join(f"{d or 'ai.onnx'} {v}" for d, v in sorted(m.opset_imports.items()))
        + f" | {counts['error']} errors, {counts['warning']} warnings, {counts['info']} info"
        + (f", {resolved} resolved" if resolved else "")
    )
    parts: list[object] = [summary]
    if m.format in ("tensorflow", "tflite", "keras") and (m.inputs or m.outputs):
        # what summarize_graph prints: the names tf2onnx's --inputs / --outputs take
        io = Table(title="Inputs and outputs", title_justify="left", show_edge=False)
        for col in ("", "tensor", "dtype", "shape"):
            io.add_column(col)
        for label, tensors in (("input", m.inputs), ("output", m.outputs)):
            for t in tensors:
                shape = "?" if t.shape is None else "[" + ",".join(
                    "?" if d is None else str(d) for d in t.shape) + "]"
                io.add_row(label, t.name, t.dtype or "?", shape)
        parts.append(io)
    providers = list(report.placement)
    if report.placement:
        pt = Table(title="Predicted placement", title_justify="left", show_edge=False)
        for col in ("provider", "nodes", "fallbacks", "partitions", "device copies"):
            pt.add_column(col, justify="left" if col == "provider" else "right")
        for p, s in report.placement.items():
            pt.add_row(short_provider(p), str(s["predicted_nodes"]), str(len(s["fallback_nodes"])),
                       str(s["partitions"]), str(s["device_copies"]))
        parts.append(pt)
    ops = Table(title="Ops", title_justify="left", show_edge=False)
    converter = any(o.converter for o in report.ops)
    for col in ("op", "domain", "count", "onnx", *(["converter"] if converter else [])):
        ops.add_column(col, justify="right" if col == "count" else "left")
    for p in providers:
        ops.add_column(short_provider(p))
    for o in report.ops:
        cells = []
        if converter:
            conv = converter_cell(o.converter)
            cells.append(Text(conv, style="green" if conv == "ok" else "bold red"))
        for p in providers:
            st = o.providers.get(p, {}).get("status", "-")
            cells.append(Text(st, style=_STATUS_STYLE.get(st, "")))
        ok = not o.onnx or o.onnx["status"] == "ok"
        ops.add_row(o.op, o.domain or "ai.onnx", str(o.count),
                    Text(onnx_cell(o.onnx), style="" if ok else "yellow"), *cells)
    parts.append(ops)
    if report.findings:
        ft = Text()
        ft.append("Findings\n", style="bold")
        for f in report.findings:
            ft.append(f"{f.severity:<8}", style=_SEV_STYLE[f.severity])
            ft.append(f"{f.id}  ", style="bold")
            ft.append(f"{f.message}\n")
            if not f.is_open:
                ft.append(f"          resolved: {f.resolved_by}\n", style="green")
            if f.nodes:
                shown = ", ".join(f.nodes[:max_nodes])
                more = f" (+{len(f.nodes) - max_nodes} more)" if len(f.nodes) > max_nodes else ""
                ft.append(f"          nodes: {shown}{more}\n", style="dim")
            if f.location:
                ft.append(f"          at: {f.location}\n", style="dim")
            for fix in f.fixes:
                d = fix.to_dict()
                detail = {"opset": f"use opset >= {d.get('min')}",
                          "rewrite": f"apply rewrite {d.get('rule')}",
                          "source": str(d.get("hint"))}[fix.kind]
                ft.append(f"          fix: {detail}\n", style="green")
                if d.get("command"):  # never wrapped: it must copy and run as printed
                    ft.rstrip()
                    parts.append(ft)
                    parts.append(Text(f"          run: {d['command']}", style="green",
                                      no_wrap=True, overflow="ignore"))
                    ft = Text()
        parts.append(ft)
    else:
        parts.append(Text("No findings.", style="green"))
    return Group(*parts)  # type: ignore[arg-type]


def render_text(report: Report, width: int | None = None, color: bool | None = None) -> str:
    """Render to a string (for -o FILE and tests); the CLI prints to the terminal directly."""
    console = Console(record=True, width=width or 120, force_terminal=color, no_color=not color,
                      file=io.StringIO())
    console.print(build_renderable(report), crop=False)  # fix commands are never cut
    return console.export_text(styles=bool(color))
