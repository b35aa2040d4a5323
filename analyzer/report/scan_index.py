"""index.html of a scan: the whole matrix on one self-contained page that works offline.

The page has the same rules as the single-model report (analyzer/report/html.py): every asset
inlined (its base style sheet, plus scan.css and scan.js), a Content-Security-Policy that
forbids every fetch, every string from the data escaped. The static part (counts per verdict,
the blocking-ops tables, the tables' provenance) is HTML rendered here, readable without
JavaScript. The heat map is built by assets/scan.js from a JSON island (`view_data`): a zoo of
1,000 sources x 6 columns is 6,000 cells, cheaper as compact JSON (findings deduplicated, cells
as short records) than as markup, and built in one pass into a DocumentFragment.

Links to the cells' reports are made relative here, whatever the data says: the path is
percent-encoded (so `javascript:` or `http://` is only a file name) and never starts with `/`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from analyzer.report.html import _asset, _e, script_json
from analyzer.report.scan_summary import EXPORT, RUNTIME, VERDICTS, blocking_summary, verdict_counts

#: Column label of an ONNX file's single cell (analyzed at the opset it has).
AS_IS = "as is"
#: Rows shown per blocking-ops table before "show all" (a <details>).
TOP_ROWS = 15
_PLACEMENT_KEYS = ("nodes", "own_kernel", "fallback", "no_kernel")


def report_href(path: object) -> str | None:
    """A relative link to a cell's report: percent-encoded, never a scheme, never absolute."""
    if not path:
        return None
    href = quote(str(path).replace("\\", "/"), safe="/-._~")
    return "." + href if href.startswith("/") else href


def _column_key(cell: dict[str, Any]) -> tuple[Any, Any]:
    return cell.get("opset"), cell.get("exporter")


def columns(matrix: dict[str, Any]) -> list[tuple[Any, Any]]:
    """The heat map's columns: "as is" (ONNX files) first, then (opset, exporter) in the axes'
    order; pairs that only some sources asked for (a manifest's own opsets) fall in place."""
    axes = matrix.get("axes") or {}
    exporters = list(axes.get("exporters") or [])
    keys = {_column_key(c) for c in matrix.get("cells") or []}

    def order(key: tuple[Any, Any]) -> tuple[int, int, int, str]:
        opset, exporter = key
        if opset is None:
            return (0, 0, 0, str(exporter or ""))
        rank = exporters.index(exporter) if exporter in exporters else len(exporters)
        return (1, int(opset), rank, str(exporter or ""))

    return sorted(keys, key=order)


def _label(key: tuple[Any, Any]) -> str:
    opset, exporter = key
    if opset is None:
        return AS_IS if exporter is None else f"as is · {exporter}"
    return f"opset {opset}" + (f" · {exporter}" if exporter else "")


def view_data(matrix: dict[str, Any]) -> dict[str, Any]:
    """What scan.js draws: sources, columns, one row of cell indices per source, the cells as
    short records (providers by index, empty optional fields left out) and their blocking
    findings deduplicated (a message repeated at every opset is stored once)."""
    cols = columns(matrix)
    col_index = {key: i for i, key in enumerate(cols)}
    sources: list[dict[str, Any]] = []
    row_of: dict[str, int] = {}
    for s in matrix.get("sources") or []:
        row_of[str(s.get("id"))] = len(sources)
        sources.append({"id": str(s.get("id")), "kind": str(s.get("kind") or ""),
                        "location": str(s.get("location") or ""),
                        "tags": [str(t) for t in s.get("tags") or []]})
    rows: list[list[int]] = [[-1] * len(cols) for _ in sources]
    findings: list[list[Any]] = []
    finding_index: dict[tuple[Any, ...], int] = {}
    cells: list[dict[str, Any]] = []
    providers: list[str] = []
    provider_index: dict[str, int] = {}

    def provider_id(name: object) -> int:
        key = str(name)
        if key not in provider_index:
            provider_index[key] = len(providers)
            providers.append(key)
        return provider_index[key]

    for cell in matrix.get("cells") or []:
        source = str(cell.get("source"))
        if source not in row_of:  # a cell whose source is not listed still gets its row
            row_of[source] = len(sources)
            sources.append({"id": source, "kind": "", "location": "", "tags": []})
            rows.append([-1] * len(cols))
        row, col = rows[row_of[source]], col_index[_column_key(cell)]
        if row[col] >= 0:
            continue  # one cell per (source, column): the first one stands
        blocking = []
        for f in cell.get("blocking") or []:
            fields = tuple(None if f.get(k) is None else str(f.get(k))
                           for k in ("id", "severity", "op", "domain", "provider", "message"))
            if fields not in finding_index:
                finding_index[fields] = len(findings)
                findings.append(list(fields))
            blocking.append(finding_index[fields])
        placement = [[provider_id(p), *(int((v or {}).get(k) or 0) for k in _PLACEMENT_KEYS)]
                     for p, v in (cell.get("placement") or {}).items()]
        record: dict[str, Any] = {
            "k": str(cell.get("key") or ""), "v": str(cell.get("verdict")),
            "h": report_href(cell.get("report_html")), "b": blocking,
            "mo": cell.get("model_opset"), "d": cell.get("duration_s"), "p": placement,
            "pr": [provider_id(p) for p in cell.get("providers") or []],
            "lw": cell.get("lowest_working_opset"), "c": bool(cell.get("cached")),
            "e": None if cell.get("error") is None else str(cell.get("error")),
        }
        for optional in ("lw", "c", "e"):  # most cells have none: left out, not null
            if not record[optional] and record[optional] != 0:
                del record[optional]
        row[col] = len(cells)
        cells.append(record)
    return {"verdicts": list(VERDICTS),
            "columns": [{"label": _label(k), "opset": k[0], "exporter": k[1]} for k in cols],
            "sources": sources, "rows": rows, "cells": cells, "findings": findings,
            "providers": providers, "placement_keys": list(_PLACEMENT_KEYS)}


