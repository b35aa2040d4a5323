"""HTML rendering of a Report: one self-contained file that works offline.

Everything the page needs is inlined: the style sheet, the graph script and the layout library.
The layout library is dagre (@dagrejs/dagre 3.1.3, MIT, vendored in assets/dagre.min.js with its
license beside it): a proven layered-DAG (Sugiyama) layout, the one Netron-style graph views and
many others use, small (49 kB), with compound-graph support that draws module groups as nested
boxes. Nothing in the page fetches anything: no CDN, no fonts, no images from elsewhere.

The summary, findings, op table, rewrite log, parity and latency are rendered here as static
HTML (readable without JavaScript, searchable with the browser's find); the graph view is drawn
by assets/report.js from a JSON island (html_graph.view_data). Every string from the model is
escaped: html.escape for markup, and the JSON island escapes <, > and & so that no node name can
close the script element.
"""

from __future__ import annotations

import html
import json
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from analyzer.report.html_graph import fix_text, status_counts, view_data

if TYPE_CHECKING:  # annotations only: analyzer.report.model imports this renderer
    from analyzer.report.model import Report, RewritesBlock

_ASSETS = ("dagre.min.js", "report.js", "report.css")


@cache
def _asset(name: str) -> str:
    return (resources.files("analyzer.report") / "assets" / name).read_text(encoding="utf-8")


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def script_json(data: object) -> str:
    """JSON that is safe inside <script type="application/json">: no "</script>", no "<!--"."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return (text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _short_provider(name: str) -> str:
    return name.removesuffix("ExecutionProvider") or name


def _pill(status: object, label: object | None = None) -> str:
    text = _e(label if label is not None else status)
    return f'<span class="pill {_e(status)}">{text}</span>'


def render_html(report: Report) -> str:
    """The whole page as one string (write it with analyzer.cli.common.write_atomically)."""
    view = view_data(report)
    m = report.model
    title = f"onnx-preflight: {m.path or 'in-memory model'}"
    sections = [
        _summary(report, view),
        _graph_section(report, view),
        _findings(report),
        _preflight(report),
        _ops(report),
        _rewrites(report),
        _parity(report),
        _latency(report),
    ]
    nav = [("summary", "Summary"), ("graph-section", "Graph"), ("findings", "Findings"),
           ("ops", "Ops")]
    for key, label in (("demo_preflight", "Pre-flight"), ("rewrite", "Rewrites"),
                       ("parity", "Parity"), ("latency", "Latency")):
        if key == "rewrite":
            if _onnx_rewrites(report) is not None:
                nav.append((key, label))
        elif isinstance(report.extras.get(key), dict):
            nav.append(("preflight" if key == "demo_preflight" else key, label))
    return "".join([
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
        # No network: the policy forbids every fetch; inline script and style only.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:\">",
        f"<title>{_e(title)}</title><style>{_asset('report.css')}</style></head><body>",
        '<header class="top"><h1>onnx-preflight</h1>',
        f'<span class="verdict {_e(report.verdict)}">{_e(report.verdict.upper())}</span>',
        f'<span class="path mono">{_e(m.path or "in-memory model")}</span></header>',
        '<nav class="sections">',
        "".join(f'<a href="#{k}">{_e(label)}</a>' for k, label in nav),
        "</nav><main>",
        *sections,
        _footer(report),
        "</main>",
        f'<script type="application/json" id="preflight-graph-data">{script_json(view)}</script>',
        f"<script>{_asset('dagre.min.js')}</script>",
        f"<script>{_asset('report.js')}</script>",
        "</body></html>\n",
    ])


def _card(key: str, value: object, sub: str = "") -> str:
    return (f'<div class="card"><div class="k">{_e(key)}</div><div class="v">{value}</div>'
            + (f'<div class="s">{sub}</div>' if sub else "") + "</div>")


def _summary(report: Report, view: dict[str, Any]) -> str:
    m, t = report.model, report.target
    sev = {s: sum(1 for f in report.open_findings if f.severity == s)
           for s in ("error", "warning", "info")}
    nodes = status_counts(view["status"])
    opsets = ", ".join(f"{d or 'ai.onnx'} {v}" for d, v in sorted(m.opset_imports.items()))
    cards = [
        _card("verdict", _pill(report.verdict, report.verdict.upper())),
        _card("findings", f"{sev['error']} / {sev['warning']} / {sev['info']}",
              "errors / warnings / info"),
        _card("nodes", f"{m.nodes:,}", f"{len(report.ops)} op types · {m.parameters:,} parameters"),
        _card("graph", f"{nodes['unsupported']} / {nodes['fallback']}",
              f"unsupported / CPU fallback · {nodes['rewritten']} rewritten"),
        _card("target", _e(f"opset {t.opset}" if t.opset is not None else "opset ?"),
              _e(", ".join(filter(None, [t.exporter, opsets, f"IR {m.ir_version}"
                                         if m.ir_version else None])))),
    ]
    for provider, s in report.placement.items():
        nodes_text = f"{s['predicted_nodes']:,} node" + ("" if s["predicted_nodes"] == 1 else "s")
        cards.append(_card(_short_provider(provider), nodes_text,
                           f"{len(s['fallback_nodes'])} fallbacks · {s['partitions']} partitions"
                           f" · {s['device_copies']} device copies"))
    parity = report.extras.get("parity")
    if isinstance(parity, dict):
        worst = max((o.get("max_abs") or 0.0 for s in parity.get("samples", [])
                     for o in s.get("outputs", [])), default=0.0)
        cards.append(_card("parity", _pill(parity.get("verdict", "?"),
                                           str(parity.get("verdict", "?")).upper()),
                           f"max abs error {worst:.3g}"))
    latency = report.extras.get("latency")
    if isinstance(latency, dict):
        for run in latency.get("runs", [])[:3]:
            stats = run.get("stats", {})
            cards.append(_card(f"p50 {_short_provider(run.get('provider', ''))}",
                               f"{stats.get('p50_ms', 0):.3f} ms",
                               f"p90 {stats.get('p90_ms', 0):.3f} ms"))
    io = ", ".join(f"{_e(i.name)}: {_e(i.dtype)} {_e(i.shape)}" for i in m.inputs[:4])
    return (f'<section id="summary"><h2>Summary</h2><div class="cards">{"".join(cards)}</div>'
            + (f'<p class="muted">inputs: <span class="mono">{io}</span></p>' if io else "")
            + "</section>")


def _graph_section(report: Report, view: dict[str, Any]) -> str:
    legend = "".join(
        f'<span data-status="{s}"><span class="sw" style="background:var(--{s})"></span>'
        f'{label} {n}</span>'
        for s, label, n in zip(view["statuses"], ("ok", "unsupported", "CPU fallback",
                                                  "rewritten"),
                               status_counts(view["status"]).values(), strict=True))
    edges = "" if view["edges"] else (
        '<p class="muted">This report has no edges (a source-level pre-flight): nodes are '
        "grouped by module.</p>")
    return (
        '<section id="graph-section"><h2 id="graph-title">Graph</h2>' + edges
        + '<div class="toolbar"><div class="search-box">'
        '<input type="search" id="graph-search" placeholder="Search node or op name" '
        'autocomplete="off"><div class="results" id="graph-results" hidden></div></div>'
        '<button id="graph-fit" type="button">Fit</button>'
        '<button id="graph-zoom-in" type="button" title="zoom in">+</button>'
        '<button id="graph-zoom-out" type="button" title="zoom out">&minus;</button>'
        '<button id="graph-expand" type="button">Expand all</button>'
        '<button id="graph-collapse" type="button">Collapse all</button>'
        f'<div class="legend" id="legend">{legend}</div></div>'
        '<div class="graph-wrap"><div id="graph" tabindex="0" aria-label="model graph">'
        '</div><aside class="details" id="details"><p class="muted">Graph view needs '
        "JavaScript.</p></aside></div></section>"
    )


def _findings(report: Report) -> str:
    if not report.findings:
        return '<section id="findings"><h2>Findings</h2><p>No findings.</p></section>'
    items = []
    for f in report.findings:
        nodes = ", ".join(f'<code>{_e(n)}</code>' for n in f.nodes[:8])
        if len(f.nodes) > 8:
            nodes += f" and {len(f.nodes) - 8} more"
        meta = [x for x in (
            f"op <code>{_e(f.op)}</code>" if f.op else "",
            f"provider {_e(_short_provider(f.provider))}" if f.provider else "",
            f"at <code>{_e(f.location)}</code>" if f.location else "",
            f"nodes {nodes}" if nodes else "",
            f"resolved: {_e(f.resolved_by or '')}" if not f.is_open else "") if x]
        fixes = "".join(f'<div class="fix">{_e(fix_text(x.to_dict()))}</div>' for x in f.fixes)
        items.append(
            f'<div class="finding {_e(f.severity)}" data-id="{_e(f.id)}" '
            f'data-status="{_e(f.status)}">'
            f"{_pill(f.severity)} <strong>{_e(f.id)}</strong>"
            f'<div class="msg">{_e(f.message)}</div>'
            + (f'<div class="meta">{" · ".join(meta)}</div>' if meta else "") + fixes + "</div>")
    return f'<section id="findings"><h2>Findings ({len(items)})</h2>{"".join(items)}</section>'


def _preflight(report: Report) -> str:
    """The source-level pre-flight that came before the export (the demo keeps it in
    extras["demo_preflight"], a whole report as JSON): its verdict and findings."""
    pre = report.extras.get("demo_preflight")
    if not isinstance(pre, dict) or not isinstance(pre.get("findings"), list):
        return ""
    items = []
    for f in pre["findings"]:
        fixes = "".join(f'<div class="fix">{_e(fix_text(x))}</div>' for x in f.get("fixes", []))
        meta = " · ".join(x for x in (
            f"op <code>{_e(f['op'])}</code>" if f.get("op") else "",
            f"at <code>{_e(f['location'])}</code>" if f.get("location") else "") if x)
        items.append(f'<div class="finding {_e(f.get("severity"))}">{_pill(f.get("severity"))} '
                     f'<strong>{_e(f.get("id"))}</strong><div class="msg">{_e(f.get("message"))}'
                     f'</div><div class="meta">{meta}</div>{fixes}</div>')
    target = pre.get("target") or {}
    path = (pre.get("model") or {}).get("path")
    return ('<section id="preflight"><h2>Pre-flight before export '
            f'{_pill(pre.get("verdict", "?"))}</h2><p class="muted">{_e(path)} at opset '
            f'{_e(target.get("opset"))} with the {_e(target.get("exporter"))} exporter: what the '
            f'export above answers.</p>{"".join(items)}</section>')


def _onnx_cell(onnx: dict[str, Any] | None) -> str:
    if not onnx:
        return '<span class="muted">-</span>'
    version = onnx.get("since_version")
    return _pill(onnx.get("status"), f"{onnx.get('status')}" + (f" ({version})" if version
                                                                  else ""))


def _ops(report: Report) -> str:
    providers = list(report.target.providers) or sorted(
        {p for o in report.ops for p in o.providers})
    converter = any(o.converter for o in report.ops)
    head = "<th>op</th><th>domain</th><th class=\"num\">count</th><th>onnx</th>"
    head += "<th>converter</th>" if converter else ""
    head += "".join(f"<th>{_e(_short_provider(p))}</th>" for p in providers)
    rows = []
    for o in report.ops:
        cells = [f"<td><code>{_e(o.op)}</code></td><td>{_e(o.domain or 'ai.onnx')}</td>",
                 f'<td class="num">{o.count}</td><td>{_onnx_cell(o.onnx)}</td>']
        problem = bool(o.onnx and o.onnx.get("status") != "ok")
        if converter:
            c = o.converter or {}
            status = str(c.get("status", "-"))
            label = f"needs opset {c.get('min_opset')}" if status == "needs_opset" else status
            problem |= status not in ("ok", "-")
            cells.append(f"<td>{_pill(status, label)}</td>")
        for p in providers:
            st = o.providers.get(p)
            if not st:
                cells.append('<td class="muted">-</td>')
                continue
            problem |= st.get("status") != "ok"
            reason = f' title="{_e(st.get("reason"))}"' if st.get("reason") else ""
            cells.append(f"<td{reason}>{_pill(st.get('status'))}</td>")
        rows.append(f'<tr data-problem="{int(problem)}">{"".join(cells)}</tr>')
    return (f'<section id="ops"><h2>Ops ({len(report.ops)} types)</h2>'
            '<label class="muted"><input type="checkbox" id="ops-problems"> only ops with '
            f'problems</label><table id="ops-table"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></section>')


def _onnx_rewrites(report: Report) -> RewritesBlock | None:
    """The ONNX rewrite pass's block (the PyTorch and TF blocks are not drawn here)."""
    block = report.rewrites
    return block if block is not None and block.family == "onnx" else None


