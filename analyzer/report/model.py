"""The Report: everything one analysis says, and its JSON form (the versioned contract)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from analyzer.findings import SEVERITY_RANK, Finding
from analyzer.report.graph import GraphSource, build_graph, graph_from_ops
from analyzer.report.html import render_html
from analyzer.report.markdown import render_markdown

SCHEMA = "onnx-preflight/report/2"

#: How much per-node detail (`ops[].nodes[]`) the JSON carries: "notable" (the default) keeps a
#: node only where it says something the op row does not (a finding names it, or its placement
#: is not the default one: see `Report.notable_node`); "all" keeps every node (docs/design.md
#: "Per-node detail"). The in-memory report always holds every node.
NodeDetailMode = Literal["notable", "all"]
NODE_DETAIL_MODES: tuple[str, ...] = ("notable", "all")


@dataclass
class TensorInfo:
    name: str
    dtype: str | None
    shape: list[int | str | None] | None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "shape": self.shape}


@dataclass
class ModelInfo:
    path: str | None
    format: str
    ir_version: int | None
    opset_imports: dict[str, int]
    nodes: int
    parameters: int
    inputs: list[TensorInfo] = field(default_factory=list)
    outputs: list[TensorInfo] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "format": self.format,
            "ir_version": self.ir_version,
            "opset_imports": dict(self.opset_imports),
            "nodes": self.nodes,
            "parameters": self.parameters,
            "inputs": [t.to_dict() for t in self.inputs],
            "outputs": [t.to_dict() for t in self.outputs],
        }


@dataclass
class Target:
    opset: int | None
    exporter: str | None
    providers: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"opset": self.opset, "exporter": self.exporter, "providers": list(self.providers)}


@dataclass
class NodeDetail:
    """Per-node status, for the op table's drill-down (text, markdown, HTML)."""

    name: str
    since_version: int | None
    input_types: list[str | None]
    graph: str
    providers: dict[str, dict[str, str]]
    assigned: str | None
    how: str
    location: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {
            "name": self.name,
            "since_version": self.since_version,
            "input_types": self.input_types,
            "graph": self.graph,
            "assigned": self.assigned,
            "how": self.how,
            "providers": self.providers,
        }
        if self.location:
            out["location"] = self.location
        return out


@dataclass
class OpEntry:
    """One (domain, op) row of the report: the worst status over its nodes, per target."""

    op: str
    domain: str
    count: int
    onnx: dict[str, Any] | None  # None for source-framework ops (PyTorch pre-flight)
    providers: dict[str, dict[str, str]]
    source_ops: list[str] = field(default_factory=list)
    converter: dict[str, Any] | None = None
    nodes: list[NodeDetail] = field(default_factory=list)

    def to_dict(self, keep: Callable[[OpEntry, NodeDetail], bool] | None = None
                ) -> dict[str, Any]:
        """The op row; `keep` (None: all) picks the nodes whose detail it carries."""
        nodes = self.nodes if keep is None else [n for n in self.nodes if keep(self, n)]
        return {
            "op": self.op,
            "domain": self.domain,
            "count": self.count,
            "source_ops": list(self.source_ops),
            "converter": self.converter,
            "onnx": self.onnx,
            "providers": self.providers,
            "nodes": [n.to_dict() for n in nodes],
        }


@dataclass
class RuleOutcome:
    """One rule's answer in a rewrites block: applied / proposed / skipped / rolled_back, the
    nodes or items it is about (ONNX node, PyTorch module paths and call sites, TF nodes), why
    not, and its family's own facts (`details`: removed/added ops and measured errors for an
    ONNX rule; modules/calls/change for a source rule; ops/node_count for a TF rule)."""

    rule: str
    exact: bool
    status: str
    nodes: list[str] = field(default_factory=list)
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rule": self.rule, "exact": self.exact, "status": self.status,
                               "nodes": list(self.nodes)}
        if self.reason:
            out["reason"] = self.reason
        out.update(self.details)
        return out


