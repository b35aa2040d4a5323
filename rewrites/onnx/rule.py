"""The ONNX rule family's protocol (rewrites.contract.Rule for ONNX graphs) and the model view
its rules work on.

Rules work on plain onnx protos, not onnx-ir: the analyzer's function expansion
(analyzer/checks/function_expansion.py), onnx.inliner, onnx.checker and onnxruntime all take and
return protos, so a rule that edits protos in place needs no conversion on either side, and the
analyzer's NodeRecord (resolved version, element types) is what a rule's `check` reads. A rule
that needs pattern matching over many nodes may still use onnx-ir internally.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import onnx
import onnx.helper
import onnx.shape_inference

from analyzer.inventory import NodeRecord
from analyzer.sources.onnx_inventory import build_inventory
from analyzer.sources.onnx_walk import subgraphs, walk_graphs
from analyzer.sources.weightless import for_inference
from rewrites.contract import Family, Match, Reason, Rule, Site

__all__ = ["Match", "OnnxRule", "OnnxRuleBase", "Reason", "RewriteModel", "Target"]


@dataclass(frozen=True)
class Target:
    """An op a rule answers, and where it is a problem: `opsets` is the inclusive range of
    ai.onnx opsets (None: any), `providers` the execution providers lacking it (empty: any)."""

    op: str
    domain: str = ""
    opsets: tuple[int, int] | None = None
    providers: tuple[str, ...] = ()


@runtime_checkable
class OnnxRule(Rule, Protocol):
    """An ONNX graph rule: `check(model, node)` per NodeRecord of the targeted ops, `apply`
    edits the RewriteModel in place (queued replacements)."""

    @property
    def targets(self) -> tuple[Target, ...]: ...

    def check(self, subject: RewriteModel, item: NodeRecord) -> Match[Any] | Reason: ...

    def apply(self, subject: RewriteModel, match: Match[Any]) -> None: ...


class OnnxRuleBase:
    """Defaults of the declared rule members for ONNX rules: a rule proposes itself for a
    finding on an op it targets (rules with a sharper static test override `fits`)."""

    family: Family = "onnx"
    kind = "node"
    answers: tuple[str, ...] = ()
    targets: tuple[Target, ...] = ()

    @property
    def ops(self) -> tuple[str, ...]:
        return tuple(t.op for t in self.targets)

    def proposes(self, site: Site) -> bool:
        if site.record is None:
            return False
        record = site.record
        if (record.domain, record.op) not in {(t.domain, t.op) for t in self.targets}:
            return False
        return self.fits(record, dict(site.opsets), site.target_opset)

    def fits(self, node: NodeRecord, opsets: dict[str, int],
             target_opset: int | None = None) -> bool:
        """The rule's own static test beyond the op (none by default)."""
        return True