def _rewrites(report: Report) -> str:
    block = _onnx_rewrites(report)
    if block is None:
        return ""
    rows = []
    for outcome in block.rules:
        e = outcome.details
        change = ""
        if e.get("removed") or e.get("added"):
            change = (f"-{_e('/'.join(e.get('removed') or []))} "
                      f"+{_e('/'.join(e.get('added') or []))}")
        error = e.get("max_abs_error")
        rows.append(
            f"<tr><td>{_pill(outcome.status)}</td><td><code>{_e(outcome.rule)}</code></td>"
            f"<td><code>{_e(', '.join(outcome.nodes))}</code></td>"
            f"<td>{'exact' if outcome.exact else 'approx'}</td><td class=\"mono\">{change}</td>"
            f'<td class="num">{"" if error is None else f"{error:.3g}"}</td>'
            f"<td>{_e(outcome.reason or '')}</td></tr>")
    if not rows:
        rows.append('<tr><td colspan="7" class="muted">no rule applies to this model</td></tr>')
    verified = (block.verification or {}).get("verified_with")
    summary = (f"verified with {_e(verified or 'n/a')} · "
               f"{len(block.rewritten_nodes)} nodes inserted"
               + (" · dry run" if block.dry_run else ""))
    return (f'<section id="rewrite"><h2>Rewrites</h2><p class="muted">{summary}</p>'
            "<table><thead><tr><th>status</th><th>rule</th><th>node</th><th>kind</th>"
            '<th>change</th><th class="num">max abs error</th><th>why</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></section>')


