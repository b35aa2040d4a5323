"""The data the HTML report's graph view draws: the Report's graph payload joined with each
node's status, in compact columns (one list per field, details interned), so that a page for
100k nodes stays a few MB and the browser does no joining of its own."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only: analyzer.report.model imports this renderer
    from analyzer.report.model import NodeDetail, OpEntry, Report

# Status codes, in the order the page's legend and colours use.
STATUSES = ("ok", "unsupported", "fallback", "rewritten")
OK, UNSUPPORTED, FALLBACK, REWRITTEN = range(4)

_BAD_ONNX = {"unknown_op", "needs_opset"}
_BAD_CONVERTER = {"unsupported", "needs_opset"}


def rewritten_nodes(report: Report) -> set[str]:
    """Names of the nodes that rewrite rules inserted (Report.rewrites.rewritten_nodes)."""
    block = report.rewrites
    return {str(n) for n in block.rewritten_nodes} if block is not None else set()


def node_status(entry: OpEntry, detail: NodeDetail | None, preferred: str | None,
                blocked: set[str], rewritten: set[str], name: str) -> int:
    """unsupported: no kernel on any provider, an op the schemas or the converter reject, or a
    node named by an error finding; fallback: runs on another provider than the first one asked
    for; rewritten: inserted by a rewrite rule; else ok."""
    if name in rewritten:
        return REWRITTEN
    if name in blocked:
        return UNSUPPORTED
    if entry.onnx and entry.onnx.get("status") in _BAD_ONNX:
        return UNSUPPORTED
    if entry.converter and entry.converter.get("status") in _BAD_CONVERTER:
        return UNSUPPORTED
    if detail is None:
        return OK
    if detail.how == "none" or (detail.providers and all(
            s.get("status") == "none" for s in detail.providers.values())):
        return UNSUPPORTED
    if preferred and detail.providers:
        first = detail.providers.get(preferred, {}).get("status")
        if first in ("fallback", "none") or (detail.assigned and detail.assigned != preferred):
            return FALLBACK
    return OK


def view_data(report: Report) -> dict[str, Any]:
    """Columns for report.js: names, op, group, status, detail and location index per node;
    groups; edges as a flat [src, dst, ...] list; findings by node name."""
    graph = report.graph_payload()
    providers = list(report.target.providers)
    preferred = providers[0] if providers else None
    blocked = {n for f in report.open_findings if f.severity == "error" for n in f.nodes}
    rewritten = rewritten_nodes(report)
    ops = [[o.op, o.domain] for o in report.ops]
    details: list[Any] = []
    detail_index: dict[Any, int] = {}
    locations: list[str] = []
    location_index: dict[str, int] = {}
    located = {int(i): str(text) for i, text in graph.get("locations", [])}
    modules = {int(i): str(text) for i, text in graph.get("modules", [])}
    names, op_of, group_of, status_of, detail_of, location_of, module_of = ([] for _ in range(7))
    for index, (op_i, node_i, group) in enumerate(graph["nodes"]):
        entry = report.ops[op_i] if 0 <= op_i < len(report.ops) else None
        detail = entry.nodes[node_i] if entry is not None and node_i < len(entry.nodes) else None
        name = detail.name if detail is not None else f"node {index}"
        names.append(name)
        op_of.append(op_i)
        group_of.append(group)
        status_of.append(node_status(entry, detail, preferred, blocked, rewritten, name)
                         if entry is not None else OK)
        detail_of.append(_intern(detail, details, detail_index))
        location = located.get(index) or (detail.location if detail else None)
        location_of.append(_intern_text(location, locations, location_index))
        module_of.append(modules.get(index, ""))
    return {
        "providers": providers,
        "statuses": list(STATUSES),
        "ops": ops,
        "names": names, "op": op_of, "group": group_of, "status": status_of,
        "detail": detail_of, "location": location_of, "module": module_of,
        "details": details, "locations": locations,
        "groups": [[g["name"], g["parent"], g["kind"]] for g in graph.get("groups", [])],
        "edges": [v for edge in graph.get("edges", []) for v in edge],
        "omitted": graph.get("omitted_nodes", 0),
        "findings": [_finding(f) for f in report.findings],
    }


def _intern(detail: NodeDetail | None, details: list[Any], index: dict[Any, int]) -> int:
    if detail is None:
        return -1
    providers = [[p, s.get("status", ""), s.get("reason", "")]
                 for p, s in detail.providers.items()]
    row = [detail.since_version, [t if t is not None else "?" for t in detail.input_types],
           detail.assigned, detail.how, providers, detail.graph]
    key = repr(row)
    found = index.get(key)
    if found is None:
        found = index[key] = len(details)
        details.append(row)
    return found


def _intern_text(text: str | None, items: list[str], index: dict[str, int]) -> int:
    if not text:
        return -1
    found = index.get(text)
    if found is None:
        found = index[text] = len(items)
        items.append(text)
    return found


def fix_text(fix: dict[str, Any]) -> str:
    """One line per fix, the same words as the text and Markdown reports."""
    kind = fix.get("kind")
    if kind == "opset":
        return f"use opset >= {fix.get('min')}"
    if kind == "rewrite":
        run = f": {fix['command']}" if fix.get("command") else ""
        return f"apply rewrite {fix.get('rule')}{run}"
    return str(fix.get("hint", ""))


def _finding(f: Any) -> dict[str, Any]:
    d = f.to_dict()
    return {"id": d["id"], "severity": d["severity"], "op": d.get("op"),
            "message": d["message"], "location": d.get("location"),
            "nodes": list(d.get("nodes") or ()), "fixes": [fix_text(x) for x in d["fixes"]]}


def status_counts(status_codes: Iterable[int]) -> dict[str, int]:
    counts = dict.fromkeys(STATUSES, 0)
    for code in status_codes:
        counts[STATUSES[code]] += 1
    return counts
