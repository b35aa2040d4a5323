"""onnx:expand-function: replace an ONNX function op (HardSwish, Gelu, Mish, Celu,
LayerNormalization, GroupNormalization, ...) by its function body from the ONNX schema.

The body is the one ONNX Runtime itself would inline (analyzer/checks/function_expansion.py:
the newest plain body valid at the model's opset, or the context-dependent body built for the
node's attributes and input types), so the rewrite is exact by construction and its nodes
resolve at the model's own opset imports. Removing the function op helps where a provider or
converter lacks a kernel for it, or a runtime does not inline function ops.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import onnx
import onnx.defs

from analyzer.checks.function_expansion import IllTypedBody, can_expand, expand
from analyzer.finding_ids import EP301, EP302, EP303, SCH202, SCH203
from analyzer.inventory import NodeRecord
from rewrites.onnx import adapters
from rewrites.onnx.rule import Match, OnnxRuleBase, Reason, RewriteModel, Target


@functools.lru_cache(maxsize=1)
def function_targets() -> tuple[Target, ...]:
    """Every schema op with a plain or context-dependent body, in any ONNX version."""
    seen: dict[tuple[str, str], None] = {}
    schemas: Sequence[Any] = onnx.defs.get_all_schemas_with_history()  # stubs omit body accessors
    for s in schemas:
        if s.has_function or s.has_context_dependent_function:
            seen[(s.domain, s.name)] = None
    return tuple(Target(op, domain) for domain, op in sorted(seen))


@dataclass(frozen=True)
class FunctionBody:
    """The body's node records, built for a placeholder copy of the node (`_for_node`)."""

    nodes: tuple[Any, ...]


class ExpandFunction(OnnxRuleBase):
    """Inline a function op's schema body in place of the node."""

    id = "onnx:expand-function"
    summary = "replace an ONNX function op by its schema function body (exact)"
    exact = True
    answers = (SCH202.id, EP301.id, SCH203.id, EP302.id, EP303.id)

    @property
    def targets(self) -> tuple[Target, ...]:
        return function_targets()

    def fits(self, node: NodeRecord, opsets: dict[str, int],
             target_opset: int | None = None) -> bool:
        """Static test for findings' fixes: a body ORT-style inlining would take exists."""
        if node.since_version is None:
            return False
        return can_expand(node.op, node.domain, node.since_version, opsets.get(""), node)

    def check(self, model: RewriteModel, node: NodeRecord) -> Match[FunctionBody] | Reason:
        opset = model.opset_imports.get("")
        if node.since_version is None and not node.domain:
            return Reason(self.id, node.name, f"{node.op} has no schema at opset {opset}")
        target = model.target_opset
        adapter = adapters.lowered_by(model, node, target) if target is not None else None
        if adapter is not None:
            return Reason(self.id, node.name,
                          f"onnx:version-convert's {adapter} adapter lowers this {node.op} to "
                          f"opset {target} without its body")
        if not can_expand(node.op, node.domain, node.since_version or 0, opset, node):
            return Reason(self.id, node.name,
                          f"{node.op}-{node.since_version} has no function body valid at "
                          f"opset {opset}")
        try:
            body = _cached_body(node, model.opset_imports)
        except IllTypedBody as exc:
            return Reason(self.id, node.name, f"the body is ill-typed: {exc}")
        if not body:
            return Reason(self.id, node.name,
                          f"the body of {node.op} cannot be built for input types "
                          f"{', '.join(t or '?' for t in node.input_types)}")
        if any(b.op == node.op and b.domain == node.domain for b in body):
            return Reason(self.id, node.name, f"the body of {node.op} uses {node.op} itself")
        return Match(self.id, FunctionBody(tuple(body)), node.name, model.index_of(node),
                     (node.op,), tuple(b.op for b in body))

    def apply(self, model: RewriteModel, match: Match[FunctionBody]) -> None:
        node = model.node(match.index)
        keep = set(node.input) | set(node.output)
        prefix = node.name or match.node
        body: list[onnx.NodeProto] = _for_node(list(match.payload.nodes), node, prefix)
        renamed: dict[str, str] = {}
        out: list[onnx.NodeProto] = []
        for proto in body:
            new = onnx.NodeProto()
            new.CopyFrom(proto)
            new.name = model.fresh_name(proto.name or f"{prefix}/{proto.op_type}")
            for i, name in enumerate(new.output):
                if name and name not in keep:
                    renamed[name] = model.fresh_name(f"{prefix}/{_strip_counter(name)}")
                    new.output[i] = renamed[name]
            _rename_inputs(new, renamed)
            model.ensure_import(new.domain, 1)
            out.append(new)
        model.replace(match.index, out, self.id)


