"""Adapter: If-16/19 and Loop-16/19 below 16, for which onnx ships no adapter ("No Adapter From
Version $16 for If"), and Scan-11+ below 11 ("No Adapter From Version $11 for Scan"). Version 16
only added optional types to what they carry, so a node whose outputs are tensors or sequences
is already an If-13 / Loop-13 once its bodies are at the target; Scan-11 only allowed negative
axes, so a Scan whose axes attributes are all non-negative is a Scan-9. Each body is converted
on its own (as a model whose inputs are the body's inputs plus the outer-scope values it reads,
through the same onnx:version-convert, adapters included), put back, and the node travels
under the adapted domain while onnx converts the rest. Left alone: optional-typed outputs, a
Scan with negative axes, outer-scope values of unknown type, and a body that does not convert
(its reason is returned)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import onnx
import onnx.helper
import onnx.shape_inference

from analyzer.sources.onnx_walk import subgraphs, to_default_domain, walk_graphs, walk_nodes
from analyzer.sources.weightless import for_inference
from rewrites.onnx.adapters.common import ADAPTED_DOMAIN, schema_at, types_allowed
from rewrites.onnx.rule import RewriteModel

ID = "subgraph-ops"
#: A converted body's nodes wait under this domain while the other adapters run on the model
#: (`unpark` puts them back): they are already in their target form, which those adapters
#: would take for the source version's form.
PARKED_DOMAIN = "onnx_preflight.parked"
#: op -> the version onnx has no adapter down from
OPS = {"If": 16, "Loop": 16, "Scan": 11}
_SCAN_AXES = ("scan_input_axes", "scan_output_axes")

#: value name -> (element type, shape), inferred before the adapters ran (RewriteModel.value_types)
Types = dict[str, tuple[int, "tuple[int | None, ...] | None"]]
#: converts a model to a target, given the types known outside it: the model, or why not
Convert = Callable[[onnx.ModelProto, int, Types], "onnx.ModelProto | str"]


def merge_types(outer: Types, inner: Types) -> Types:
    """`inner`'s types, completed by `outer`'s where inner has none or no shape."""
    out = dict(outer)
    for name, (elem, shape) in inner.items():
        if elem and (shape is not None or name not in out):
            out[name] = (elem, shape)
    return out


def outer_names(graph: onnx.GraphProto) -> list[str]:
    """Values `graph` (and the graphs nested in it) read but do not define, in first-use order."""
    defined = {i.name for i in graph.input} | {i.name for i in graph.initializer}
    used: list[str] = []
    for node in graph.node:
        for name in node.input:
            if name and name not in defined and name not in used:
                used.append(name)
        for sub in subgraphs(node):
            for name in outer_names(sub):
                if name not in defined and name not in used:
                    used.append(name)
        defined.update(node.output)
    return used


def _declared_type(model: RewriteModel, name: str) -> onnx.TypeProto | None:
    """The type of `name` as some graph of the model declares it (a value_info, input or
    output) or as inference gives it (a sequence's too), else as inferred for a tensor (an
    initializer's included), or None."""
    for source in (lambda: model.proto, lambda: _inferred(model.proto)):  # inference if need be
        for g in walk_graphs(source().graph):
            for vi in (*g.input, *g.output, *g.value_info):
                if vi.name == name and vi.type.WhichOneof("value") is not None:
                    return vi.type
    elem = model.elem_type(name)
    if elem is None:
        return None
    shape = model.shape(name)
    return onnx.helper.make_tensor_type_proto(elem, list(shape) if shape is not None else None)


def _inferred(model: onnx.ModelProto) -> onnx.ModelProto:
    """The model with inferred value_info (its large weights' bytes left out), or as it is."""
    try:
        return onnx.shape_inference.infer_shapes(for_inference(model))
    except Exception:  # noqa: BLE001 - inference raises several types; declared types remain
        return model


def _loop_input_types(model: RewriteModel, node: onnx.NodeProto, graph: onnx.GraphProto) -> None:
    """Type the Loop body's inputs that the exporter left untyped (the dynamo exporter writes
    its loop-carried values without a type): the iteration number is an int64 scalar, the
    condition a bool scalar, and each carried value has its initial value's type (the Loop
    spec requires it) and rank, with unknown sizes (a carried value may change shape between
    iterations); its untyped outputs likewise (the condition, then the carried values).
    Without them a body nested in this one reads values of unknown type, and onnx's converter
    rejects an untyped graph output."""
    for i, vi in enumerate(graph.input):
        if vi.type.WhichOneof("value") is not None:
            continue
        if i < 2:
            vi.type.CopyFrom(onnx.helper.make_tensor_type_proto(
                onnx.TensorProto.INT64 if i == 0 else onnx.TensorProto.BOOL, []))
            continue
        initial = node.input[i] if i < len(node.input) else ""
        found = _declared_type(model, initial) if initial else None
        if found is None:
            continue
        typed = onnx.TypeProto()
        typed.CopyFrom(found)
        if typed.HasField("tensor_type") and typed.tensor_type.HasField("shape"):
            for dim in typed.tensor_type.shape.dim:  # the rank stays, the sizes may change
                dim.Clear()
        vi.type.CopyFrom(typed)
    # the body's outputs: the condition, then each carried value with its input's type
    for j, vi in enumerate(graph.output):
        if vi.type.WhichOneof("value") is not None and not (
                vi.type.HasField("tensor_type") and not vi.type.tensor_type.HasField("shape")):
            continue
        if j == 0:
            vi.type.CopyFrom(onnx.helper.make_tensor_type_proto(onnx.TensorProto.BOOL, []))
        elif j + 1 < len(graph.input) and graph.input[j + 1].type.WhichOneof("value"):
            vi.type.CopyFrom(graph.input[j + 1].type)


def _type(model: RewriteModel, types: Types, name: str) -> tuple[int, Any] | None:
    """(element type, shape) of a tensor value: as inferred before the adapters ran (a node an
    adapter moved under its private domain has no type for inference after), else now."""
    if name in types and types[name][0]:
        return types[name]
    elem = model.elem_type(name)
    return (elem, model.shape(name)) if elem is not None else None


def type_loop_inputs(model: RewriteModel) -> int:
    """Type, in place, the untyped inputs of every Loop body of the model (_loop_input_types),
    so that inference types what the bodies compute; returns how many Loops it touched."""
    count = 0
    for index, r in enumerate(model.records()):
        if r.op != "Loop" or r.domain:
            continue
        node = model.node(index)
        body = next((a.g for a in node.attribute if a.name == "body"), None)
        if body is None or all(vi.type.WhichOneof("value") is not None for vi in body.input):
            continue
        _loop_input_types(model, node, body)
        count += 1
    if count:
        model.changed()
    return count


def _body_model(model: RewriteModel, body: onnx.GraphProto, loop: onnx.NodeProto | None = None,
                types: Types | None = None) -> onnx.ModelProto | str:
    """The body as a model of its own: outer values become inputs (main-graph initializers are
    copied as initializers); a Loop body's untyped inputs get the types the Loop gives them,
    and untyped body outputs (the dynamo exporter writes If branches' outputs without one) the
    inferred ones (onnx's converter rejects an untyped output)."""
    graph = onnx.GraphProto()
    graph.CopyFrom(body)
    types = types or {}
    if loop is not None:
        _loop_input_types(model, loop, graph)
    initializers = {i.name: i for i in model.proto.graph.initializer}
    for name in outer_names(body):
        if name in initializers:
            graph.initializer.append(initializers[name])
            continue
        found = _type(model, types, name)
        if found is None:
            return f"the type of outer value {name} is unknown"
        elem, shape = found
        graph.input.append(onnx.helper.make_tensor_value_info(
            name, elem, list(shape) if shape is not None else None))
    out = onnx.helper.make_model(graph, opset_imports=list(model.proto.opset_import))
    out.ir_version = model.proto.ir_version
    untyped = [vi for vi in out.graph.output if vi.type.WhichOneof("value") is None or (
        vi.type.HasField("tensor_type") and not vi.type.tensor_type.HasField("shape"))]
    if untyped:
        own = RewriteModel(out).value_types()  # the body typed from its now typed inputs
        for vi in untyped:
            found = merge_types(types, own).get(vi.name)
            if found is not None and found[1] is not None:
                vi.type.CopyFrom(onnx.helper.make_tensor_type_proto(found[0], list(found[1])))
    return out


def _outputs_within(graph: onnx.GraphProto) -> Iterator[str]:
    for node in walk_nodes(graph):
        yield from (o for o in node.output if o)


def type_if_outputs(model: onnx.ModelProto) -> int:
    """Give the main graph's untyped (or shapeless) outputs that an If produces the type its
    converted branches give them (same element type and rank in both; a dim they disagree on
    left unknown): onnx's converter rejects an untyped graph output, and inference cannot type
    an If whose branches it cannot (a Reduce whose axes are an outer initializer)."""
    producers = {o: n for n in model.graph.node for o in n.output}
    count = 0
    for vi in model.graph.output:
        if vi.type.HasField("tensor_type") and vi.type.tensor_type.HasField("shape"):
            continue
        node = producers.get(vi.name)
        if node is None or node.op_type != "If":
            continue
        position = list(node.output).index(vi.name)
        branches = [a.g for a in node.attribute if a.name in ("then_branch", "else_branch")]
        types = [b.output[position].type for b in branches if position < len(b.output)]
        if len(types) != 2 or not all(t.HasField("tensor_type") and t.tensor_type.HasField(
                "shape") for t in types):
            continue
        first, second = (t.tensor_type for t in types)
        if first.elem_type != second.elem_type or len(first.shape.dim) != len(
                second.shape.dim):
            continue
        dims = [a.dim_value if a.HasField("dim_value") and a.dim_value == b.dim_value else None
                for a, b in zip(first.shape.dim, second.shape.dim, strict=True)]
        vi.type.CopyFrom(onnx.helper.make_tensor_type_proto(first.elem_type, dims))
        count += 1
    return count


def _park(graph: onnx.GraphProto) -> None:
    for node in walk_nodes(graph):
        if node.domain in ("", "ai.onnx"):
            node.domain = PARKED_DOMAIN


def unpark(model: onnx.ModelProto) -> None:
    """Put the nodes `adapt(park=True)` set aside back into the default domain."""
    to_default_domain(model, PARKED_DOMAIN)


def adapt(model: RewriteModel, target: int, convert: Convert,
          types: Types | None = None, park: bool = False) -> int | str:
    """Convert the bodies of fitting If / Loop nodes; how many nodes, or why one cannot.
    `types`: the model's value types inferred before any adapter ran. `park`: the converted
    bodies' nodes wait under PARKED_DOMAIN (see `unpark`), so that the adapters run after this
    one leave them alone: a body's nodes are adapted once, in the body's own model, where the
    outer initializers it reads are constants."""
    count = 0
    fitting = []
    for index, r in enumerate(model.records()):
        step = OPS.get(r.op)
        if step is None or r.domain or target >= step or (r.since_version or 0) < step:
            continue
        if any(t and t.startswith("optional") for t in r.output_types):
            continue
        node = model.node(index)
        if any(a.name in _SCAN_AXES and any(v < 0 for v in a.ints) for a in node.attribute):
            continue
        low = schema_at(r.op, target)
        if low is not None and not types_allowed(r, low):
            kinds = sorted({t for t in (*r.input_types, *r.output_types) if t} - {
                t for c in low.type_constraints for t in c.allowed_type_strs})
            return (f"{r.op} node {r.name} carries {', '.join(kinds) or 'a type'}, which "
                    f"{r.op}-{low.since_version} (at opset {target}) does not take: no exact "
                    "lower form")
        fitting.append((index, r))
    # a node inside a body converted here is converted with that body (its records would
    # point into the graph the conversion replaces)
    inner = {o for index, _ in fitting for g in subgraphs(model.node(index))
             for o in _outputs_within(g)}
    for index, r in fitting:
        if inner.intersection(r.outputs):
            continue
        node = model.node(index)
        for attr in node.attribute:
            if attr.type != onnx.AttributeProto.GRAPH:
                continue
            body = _body_model(model, attr.g, node if r.op == "Loop" else None, types)
            if isinstance(body, str):
                return f"{r.op} node {r.name}: {body}"
            converted = convert(body, target, types or {})
            if isinstance(converted, str):
                return f"{r.op} node {r.name}, body {attr.g.name}: {converted}"
            outer = len(attr.g.input)
            copied = {i.name for i in model.proto.graph.initializer}
            graph = converted.graph
            kept_inputs = list(graph.input)[:outer]
            del graph.input[:]
            graph.input.extend(kept_inputs)
            kept = [i for i in graph.initializer if i.name not in copied]
            del graph.initializer[:]
            graph.initializer.extend(kept)
            if park:
                _park(graph)
            attr.g.CopyFrom(graph)
        node.domain = ADAPTED_DOMAIN
        count += 1
    if count:
        model.ensure_import(ADAPTED_DOMAIN, 1)
        if park:
            model.ensure_import(PARKED_DOMAIN, 1)
        model.changed()
    return count