def render_index(matrix: dict[str, Any]) -> str:
    """The page as one string (write it with analyzer.safe_write)."""
    cells = list(matrix.get("cells") or [])
    summary = matrix.get("summary") or {}
    blocking = summary.get("blocking_ops")
    if blocking is None:
        blocking = blocking_summary(cells)
    counts = summary.get("counts") or verdict_counts(cells)
    view = view_data(matrix)
    return "".join([
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
        # No network: the policy forbids every fetch; inline script and style only.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:\">",
        "<title>onnx-preflight scan</title>",
        f"<style>{_asset('report.css')}{_asset('scan.css')}</style></head><body>",
        '<header class="top"><h1>onnx-preflight scan</h1>',
        f'<span class="muted">{len(view["sources"]):,} sources · {len(cells):,} cells · '
        f'created {_e(matrix.get("created"))}</span></header>',
        '<nav class="sections"><a href="#summary">Summary</a><a href="#matrix">Matrix</a>'
        '<a href="#blocking">Blocking ops</a><a href="#provenance">Tables</a></nav><main>',
        _summary(counts, view),
        _matrix_section(view),
        _blocking_section(blocking),
        _provenance(matrix),
        "</main>",
        f'<script type="application/json" id="scan-data">{script_json(view)}</script>',
        f"<script>{_asset('scan.js')}</script>",
        "</body></html>\n",
    ])


def _card(key: str, value: str, sub: str = "", attrs: str = "") -> str:
    return (f'<div class="card"{attrs}><div class="k">{_e(key)}</div><div class="v">{value}</div>'
            + (f'<div class="s">{sub}</div>' if sub else "") + "</div>")


def _summary(counts: dict[str, Any], view: dict[str, Any]) -> str:
    extra = [v for v in counts if v not in VERDICTS]
    cards = [_card(v, f"{int(counts.get(v) or 0):,}", f'<span class="pill v-{_e(v)}">cells</span>',
                   f' data-verdict="{_e(v)}"') for v in (*VERDICTS, *extra)]
    axes = ", ".join(c["label"] for c in view["columns"])
    return (f'<section id="summary"><h2>Cells per verdict</h2><div class="cards">{"".join(cards)}'
            f'</div><p class="muted">columns: {_e(axes or "none")}</p></section>')


def _matrix_section(view: dict[str, Any]) -> str:
    verdicts = "".join(
        f'<label class="vf"><input type="checkbox" data-verdict="{_e(v)}" checked>'
        f'<span class="sw v-{_e(v)}"></span>{_e(v)}</label>' for v in view["verdicts"])
    kinds = sorted({s["kind"] for s in view["sources"] if s["kind"]})
    tags = sorted({t for s in view["sources"] for t in s["tags"]})
    kind_options = "".join(f'<option value="{_e(k)}">{_e(k)}</option>' for k in kinds)
    tag_options = "".join(f'<option value="{_e(t)}">{_e(t)}</option>' for t in tags)
    return (
        '<section id="matrix"><h2>Matrix</h2><p class="muted">One row per source, one column '
        "per opset and exporter (an ONNX file has one cell, as is, at its own opset). Colour: the "
        "verdict. Hover or focus a cell for its blocking findings; click it for its report. A "
        "row is shown when one of its cells has a ticked verdict.</p>"
        '<div class="toolbar" id="filters">'
        '<input type="search" id="scan-search" placeholder="Search source" autocomplete="off">'
        f'<select id="scan-kind"><option value="">every kind</option>{kind_options}</select>'
        f'<select id="scan-tag"><option value="">every tag</option>{tag_options}</select>'
        f'<span class="legend" id="legend">{verdicts}</span>'
        '<span class="muted" id="scan-shown"></span></div>'
        '<div class="scan-wrap"><div class="heat-wrap"><table id="heat"><thead></thead><tbody>'
        "</tbody></table></div>"
        '<aside class="details" id="cell-details"><p class="muted">The matrix needs '
        "JavaScript; the blocking ops below do not.</p></aside></div></section>")