_PLACEHOLDER = "__expand_node"
_BODY_CACHE: dict[tuple[object, ...], list[Any] | None] = {}
_BODY_CACHE_SIZE = 1024


def _cached_body(node: NodeRecord, opsets: dict[str, int]) -> list[Any] | None:
    """The body records for this node, built once per signature (op, version, attributes,
    types, opsets) instead of once per node: building one inlines and shape-infers a one-node
    model (about 1 ms), which dominated the pass on a graph of 20,000 HardSwish nodes. The
    body is built for a placeholder copy of the node whose inputs and outputs are named by
    position; `_for_node` puts the real names back."""
    proto: onnx.NodeProto = node.proto
    key = (node.op, node.domain, node.since_version, node.input_types, node.output_types,
           tuple(bool(i) for i in proto.input), tuple(bool(o) for o in proto.output),
           tuple(a.SerializeToString() for a in proto.attribute), tuple(sorted(opsets.items())))
    if key in _BODY_CACHE:
        return _BODY_CACHE[key]
    canonical = onnx.NodeProto()
    canonical.CopyFrom(proto)
    canonical.name = _PLACEHOLDER
    for i, name in enumerate(proto.input):
        canonical.input[i] = f"{_PLACEHOLDER}/in{i}" if name else ""
    for i, name in enumerate(proto.output):
        canonical.output[i] = f"{_PLACEHOLDER}/out{i}" if name else ""
    record = dataclasses.replace(node, name=_PLACEHOLDER, proto=canonical,
                                 inputs=tuple(canonical.input), outputs=tuple(canonical.output))
    body = expand(record, opsets)
    if len(_BODY_CACHE) >= _BODY_CACHE_SIZE:
        _BODY_CACHE.clear()
    _BODY_CACHE[key] = body
    return body


def _for_node(body: list[Any], node: onnx.NodeProto, prefix: str) -> list[onnx.NodeProto]:
    """Body node protos with the placeholder names replaced by the node's own (its inputs and
    outputs by position, the placeholder prefix of other names by `prefix`)."""
    names = {f"{_PLACEHOLDER}/in{i}": n for i, n in enumerate(node.input)}
    names.update({f"{_PLACEHOLDER}/out{i}": n for i, n in enumerate(node.output)})

    def real(name: str) -> str:
        if name in names:
            return names[name]
        return prefix + name[len(_PLACEHOLDER):] if name.startswith(_PLACEHOLDER) else name

    values = {name: real(name) for record in body for name in (*record.inputs, *record.outputs)
              if name}
    out = []
    for record in body:
        new = onnx.NodeProto()
        new.CopyFrom(record.proto)
        new.name = real(new.name)
        _rename_inputs(new, values)
        for i, name in enumerate(new.output):
            if name in values:
                new.output[i] = values[name]
        out.append(new)
    return out


def _rename_inputs(node: onnx.NodeProto, renamed: dict[str, str]) -> None:
    """Point inputs (subgraphs included, which may read outer values) at renamed values."""
    for i, name in enumerate(node.input):
        if name in renamed:
            node.input[i] = renamed[name]
    for attr in node.attribute:
        graphs = [attr.g] if attr.type == onnx.AttributeProto.GRAPH else list(attr.graphs)
        for g in graphs:
            for inner in g.node:
                _rename_inputs(inner, renamed)


def _strip_counter(name: str) -> str:
    """The inliner suffixes body values with "__<n>"; the node prefix makes them unique."""
    head, sep, tail = name.rpartition("__")
    return head if sep and tail.isdigit() else name
