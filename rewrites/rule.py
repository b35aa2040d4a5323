"""The rewrite rule protocol (DESIGN.md, "Rewrites") and the model view rules work on.

Rules work on plain onnx protos, not onnx-ir: the analyzer's function expansion
(analyzer/checks/function_expansion.py), onnx.inliner, onnx.checker and onnxruntime all take and
return protos, so a rule that edits protos in place needs no conversion on either side, and the
analyzer's NodeRecord (resolved version, element types) is what a rule's `check` reads. A rule
that needs pattern matching over many nodes may still use onnx-ir internally.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import onnx
import onnx.helper
import onnx.shape_inference

from analyzer.inventory import NodeRecord
from analyzer.sources.onnx_inventory import build_inventory


@dataclass(frozen=True)
class Target:
    """An op a rule answers, and where it is a problem: `opsets` is the inclusive range of
    ai.onnx opsets (None: any), `providers` the execution providers lacking it (empty: any)."""

    op: str
    domain: str = ""
    opsets: tuple[int, int] | None = None
    providers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Reason:
    """Why a rule does not apply to a node; a value shown in reports, never raised."""

    rule: str
    node: str
    text: str


@dataclass
class Match:
    """A node a rule will rewrite, what the graph gains and loses, and the rule's own payload
    (computed once in `check`, used by `apply`)."""

    rule: str
    node: str
    index: int
    removed: tuple[str, ...]
    added: tuple[str, ...]
    payload: Any = field(default=None, repr=False)


@runtime_checkable
class Rule(Protocol):
    """One rewrite. `exact` is False for approximations, which run only when named."""

    @property
    def id(self) -> str: ...

    @property
    def summary(self) -> str: ...

    @property
    def targets(self) -> tuple[Target, ...]: ...

    @property
    def exact(self) -> bool: ...

    def check(self, model: RewriteModel, node: NodeRecord) -> Match | Reason: ...

    def apply(self, model: RewriteModel, match: Match) -> None: ...


class RewriteModel:
    """The copy of the model a pass owns: the proto, typed NodeRecords of its main graph (built
    lazily by the analyzer's inventory, dropped after each edit), and fresh-name allocation so
    inserted values never collide with existing ones, subgraphs included."""

    def __init__(self, proto: onnx.ModelProto) -> None:
        self.proto = proto
        self._records: list[NodeRecord] | None = None
        self._names: set[str] | None = None
        self._index: dict[int, int] = {}
        self._pending: dict[int, list[onnx.NodeProto]] = {}
        # node name -> id of the rule that inserted it: a rule does not rewrite its own output
        # (expand-function would otherwise expand the CastLike in every body it inserted).
        self.inserted_by: dict[str, str] = {}

    @property
    def opset_imports(self) -> dict[str, int]:
        out = {(i.domain if i.domain != "ai.onnx" else ""): i.version
               for i in self.proto.opset_import}
        return out

    def records(self) -> list[NodeRecord]:
        """Main-graph NodeRecords in graph order, with inferred element types."""
        if self._records is None:
            try:
                inferred = onnx.shape_inference.infer_shapes(self.proto)
            except Exception:  # noqa: BLE001 - untyped records still let rules give reasons
                inferred = self.proto
            self._records = [r for r in build_inventory(inferred).nodes if r.graph == "main"]
            self._index = {id(r): i for i, r in enumerate(self._records)}
        return self._records

    def index_of(self, record: NodeRecord) -> int:
        """Position in the main graph of a record from `records()`."""
        self.records()
        return self._index[id(record)]

    def changed(self) -> None:
        """Call after editing the proto: records are rebuilt on next use."""
        self._records = None

    def replace(self, index: int, nodes: list[onnx.NodeProto], rule: str) -> None:
        """Queue replacing main-graph node `index` by `nodes` (in its place, so graph order
        stays topological). Splices land together in `commit`: one rebuild of the node list per
        batch, not one per match, so a pass over many matches stays linear."""
        self._pending[index] = nodes
        for node in nodes:
            self.inserted_by[node.name] = rule

    def commit(self) -> int:
        """Apply queued replacements; returns how many nodes were replaced."""
        if not self._pending:
            return 0
        pending, self._pending = self._pending, {}
        old = list(self.proto.graph.node)
        new: list[onnx.NodeProto] = []
        for i, node in enumerate(old):
            new.extend(pending.get(i, (node,)))
        del self.proto.graph.node[:]
        self.proto.graph.node.extend(new)
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
    stack = [graph]
    while stack:
        g = stack.pop()
        for vi in (*g.input, *g.output, *g.value_info):
            yield vi.name
        for init in g.initializer:
            yield init.name
        for node in g.node:
            yield node.name
            yield from node.input
            yield from node.output
            for attr in node.attribute:
                if attr.type == onnx.AttributeProto.GRAPH:
                    stack.append(attr.g)
                elif attr.type == onnx.AttributeProto.GRAPHS:
                    stack.extend(attr.graphs)
