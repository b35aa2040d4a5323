"""Markdown rendering of a Report (for CI job summaries and pull-request comments)."""

from __future__ import annotations

from analyzer.report.model import Report

_ICON = {"ok": "ok", "fallback": "fallback", "none": "**none**"}
_SEV = {"error": "**error**", "warning": "warning", "info": "info"}


def _short(provider: str) -> str:
    return provider.replace("ExecutionProvider", "")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: Report, max_nodes: int = 5) -> str:
    m = report.model
    lines = [
        f"# onnx-preflight report: `{m.path or '<in-memory model>'}`",
        "",
        f"**Verdict: {report.verdict.upper()}** · {m.nodes} nodes · "
        f"{m.parameters:,} parameters · IR {m.ir_version} · opsets "
        + ", ".join(f"{d or 'ai.onnx'} {v}" for d, v in sorted(m.opset_imports.items()))
        + " · providers "
        + (", ".join(_short(p) for p in report.target.providers) or "none"),
        "",
    ]
    providers = list(report.placement)
    if report.placement:
        lines += ["## Placement", "",
                  "| provider | nodes | fallbacks | partitions | device copies |",
                  "|---|---:|---:|---:|---:|"]
        for p, s in report.placement.items():
            lines.append(f"| {_short(p)} | {s['predicted_nodes']} | {len(s['fallback_nodes'])} "
                         f"| {s['partitions']} | {s['device_copies']} |")
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
    header = "| op | domain | count | onnx | " + " | ".join(_short(p) for p in providers) + " |"
    lines += [header, "|" + "---|" * (4 + len(providers))]
    for o in report.ops:
        onnx_cell = o.onnx["status"] + (f" ({o.onnx['since_version']})"
                                        if o.onnx.get("since_version") else "")
        cells = [_ICON.get(o.providers.get(p, {}).get("status", ""), "-") for p in providers]
        lines.append(f"| {o.op} | {o.domain or 'ai.onnx'} | {o.count} | {onnx_cell} | "
                     + " | ".join(cells) + " |")
    lines.append("")
    lines.append(f"_{report.tool['name']} {report.tool['version']}, onnx "
                 f"{report.environment.get('onnx')}, onnxruntime "
                 f"{report.environment.get('onnxruntime')}_")
    return "\n".join(lines) + "\n"
