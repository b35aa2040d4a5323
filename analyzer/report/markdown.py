"""Markdown rendering of a Report (for CI job summaries and pull-request comments)."""

from __future__ import annotations

from analyzer.report.model import Report
from opsets.tables import short_provider

_ICON = {"ok": "ok", "fallback": "fallback", "none": "**none**"}
_SEV = {"error": "**error**", "warning": "warning", "info": "info"}



def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def onnx_cell(onnx: dict[str, object] | None) -> str:
    if not onnx:
        return "-"
    version = onnx.get("since_version")
    return f"{onnx['status']}" + (f" ({version})" if version else "")


def converter_cell(converter: dict[str, object] | None) -> str:
    if not converter:
        return "-"
    status = str(converter.get("status"))
    if status == "needs_opset":
        return f"needs opset {converter.get('min_opset')}"
    return status


def render_markdown(report: Report, max_nodes: int = 5) -> str:
    m = report.model
    lines = [
        f"# onnx-preflight report: `{m.path or '<in-memory model>'}`",
        "",
        f"**Verdict: {report.verdict.upper()}** · {m.nodes} nodes · "
        f"{m.parameters:,} parameters · IR {m.ir_version} · opsets "
        + ", ".join(f"{d or 'ai.onnx'} {v}" for d, v in sorted(m.opset_imports.items()))
        + " · providers "
        + (", ".join(short_provider(p) for p in report.target.providers) or "none"),
        "",
    ]
    providers = list(report.placement)
    if report.placement:
        lines += ["## Placement", "",
                  "| provider | nodes | fallbacks | partitions | device copies |",
                  "|---|---:|---:|---:|---:|"]
        for p, s in report.placement.items():
            lines.append(f"| {short_provider(p)} | {s['predicted_nodes']} "
                         f"| {len(s['fallback_nodes'])} | {s['partitions']} "
                         f"| {s['device_copies']} |")
        lines.append("")
    lines += ["## Findings", ""]
    if not report.findings:
        lines.append("No findings.")
    for f in report.findings:
        nodes = ", ".join(f"`{n}`" for n in f.nodes[:max_nodes])
        more = f" and {len(f.nodes) - max_nodes} more" if len(f.nodes) > max_nodes else ""
        subject = f" {f.op}:" if f.op else ":"
        lines.append(f"- {_SEV[f.severity]} `{f.id}`{subject} {_cell(f.message)}")
        if nodes:
            lines.append(f"  - nodes: {nodes}{more}")
        if f.location:
            lines.append(f"  - location: `{f.location}`")
        for fix in f.fixes:
            d = fix.to_dict()
            detail = {"opset": f"use opset >= {d.get('min')}",
                      "rewrite": f"rewrite `{d.get('rule')}`",
                      "source": str(d.get("hint"))}[fix.kind]
            lines.append(f"  - fix: {_cell(detail)}")
    lines += ["", "## Ops", ""]
    converter = any(o.converter for o in report.ops)
    extra = ["converter"] if converter else []
    header = "| op | domain | count | onnx | " + " | ".join(
        [*extra, *(short_provider(p) for p in providers)]) + " |"
    lines += [header.replace("|  |", "|"), "|" + "---|" * (4 + len(extra) + len(providers))]
    for o in report.ops:
        cells = [converter_cell(o.converter)] if converter else []
        cells += [_ICON.get(o.providers.get(p, {}).get("status", ""), "-") for p in providers]
        lines.append(f"| {o.op} | {o.domain or 'ai.onnx'} | {o.count} | {onnx_cell(o.onnx)} | "
                     + " | ".join(cells) + " |")
    lines.append("")
    lines.append(f"_{report.tool['name']} {report.tool['version']}, onnx "
                 f"{report.environment.get('onnx')}, onnxruntime "
                 f"{report.environment.get('onnxruntime')}_")
    return "\n".join(lines) + "\n"