@dataclass
class RewritesBlock:
    """What the rules of one family did for this report (JSON key `rewrites`, schema 2; see
    docs/design.md "Report schema 2"): the ids applied, in order, every rule's outcome, and
    where relevant the verification (ONNX pass), the lowering (PyTorch dynamo export), the plan
    (TF: the opset it was made for) and the nodes the rules inserted (ONNX)."""

    family: str
    applied: list[str] = field(default_factory=list)
    rules: list[RuleOutcome] = field(default_factory=list)
    dry_run: bool = False
    output: str | None = None
    verification: dict[str, Any] | None = None
    rewritten_nodes: list[str] = field(default_factory=list)
    lowering: dict[str, Any] | None = None
    plan: dict[str, Any] | None = None
    placement: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"family": self.family, "applied": list(self.applied),
                               "rules": [r.to_dict() for r in self.rules],
                               "dry_run": self.dry_run}
        for key in ("output", "verification", "lowering", "plan", "placement"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.family == "onnx":
            out["rewritten_nodes"] = list(self.rewritten_nodes)
        return out


@dataclass
class Report:
    tool: dict[str, str]
    environment: dict[str, str | None]
    model: ModelInfo
    target: Target
    ops: list[OpEntry]
    findings: list[Finding]
    placement: dict[str, dict[str, Any]] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)
    rewrites: RewritesBlock | None = None
    #: What the HTML graph is drawn from when `extras` holds no "graph" payload: built on the
    #: first `graph_payload()` (to_html), never part of the JSON (docs/design.md).
    graph_source: GraphSource | None = field(default=None, repr=False, compare=False)
    _graph_built: dict[str, Any] | None = field(default=None, init=False, repr=False,
                                                compare=False)

    def graph_payload(self) -> dict[str, Any]:
        """The node graph the HTML report draws (analyzer.report.graph): `extras["graph"]` when
        the analysis was asked for it (graph=True), else built now from `graph_source` (and
        kept), else the ops grouped by module (reports without an ONNX graph)."""
        graph = self.extras.get("graph")
        if isinstance(graph, dict) and "nodes" in graph:
            return graph
        if self._graph_built is None:
            self._graph_built = (build_graph(self.graph_source, self.ops)
                                 if self.graph_source is not None else graph_from_ops(self.ops))
        return self._graph_built

    @property
    def open_findings(self) -> list[Finding]:
        """The findings that still stand: those no real run (export, conversion) resolved."""
        return [f for f in self.findings if f.is_open]

    @property
    def verdict(self) -> str:
        """fail / warn / pass from the worst open finding (resolved ones never count)."""
        worst = max((SEVERITY_RANK[f.severity] for f in self.open_findings), default=0)
        return {2: "fail", 1: "warn"}.get(worst, "pass")

    def fails(self, fail_on: str = "error") -> bool:
        """True when any open finding is at least as severe as `fail_on` (error | warning)."""
        bar = SEVERITY_RANK[fail_on]
        return any(SEVERITY_RANK[f.severity] >= bar for f in self.open_findings)

    def notable_node(self) -> Callable[[OpEntry, NodeDetail], bool]:
        """The test for a node whose detail the default JSON keeps: a finding names it (or
        names its op without naming nodes), or its placement is not the default one: a
        predicted provider other than the first requested, a way of running other than its own
        kernel there (Casts inserted, function body expanded, no kernel at all), or a status
        other than ok on that provider. Source-framework nodes (PyTorch / TF pre-flight) are
        always notable. Nodes of an analysis without providers ("unchecked") are plain."""
        named = {n for f in self.findings for n in f.nodes}
        whole_ops = {(f.domain, f.op) for f in self.findings if f.op and not f.nodes}
        first = self.target.providers[0] if self.target.providers else None

        def keep(entry: OpEntry, node: NodeDetail) -> bool:
            if node.name in named or (entry.domain, entry.op) in whole_ops:
                return True
            if node.how == "unchecked":
                return False
            if node.how != "kernel" or node.assigned is None or node.assigned != first:
                return True
            return node.providers.get(first, {}).get("status") != "ok"

        return keep

    def to_dict(self, nodes: NodeDetailMode = "notable") -> dict[str, Any]:
        """The JSON contract (schema 2). `nodes="all"` keeps every node's detail in
        `ops[].nodes`; the default keeps only the notable ones (`notable_node`), which on a
        large model is the difference between seconds and milliseconds, megabytes and
        kilobytes. A report that carries its `graph` (analyze(graph=True)) keeps every node,
        since the graph's refs index into them. `node_detail` says which the JSON holds."""
        if nodes not in NODE_DETAIL_MODES:
            raise ValueError(f"nodes must be one of {', '.join(NODE_DETAIL_MODES)}, got {nodes!r}")
        graph = self.extras.get("graph")
        if isinstance(graph, dict) and "nodes" in graph:
            nodes = "all"  # the graph's `ref`s index into every op's full `nodes` list
        keep = None if nodes == "all" else self.notable_node()
        out: dict[str, Any] = {
            "schema": SCHEMA,
            "tool": dict(self.tool),
            "environment": dict(self.environment),
            "model": self.model.to_dict(),
            "target": self.target.to_dict(),
            "ops": [o.to_dict(keep) for o in self.ops],
            "node_detail": nodes,
            "findings": [f.to_dict() for f in self.findings],
            "placement": self.placement,
            "verdict": self.verdict,
        }
        if self.rewrites is not None:
            out["rewrites"] = self.rewrites.to_dict()
        out.update(self.extras)
        return out

    def to_json(self, indent: int | None = 2, nodes: NodeDetailMode = "notable") -> str:
        """`to_dict(nodes)` as JSON text."""
        return json.dumps(self.to_dict(nodes), indent=indent)

    def to_markdown(self) -> str:
        return render_markdown(self)
    def to_html(self) -> str:
        """One self-contained HTML page (works offline): analyzer.report.html."""
        return render_html(self)
