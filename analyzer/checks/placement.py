"""Predict where ONNX Runtime places each node for a list of execution providers.

The prediction follows what ORT does when it creates a session, in this order:
1. Partitioning: each provider, in list order, claims the nodes it has a kernel for (matched by
   the node's resolved since_version AND its input/output types, as KernelRegistry does).
   CPUExecutionProvider is always appended when absent, as ORT does.
2. A node that no provider claimed and whose schema has a function body is inlined, and its body
   nodes are partitioned in turn (`function_expansion`: which body ORT takes depends on the
   model's opset; contrib bodies that only onnxruntime defines come from a measured table). A
   body whose nodes disagree on a type fails the session.
3. InsertCastTransformer: a node still unclaimed with a float16 input is wrapped in Casts and run
   in float32 on CPU, if CPU has a float32 kernel; below opset 6 the inserted Cast fails
   (Cast-1's `to` is a string), and so does the session.
4. Anything left has no kernel: session creation fails ("Could not find an implementation").
   So does a value of an element type no ORT kernel takes (complex64, ...): ORT registers no
   data type for it and cannot load the model.

Partitions are maximal groups of connected nodes on one provider; device copies are the tensors
that cross from one device to another between nodes (the Memcpy nodes ORT inserts).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

from analyzer.checks.function_expansion import IllTypedBody, can_expand, expand
from analyzer.checks.ort_load_rules import (
    CAST_INSERTION_MIN_OPSET,
    KERNEL_ATTRIBUTE_OPS,
    kernel_attribute_problem,
)
from analyzer.inventory import Inventory, NodeRecord
from opsets.query import KernelMatch, match_kernel
from opsets.tables import SchemaTable, SchemaVersion, load_kernels, load_schemas

CPU = "CPUExecutionProvider"
MAX_EXPANSION_DEPTH = 4
DEVICE_OF: dict[str, str] = {
    "CPUExecutionProvider": "cpu",
    "CUDAExecutionProvider": "cuda",
    "DmlExecutionProvider": "dml",
}

Status = Literal["ok", "fallback", "none"]
How = Literal["kernel", "cast", "expanded", "constant", "none"]
STATUS_RANK: dict[str, int] = {"ok": 0, "fallback": 1, "none": 2}


@dataclass(frozen=True)
class ProviderStatus:
    """One provider's answer for one node: can it run it, and why not."""

    status: Status
    reason: str = ""


@dataclass
class NodePlacement:
    """Where one node runs. `provider` is None when the node was expanded (its body runs) or when
    no provider has a kernel (`how == "none"`)."""

    node: NodeRecord
    provider: str | None
    how: How
    statuses: dict[str, ProviderStatus]
    body: list[NodePlacement] = field(default_factory=list)
    type_checked: bool = True
    note: str = ""

    def leaves(self) -> Iterator[NodePlacement]:
        """The nodes that really execute: this one, or the leaves of its expanded body."""
        if self.how == "expanded":
            for child in self.body:
                yield from child.leaves()
        else:
            yield self

    @property
    def runs(self) -> bool:
        return all(leaf.provider is not None or leaf.how == "constant" for leaf in self.leaves())


@dataclass
class ProviderSummary:
    """The placement figures that the JSON report lists per provider."""

    provider: str
    predicted_nodes: int = 0
    fallback_nodes: list[str] = field(default_factory=list)
    partitions: int = 0
    device_copies: int = 0
    actual: dict[str, object] | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "predicted_nodes": self.predicted_nodes,
            "fallback_nodes": list(self.fallback_nodes),
            "partitions": self.partitions,
            "device_copies": self.device_copies,
            "actual": self.actual,
        }


@dataclass
class Placement:
    """The prediction for a whole model."""

    requested: list[str]
    providers: list[str]
    nodes: list[NodePlacement]
    summaries: dict[str, ProviderSummary]

    @property
    def loadable(self) -> bool:
        return all(n.runs for n in self.nodes)

    def leaves(self) -> Iterator[NodePlacement]:
        for n in self.nodes:
            yield from n.leaves()