def _parity(report: Report) -> str:
    parity = report.extras.get("parity")
    if not isinstance(parity, dict):
        return ""
    rows = []
    for s in parity.get("samples", []):
        for o in s.get("outputs", []):
            cosine = o.get("cosine")
            rows.append(
                f"<tr><td>{_e(_short_provider(s.get('provider', '')))}</td>"
                f'<td class="num">{_e(s.get("index"))}</td><td><code>{_e(o.get("name"))}</code>'
                f'</td><td class="num">{o.get("max_abs", 0):.3g}</td>'
                f'<td class="num">{o.get("max_rel", 0):.3g}</td>'
                f'<td class="num">{o.get("mismatch_pct", 0):.2f}%</td>'
                f'<td class="num">{"n/a" if cosine is None else f"{cosine:.6f}"}</td>'
                f"<td>{_pill('ok' if o.get('passed') else 'fail')}</td></tr>")
    notes = "".join(f"<li>{_e(n)}</li>" for n in parity.get("notes", []))
    return (f'<section id="parity"><h2>Parity {_pill(parity.get("verdict", "?"))}</h2>'
            f'<p class="muted">reference: {_e(parity.get("reference"))} · inputs: '
            f'{_e(parity.get("inputs"))}</p><table><thead><tr><th>provider</th>'
            '<th class="num">sample</th><th>output</th><th class="num">max abs</th>'
            '<th class="num">max rel</th><th class="num">mismatch</th><th class="num">cosine'
            f'</th><th>result</th></tr></thead><tbody>{"".join(rows)}</tbody></table>'
            + (f"<ul class=\"muted\">{notes}</ul>" if notes else "") + "</section>")