class RewriteModel:
    """The copy of the model a pass owns: the proto, typed NodeRecords of its main graph (built
    lazily by the analyzer's inventory, dropped after each edit), and fresh-name allocation so
    inserted values never collide with existing ones, subgraphs included."""

    def __init__(self, proto: onnx.ModelProto, *, target_opset: int | None = None,
                 providers: tuple[str, ...] = ()) -> None:
        self.proto = proto
        # What the pass is aiming at: rules that depend on it (onnx:cuda-fallback,
        # onnx:version-convert) read it here instead of taking extra arguments.
        self.target_opset = target_opset
        self.providers = providers
        self._records: list[NodeRecord] | None = None
        self._locations: list[tuple[onnx.GraphProto, int]] = []
        self._values: dict[str, tuple[int, tuple[int | None, ...] | None]] = {}
        self._producers: dict[str, int] | None = None
        self._uses: dict[str, int] | None = None
        self._names: set[str] | None = None
        self._index: dict[int, int] = {}
        self._pending: dict[int, list[onnx.NodeProto]] = {}
        # node name -> id of the rule that inserted it: a rule does not rewrite its own output
        # (onnx:expand-function would otherwise expand the CastLike in every body it inserted).
        self.inserted_by: dict[str, str] = {}

    @property
    def opset_imports(self) -> dict[str, int]:
        out = {(i.domain if i.domain != "ai.onnx" else ""): i.version
               for i in self.proto.opset_import}
        return out

    def records(self) -> list[NodeRecord]:
        """NodeRecords of the main graph and of every If/Loop/Scan body (the analyzer's
        breadth-first order), with inferred element types."""
        if self._records is None:
            try:
                # without the large float weights' bytes (inference copies the model four times)
                inferred = onnx.shape_inference.infer_shapes(for_inference(self.proto))
            except Exception:  # noqa: BLE001 - untyped records still let rules give reasons
                inferred = self.proto
            self._records = build_inventory(inferred).nodes
            self._locations = list(_node_locations(self.proto.graph))
            if len(self._locations) != len(self._records):  # inference never adds nodes
                raise RuntimeError("shape inference changed the node count")
            self._index = {id(r): i for i, r in enumerate(self._records)}
            self._values = dict(_value_infos(inferred.graph))
        return self._records

    def index_of(self, record: NodeRecord) -> int:
        """Position of a record from `records()` (main graph and subgraphs, one numbering)."""
        self.records()
        return self._index[id(record)]

    def node(self, index: int) -> onnx.NodeProto:
        """The NodeProto (in this model, not in the inferred copy) behind record `index`."""
        self.records()
        graph, position = self._locations[index]
        return graph.node[position]

    def rank(self, value: str) -> int | None:
        """The inferred rank of a value (any graph), or None when inference does not know it."""
        shape = self.shape(value)
        return len(shape) if shape is not None else None

    def shape(self, value: str) -> tuple[int | None, ...] | None:
        """The inferred shape (None for a symbolic dim), or None when the rank is unknown."""
        self.records()
        found = self._values.get(value)
        return found[1] if found else None

    def elem_type(self, value: str) -> int | None:
        """The inferred TensorProto element type of a value, or None."""
        self.records()
        found = self._values.get(value)
        return found[0] if found and found[0] else None

    def value_types(self) -> dict[str, tuple[int, tuple[int | None, ...] | None]]:
        """Every typed value's (element type, shape), subgraphs included, as inferred now: a
        snapshot for a caller about to move nodes under a private domain (inference cannot
        type their outputs after; rewrites.onnx.adapters.subgraph_ops reads it)."""
        self.records()
        return dict(self._values)

    def producer(self, value: str) -> int | None:
        """Index (in `records()`) of the node that outputs `value`, None for graph inputs,
        initializers and unknown names."""
        if self._producers is None:
            self._producers = {o: i for i, r in enumerate(self.records()) for o in r.outputs if o}
        return self._producers.get(value)

    def uses(self, value: str) -> int:
        """How many node inputs (any graph) and graph outputs read `value`."""
        if self._uses is None:
            uses: dict[str, int] = {}
            for r in self.records():
                for i in r.inputs:
                    uses[i] = uses.get(i, 0) + 1
            for g_out in _graph_outputs(self.proto.graph):
                uses[g_out] = uses.get(g_out, 0) + 1
            self._uses = uses
        return self._uses.get(value, 0)

    def changed(self) -> None:
        """Call after editing the proto: records are rebuilt on next use."""
        self._records = None
        self._producers = None
        self._uses = None

    def replace(self, index: int, nodes: list[onnx.NodeProto], rule: str) -> None:
        """Queue replacing node `index` (of `records()`) by `nodes`, in its place, so graph
        order stays topological. Splices land together in `commit`: one rebuild of each touched
        node list per batch, not one per match, so a pass over many matches stays linear."""
        self._pending[index] = nodes
        for node in nodes:
            self.inserted_by[node.name] = rule

    def commit(self) -> int:
        """Apply queued replacements; returns how many nodes were replaced."""
        if not self._pending:
            return 0
        pending, self._pending = self._pending, {}
        by_graph: dict[int, tuple[onnx.GraphProto, dict[int, list[onnx.NodeProto]]]] = {}
        # deepest graphs first: rebuilding a node list copies its nodes (protobuf's extend), so
        # a body edited after the graph that holds it would be edited in a detached copy (the
        # records' order is breadth-first: a body's nodes come after its owner's graph)
        for index in sorted(pending, reverse=True):
            graph, position = self._locations[index]
            by_graph.setdefault(id(graph), (graph, {}))[1][position] = pending[index]
        for graph, replacements in by_graph.values():
            old = list(graph.node)
            new: list[onnx.NodeProto] = []
            for i, node in enumerate(old):
                new.extend(replacements.get(i, (node,)))
            del graph.node[:]
            graph.node.extend(new)
        self.changed()
        return len(pending)

    def ensure_import(self, domain: str, version: int) -> None:
        """Import `domain` (for inserted nodes) when the model does not yet."""
        if domain not in self.opset_imports:
            self.proto.opset_import.append(onnx.helper.make_opsetid(domain, version))

    def fresh_name(self, base: str) -> str:
        """`base`, or `base_<n>`, unused by any value or node in the model."""
        if self._names is None:
            self._names = set(_all_names(self.proto.graph))
        name, n = base, 0
        while name in self._names:
            n += 1
            name = f"{base}_{n}"
        self._names.add(name)
        return name


def _all_names(graph: onnx.GraphProto) -> Iterator[str]:
    for g in walk_graphs(graph):
        for vi in (*g.input, *g.output, *g.value_info):
            yield vi.name
        for init in g.initializer:
            yield init.name
        for node in g.node:
            yield node.name
            yield from node.input
            yield from node.output


def _node_locations(graph: onnx.GraphProto) -> Iterator[tuple[onnx.GraphProto, int]]:
    """(graph, position) of every node, in build_inventory's breadth-first order."""
    queue: deque[onnx.GraphProto] = deque([graph])
    while queue:
        g = queue.popleft()
        for i, node in enumerate(g.node):
            yield g, i
            if len(node.attribute):
                queue.extend(subgraphs(node))


def _value_infos(
    graph: onnx.GraphProto,
) -> Iterator[tuple[str, tuple[int, tuple[int | None, ...] | None]]]:
    """name -> (element type, shape) for every typed value, subgraphs included."""
    for g in walk_graphs(graph):
        for vi in (*g.input, *g.output, *g.value_info):
            if vi.type.HasField("tensor_type"):
                t = vi.type.tensor_type
                dims = (tuple(d.dim_value if d.HasField("dim_value") else None
                              for d in t.shape.dim) if t.HasField("shape") else None)
                yield vi.name, (t.elem_type, dims)
        for init in g.initializer:
            yield init.name, (init.data_type, tuple(init.dims))


def _graph_outputs(graph: onnx.GraphProto) -> Iterator[str]:
    """Output names of the graph and of every subgraph (a subgraph output is a use too)."""
    for g in walk_graphs(graph):
        yield from (o.name for o in g.output)