def _sources_text(sources: list[str], limit: int = 6) -> str:
    shown = ", ".join(f"<code>{_e(s)}</code>" for s in sources[:limit])
    return shown + (f" and {len(sources) - limit} more" if len(sources) > limit else "")


def _table(entries: list[dict[str, Any]], head: str, row: Any) -> str:
    rows = [row(e) for e in entries]
    top = "".join(rows[:TOP_ROWS])
    rest = "".join(rows[TOP_ROWS:])
    more = (f'<details><summary>{len(rows) - TOP_ROWS} more</summary><table class="ops">'
            f"<thead><tr>{head}</tr></thead><tbody>{rest}</tbody></table></details>"
            if rest else "")
    return f'<table class="ops"><thead><tr>{head}</tr></thead><tbody>{top}</tbody></table>{more}'


def _kind(entry: dict[str, Any]) -> str:
    """export or runtime: the summary says so; an entry without `kind` is runtime when it
    names a provider."""
    return str(entry.get("kind") or (RUNTIME if entry.get("provider") else EXPORT))


def _blocking_section(entries: list[dict[str, Any]]) -> str:
    export = [e for e in entries if _kind(e) == EXPORT]
    runtime = [e for e in entries if _kind(e) == RUNTIME]
    parts = ['<section id="blocking"><h2>Blocking ops</h2><p class="muted">The ops that block '
             "the most models: export blockers (the exporter, the converter, the ONNX schemas) "
             "per opset and exporter, runtime blockers (no kernel, a failing session) per "
             "provider. Models: distinct sources.</p>"]
    if not entries:
        parts.append("<p>No op blocks any model.</p>")

    def export_row(e: dict[str, Any]) -> str:
        exporter = e.get("exporter") or AS_IS
        return (f"<tr><td><code>{_e(e.get('op'))}</code></td><td>{_e(e.get('domain'))}</td>"
                f"<td>{_e(exporter)}</td><td class=\"num\">{int(e.get('models') or 0)}</td>"
                f"<td>{_e(', '.join(e.get('finding_ids') or []))}</td>"
                f"<td>{_sources_text(list(e.get('sources') or []))}</td></tr>")

    def runtime_row(e: dict[str, Any]) -> str:
        opsets = ", ".join(str(o) for o in e.get("opsets") or [])
        return (f"<tr><td><code>{_e(e.get('op'))}</code></td><td>{_e(e.get('domain'))}</td>"
                f"<td class=\"num\">{int(e.get('models') or 0)}</td><td>{_e(opsets)}</td>"
                f"<td>{_e(', '.join(e.get('finding_ids') or []))}</td>"
                f"<td>{_sources_text(list(e.get('sources') or []))}</td></tr>")

    by_opset: dict[Any, list[dict[str, Any]]] = {}
    for e in export:
        by_opset.setdefault(e.get("opset"), []).append(e)
    head = ("<th>op</th><th>domain</th><th>exporter</th><th class=\"num\">models</th>"
            "<th>findings</th><th>sources</th>")
    for opset in sorted(by_opset, key=lambda o: (o is None, o if o is not None else 0)):
        title = f"opset {opset}" if opset is not None else "opset unknown"
        parts.append(f'<h3 data-opset="{_e(opset)}">Export blockers at {_e(title)}</h3>'
                     + _table(by_opset[opset], head, export_row))
    by_provider: dict[str, list[dict[str, Any]]] = {}
    for e in runtime:
        by_provider.setdefault(str(e.get("provider")), []).append(e)
    head = ("<th>op</th><th>domain</th><th class=\"num\">models</th><th>at opsets</th>"
            "<th>findings</th><th>sources</th>")
    for provider in sorted(by_provider):
        parts.append(f'<h3 data-provider="{_e(provider)}">Runtime blockers on {_e(provider)}</h3>'
                     + _table(by_provider[provider], head, runtime_row))
    parts.append("</section>")
    return "".join(parts)


def _provenance(matrix: dict[str, Any]) -> str:
    tables = matrix.get("tables") or {}
    rows = "".join(f"<tr><td><code>{_e(name)}</code></td><td class=\"mono\">{_e(_flat(v))}</td>"
                   "</tr>" for name, v in sorted(tables.items()))
    return (f'<section id="provenance"><h2>Tool and tables</h2><p>{_e("onnx-preflight")} '
            f'{_e(matrix.get("tool_version"))} · schema {_e(matrix.get("schema"))} · created '
            f'{_e(matrix.get("created"))}</p>'
            + (f"<table><thead><tr><th>table</th><th>version</th></tr></thead><tbody>{rows}"
               "</tbody></table>" if rows else "")
            + '<footer class="muted" style="margin-top:28px">This file makes no network '
            "requests: its style and script are inline.</footer></section>")


def _flat(value: object) -> str:
    """A table's version or provenance on one line (a dict as `k=v` pairs)."""
    if isinstance(value, dict):
        return " · ".join(f"{k}={_flat(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_flat(v) for v in value)
    return str(value)