def effective_providers(providers: Sequence[str]) -> list[str]:
    """ORT appends the CPU provider when the list lacks it (unless disabled by a session option)."""
    out = list(dict.fromkeys(providers))
    if CPU not in out:
        out.append(CPU)
    return out


class _Predictor:
    """Holds the caches that make prediction linear in the node count: nodes that share
    (op, version, types) share one kernel lookup."""

    def __init__(self, providers: list[str], opsets: dict[str, int], schemas: SchemaTable) -> None:
        self.providers = providers
        self.opsets = opsets
        self.schemas = schemas
        self._schema_cache: dict[tuple[str, str, int | None], SchemaVersion | None] = {}
        self._match_cache: dict[tuple[object, ...], KernelMatch] = {}
        self._kernel_cache: dict[
            tuple[object, ...], tuple[str | None, dict[str, ProviderStatus], bool]
        ] = {}

    def schema(self, node: NodeRecord) -> SchemaVersion | None:
        key = (node.domain, node.op, node.opset)
        if key not in self._schema_cache:
            self._schema_cache[key] = (
                self.schemas.resolve(node.domain, node.op, node.opset) if node.opset else None
            )
        return self._schema_cache[key]

    def match(
        self,
        provider: str,
        node: NodeRecord,
        input_types: tuple[str | None, ...],
        output_types: tuple[str | None, ...],
    ) -> KernelMatch:
        key = (provider, node.domain, node.op, node.since_version, node.opset, input_types,
               output_types)
        hit = self._match_cache.get(key)
        if hit is None:
            hit = match_kernel(
                provider,
                self.schema(node),
                node.domain,
                node.op,
                node.since_version,
                input_types,
                output_types,
            )
            self._match_cache[key] = hit
        return hit

    def place(self, node: NodeRecord, depth: int = 0) -> NodePlacement:
        # Nodes with one signature (op, versions, types) and a kernel share one answer: large
        # models repeat a few signatures thousands of times. Expanded, cast and failing nodes are
        # placed one by one (their bodies and reasons depend on the node itself).
        if node.op in KERNEL_ATTRIBUTE_OPS:  # the answer depends on the node's attributes
            refused = kernel_attribute_problem(
                node.domain, node.op, node.since_version,
                {a.name for a in node.proto.attribute} if node.proto is not None else ())
            if refused is not None:
                return NodePlacement(node, None, "none",
                                     {p: ProviderStatus("none", refused) for p in self.providers},
                                     note=refused)
        signature = (node.domain, node.op, node.since_version, node.opset, node.input_types,
                     node.output_types)
        hit = self._kernel_cache.get(signature)
        if hit is not None:
            return NodePlacement(node, hit[0], "kernel", hit[1], type_checked=hit[2])
        placed = self._place(node, depth)
        if placed.how == "kernel":
            self._kernel_cache[signature] = (placed.provider, placed.statuses, placed.type_checked)
        return placed

    def _place(self, node: NodeRecord, depth: int) -> NodePlacement:
        unheld = _unheld_types(node)
        if unheld:
            reason = (
                f"ORT has no data type for {', '.join(unheld)} (no kernel of any provider takes "
                "it): a model that holds such a value fails to load"
            )
            return NodePlacement(
                node, None, "none", {p: ProviderStatus("none", reason) for p in self.providers}
            )
        if node.op == "Constant" and node.domain == "":
            # ORT turns Constant nodes into initializers when it loads the graph: no kernel runs.
            ok = ProviderStatus("ok", "folded into an initializer when ORT loads the graph")
            return NodePlacement(node, None, "constant", {p: ok for p in self.providers})
        matches = {
            p: self.match(p, node, node.input_types, node.output_types) for p in self.providers
        }
        chosen = next((p for p in self.providers if matches[p].ok), None)
        if chosen is not None:
            type_checked = matches[chosen].type_checked
            return NodePlacement(
                node, chosen, "kernel", self._statuses(matches, chosen), type_checked=type_checked
            )

        expanded = self._try_expand(node, matches, depth)
        if expanded is not None:
            return expanded
        cast = self._try_cast(node, matches)
        if cast is not None:
            return cast
        statuses = {p: ProviderStatus("none", matches[p].reason) for p in self.providers}
        return NodePlacement(node, None, "none", statuses)

    def _statuses(self, matches: dict[str, KernelMatch], chosen: str) -> dict[str, ProviderStatus]:
        """ok: the provider has a kernel; fallback: it has none but the node runs elsewhere."""
        return {
            p: ProviderStatus("ok") if m.ok
            else ProviderStatus("fallback", f"{m.reason}; runs on {chosen}")
            for p, m in matches.items()
        }

    def _try_expand(
        self, node: NodeRecord, matches: dict[str, KernelMatch], depth: int
    ) -> NodePlacement | None:
        if depth >= MAX_EXPANSION_DEPTH or node.opset is None:
            return None
        if node.since_version is None or not can_expand(
            node.op, node.domain, node.since_version, self.opsets.get(""), node
        ):
            return None
        try:
            body_nodes = expand(node, self.opsets)
        except IllTypedBody as exc:
            reason = (
                f"no {node.op}-{node.since_version} kernel; ORT inlines its function body, whose "
                f"{exc} for these inputs: session creation fails"
            )
            failed = {p: ProviderStatus("none", reason) for p in self.providers}
            return NodePlacement(node, None, "none", failed, note=reason)
        if not body_nodes:
            return None
        body = [self.place(b, depth + 1) for b in body_nodes]
        leaves = [leaf for b in body for leaf in b.leaves()]
        where: dict[str, int] = {}
        for leaf in leaves:
            if leaf.how != "constant":
                key = leaf.provider or "nowhere"
                where[key] = where.get(key, 0) + 1
        spread = ", ".join(f"{n} on {p}" for p, n in where.items())
        note = f"no {node.op}-{node.since_version} kernel; ORT inlines its function body ({spread})"
        statuses: dict[str, ProviderStatus] = {}
        running = [leaf for leaf in leaves if leaf.how != "constant"]
        for p in self.providers:
            if any(leaf.provider is None for leaf in running):
                statuses[p] = ProviderStatus("none", f"{matches[p].reason}; {note}")
            elif all(leaf.provider == p for leaf in running):
                statuses[p] = ProviderStatus("ok", note)
            else:
                statuses[p] = ProviderStatus("fallback", f"{matches[p].reason}; {note}")
        return NodePlacement(node, None, "expanded", statuses, body=body, note=note)

    def _try_cast(self, node: NodeRecord, matches: dict[str, KernelMatch]) -> NodePlacement | None:
        if "tensor(float16)" not in node.input_types:
            return None
        as_float = tuple(_fp16_to_fp32(t) for t in node.input_types)
        out_float = tuple(_fp16_to_fp32(t) for t in node.output_types)
        m = self.match(CPU, node, as_float, out_float)
        if not m.ok:
            return None
        opset = self.opsets.get("")
        if opset is not None and opset < CAST_INSERTION_MIN_OPSET:
            reason = (f"no float16 kernel; ORT would insert Casts to run it in float32, but at "
                      f"opset {opset} Cast-1's `to` is a string and the inserted Cast fails "
                      "its node check: session creation fails (opset >= 6 works)")
            return NodePlacement(node, None, "none",
                                 {p: ProviderStatus("none", reason) for p in self.providers},
                                 note=reason)
        note = "no float16 kernel; ORT inserts Casts and runs it in float32 on CPU"
        statuses = {
            p: ProviderStatus("ok" if p == CPU else "fallback", f"{matches[p].reason}; {note}")
            for p in self.providers
        }
        return NodePlacement(node, CPU, "cast", statuses, note=note)


