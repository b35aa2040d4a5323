"""Markdown rendering of a Report (for CI job summaries and pull-request comments)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from opsets.tables import short_provider

if TYPE_CHECKING:  # annotations only: analyzer.report.model imports this renderer
    from analyzer.report.model import Report

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


_VERDICT = {"pass": "PASS", "warn": "WARN", "fail": "FAIL"}


def _fix_text(fix: Any) -> str:
    d = fix.to_dict()
    run = f": `{d['command']}`" if d.get("command") else ""
    return {"opset": f"use opset >= {d.get('min')}",
            "rewrite": f"rewrite `{d.get('rule')}`{run}",
            "source": str(d.get("hint"))}[fix.kind]


def render_markdown(report: Report, max_nodes: int = 5) -> str:
    """A CI step summary / pull-request comment: the verdict and counts first, a table of the
    blocking findings (errors and warnings: what `--fail-on` can act on), then the placement,
    every finding with its fixes and the op table in collapsed <details> blocks, so the summary
    stays short on a passing model and a failing one shows its blockers without a click."""
    m = report.model
    counts = {sev: sum(1 for f in report.open_findings if f.severity == sev)
              for sev in ("error", "warning", "info")}
    lines = [
        f"# onnx-preflight report: `{m.path or '<in-memory model>'}`",
        "",
        f"**Verdict: {_VERDICT.get(report.verdict, report.verdict.upper())}** · "
        f"{counts['error']} error(s), {counts['warning']} warning(s), {counts['info']} info · "
        f"{m.nodes} nodes · {m.parameters:,} parameters · IR {m.ir_version} · opsets "
        + ", ".join(f"{d or 'ai.onnx'} {v}" for d, v in sorted(m.opset_imports.items()))
        + " · providers "
        + (", ".join(short_provider(p) for p in report.target.providers) or "none"),
        "",
    ]
    blocking = [f for f in report.open_findings if f.severity in ("error", "warning")]
    lines += ["## Blocking findings", ""]
    if not blocking:
        lines += ["None: no error or warning.", ""]
    else:
        lines += ["| severity | id | op | nodes | finding | first fix |",
                  "|---|---|---|---|---|---|"]
        for f in blocking:
            nodes = ", ".join(f"`{_cell(n)}`" for n in f.nodes[:3]) + (
                f" +{len(f.nodes) - 3}" if len(f.nodes) > 3 else "")
            first_fix = _cell(_fix_text(f.fixes[0])) if f.fixes else "-"
            lines.append(f"| {_SEV[f.severity]} | `{f.id}` | {_cell(f.op or '-')} | "
                         f"{nodes or '-'} | {_cell(f.message)} | {first_fix} |")
        lines.append("")
    providers = list(report.placement)
    if report.placement:
        lines += ["<details><summary>Placement per provider</summary>", "",
                  "| provider | nodes | fallbacks | partitions | device copies |",
                  "|---|---:|---:|---:|---:|"]
        for p, s in report.placement.items():
            lines.append(f"| {short_provider(p)} | {s['predicted_nodes']} "
                         f"| {len(s['fallback_nodes'])} | {s['partitions']} "
                         f"| {s['device_copies']} |")
        lines += ["", "</details>", ""]
    lines += [f"<details><summary>All findings ({len(report.findings)}) with their fixes"
              "</summary>", ""]
    if not report.findings:
        lines.append("No findings.")
    for f in report.findings:
        nodes = ", ".join(f"`{n}`" for n in f.nodes[:max_nodes])
        more = f" and {len(f.nodes) - max_nodes} more" if len(f.nodes) > max_nodes else ""
        subject = f" {f.op}:" if f.op else ":"
        lines.append(f"- {_SEV[f.severity]} `{f.id}`{subject} {_cell(f.message)}")
        if not f.is_open:
            lines.append(f"  - resolved: {_cell(f.resolved_by or '')}")
        if nodes:
            lines.append(f"  - nodes: {nodes}{more}")
        if f.location:
            lines.append(f"  - location: `{f.location}`")
        for fix in f.fixes:
            lines.append(f"  - fix: {_cell(_fix_text(fix))}")
    lines += ["", "</details>", "", f"<details><summary>Ops ({len(report.ops)})</summary>", ""]
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
    lines += ["", "</details>", ""]
    lines.append(f"_{report.tool['name']} {report.tool['version']}, onnx "
                 f"{report.environment.get('onnx')}, onnxruntime "
                 f"{report.environment.get('onnxruntime')}_")
    return "\n".join(lines) + "\n"