def _latency(report: Report) -> str:
    latency = report.extras.get("latency")
    if not isinstance(latency, dict):
        return ""
    runs = latency.get("runs", [])
    rows = []
    for r in runs:
        s = r.get("stats", {})
        rows.append(
            f"<tr><td>{_e(_short_provider(r.get('provider', '')))}</td>"
            f'<td class="mono">{_e(r.get("model"))}</td>'
            + "".join(f'<td class="num">{s.get(k, 0):.3f}</td>'
                      for k in ("min_ms", "p50_ms", "p90_ms", "p99_ms", "mean_ms"))
            + f'<td class="num">{s.get("throughput_per_s", 0):.1f}</td>'
            f'<td class="num">{r.get("session_create_ms", 0):.1f}</td></tr>')
    return (f'<section id="latency"><h2>Latency</h2>{_latency_chart(runs)}'
            '<table><thead><tr><th>provider</th><th>model</th><th class="num">min ms</th>'
            '<th class="num">p50 ms</th><th class="num">p90 ms</th><th class="num">p99 ms</th>'
            '<th class="num">mean ms</th><th class="num">runs/s</th>'
            '<th class="num">session ms</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></section>')


def _latency_chart(runs: list[dict[str, Any]]) -> str:
    """Bars of p50 with a p90 tick per run, as inline SVG (no plotting library in the page)."""
    if not runs:
        return ""
    top = max(r.get("stats", {}).get("p90_ms", 0) for r in runs) or 1.0
    width, bar_h, left = 560, 22, 170
    parts = []
    for i, r in enumerate(runs):
        s = r.get("stats", {})
        y = 8 + i * (bar_h + 8)
        w50 = (width - left - 90) * s.get("p50_ms", 0) / top
        w90 = (width - left - 90) * s.get("p90_ms", 0) / top
        label = _short_provider(r.get("provider", ""))
        parts.append(
            f'<text x="0" y="{y + 15}">{_e(label)}</text>'
            f'<rect x="{left}" y="{y}" width="{w50:.1f}" height="{bar_h}" rx="3" '
            'fill="#54aeff"></rect>'
            f'<line x1="{left + w90:.1f}" x2="{left + w90:.1f}" y1="{y}" y2="{y + bar_h}" '
            'stroke="#0550ae" stroke-width="2"></line>'
            f'<text x="{left + w90 + 6:.1f}" y="{y + 15}">p50 {s.get("p50_ms", 0):.3f} ms · '
            f'p90 {s.get("p90_ms", 0):.3f} ms</text>')
    height = 16 + len(runs) * (bar_h + 8)
    return (f'<svg class="bar-chart" width="{width}" height="{height}" role="img" '
            f'aria-label="p50 latency per provider (bar), p90 (tick)">{"".join(parts)}</svg>')


def _footer(report: Report) -> str:
    env = " · ".join(f"{_e(k)} {_e(v)}" for k, v in report.environment.items() if v)
    return (f'<footer class="muted" style="margin-top:28px">{_e(report.tool.get("name"))} '
            f'{_e(report.tool.get("version"))} · {env} · graph layout by dagre 3.1.3 (MIT), '
            "inlined: this file makes no network requests.</footer>")


def assets() -> tuple[str, ...]:
    """Names of the inlined asset files (tests check they ship with the package)."""
    return _ASSETS