_TENSOR_ELEMENT = re.compile(r"tensor\((\w+)\)")


@functools.lru_cache(maxsize=1)
def _held_element_types() -> frozenset[str]:
    """Element types ORT can hold: it registers an MLDataType only for the types its kernels use,
    and loading a model with any other (complex64, complex128, float6e2m3, ...) fails with
    "MLDataType for: tensor(complex64) is not currently registered or supported". Measured on
    onnxruntime 1.32: a Constant of each ONNX type loads exactly when some kernel in the table
    accepts the type."""
    table = load_kernels()
    return frozenset(
        element
        for p in table.providers()
        for d in table.domains(p)
        for op in table.ops(p, d)
        for k in table.kernels(p, d, op)
        for types in k.type_constraints.values()
        for t in types
        for element in _TENSOR_ELEMENT.findall(t)
    )


def _unheld_types(node: NodeRecord) -> tuple[str, ...]:
    return _unheld((*node.input_types, *node.output_types))


@functools.lru_cache(maxsize=4096)
def _unheld(types: tuple[str | None, ...]) -> tuple[str, ...]:
    found = {element for t in types if t for element in _TENSOR_ELEMENT.findall(t)}
    return tuple(sorted(found - _held_element_types()))


def _fp16_to_fp32(type_str: str | None) -> str | None:
    return "tensor(float)" if type_str == "tensor(float16)" else type_str


def predict_placement(
    inventory: Inventory, providers: Sequence[str], schemas: SchemaTable | None = None
) -> Placement:
    """Place every node of the inventory and summarise per provider."""
    effective = effective_providers(providers)
    predictor = _Predictor(effective, inventory.opset_imports, schemas or load_schemas())
    nodes = [predictor.place(n) for n in inventory.nodes]
    summaries = summarize(nodes, effective)
    return Placement(list(providers), effective, nodes, summaries)


def summarize(nodes: list[NodePlacement], providers: list[str]) -> dict[str, ProviderSummary]:
    """Nodes per provider, fallbacks, partitions and device copies, graph by graph."""
    summaries = {p: ProviderSummary(p) for p in providers}
    index = {p: i for i, p in enumerate(providers)}
    by_graph: dict[str, list[NodePlacement]] = {}
    counts: dict[str | None, int] = {}
    for n in nodes:
        leaves = [n] if n.how != "expanded" else list(n.leaves())
        for leaf in leaves:
            by_graph.setdefault(leaf.node.graph, []).append(leaf)
            counts[leaf.provider] = counts.get(leaf.provider, 0) + 1
        # A fallback node of provider p is one p did not take that runs on a later provider.
        last = max((index[lf.provider] for lf in leaves if lf.provider in index), default=-1)
        if last > 0:
            for p in providers[:last]:
                st = n.statuses.get(p)
                if st is not None and st.status == "fallback":
                    summaries[p].fallback_nodes.append(n.node.name)
    for p, summary in summaries.items():
        summary.predicted_nodes = counts.get(p, 0)
    for leaves in by_graph.values():
        _partitions_and_copies(leaves, summaries)
    return summaries


def _partitions_and_copies(
    leaves: list[NodePlacement], summaries: dict[str, ProviderSummary]
) -> None:
    # Union-find over same-provider edges; hand-written because networkx would build a 100k-node
    # graph object just to count components.
    parent = list(range(len(leaves)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    producer: dict[str, int] = {}
    for i, leaf in enumerate(leaves):
        for out in leaf.node.outputs:
            if out:
                producer[out] = i
    crossings: set[tuple[str, str, str]] = set()
    for i, leaf in enumerate(leaves):
        for name in leaf.node.inputs:
            j = producer.get(name) if name else None
            if j is None:
                continue
            src, dst = leaves[j].provider, leaf.provider
            if src is None or dst is None:
                continue
            if src == dst:
                ri, rj = find(i), find(j)
                if ri != rj:
                    parent[ri] = rj
            elif DEVICE_OF.get(src, src) != DEVICE_OF.get(dst, dst):
                crossings.add((name, src, dst))
    roots: dict[str, set[int]] = {}
    for i, leaf in enumerate(leaves):
        if leaf.provider is not None:
            roots.setdefault(leaf.provider, set()).add(find(i))
    for p, r in roots.items():
        if p in summaries:
            summaries[p].partitions += len(r)
    for _name, src, dst in crossings:
        for p in {src, dst}:
            if p in summaries:
                summaries[p].device_copies += 1
