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

import onnx
import onnx.helper

from rewrites.onnx.adapters.common import ADAPTED_DOMAIN
from rewrites.onnx.rule import RewriteModel

ID = "subgraph-ops"
#: op -> the version onnx has no adapter down from
OPS = {"If": 16, "Loop": 16, "Scan": 11}
_SCAN_AXES = ("scan_input_axes", "scan_output_axes")

#: converts a model to a target: the converted model, or why not
Convert = Callable[[onnx.ModelProto, int], "onnx.ModelProto | str"]


def _graphs(node: onnx.NodeProto) -> Iterator[onnx.GraphProto]:
    for attr in node.attribute:
        if attr.type == onnx.AttributeProto.GRAPH:
            yield attr.g
        elif attr.type == onnx.AttributeProto.GRAPHS:
            yield from attr.graphs


def outer_names(graph: onnx.GraphProto) -> list[str]:
    """Values `graph` (and the graphs nested in it) read but do not define, in first-use order."""
    defined = {i.name for i in graph.input} | {i.name for i in graph.initializer}
    used: list[str] = []
    for node in graph.node:
        for name in node.input:
            if name and name not in defined and name not in used:
                used.append(name)
        for sub in _graphs(node):
            for name in outer_names(sub):
                if name not in defined and name not in used:
                    used.append(name)
        defined.update(node.output)
    return used


def _body_model(model: RewriteModel, body: onnx.GraphProto) -> onnx.ModelProto | str:
    """The body as a model of its own: outer values become inputs (main-graph initializers are
    copied as initializers)."""
    graph = onnx.GraphProto()
    graph.CopyFrom(body)
    initializers = {i.name: i for i in model.proto.graph.initializer}
    for name in outer_names(body):
        if name in initializers:
            graph.initializer.append(initializers[name])
            continue
        elem = model.elem_type(name)
        if elem is None:
            return f"the type of outer value {name} is unknown"
        shape = model.shape(name)
        graph.input.append(onnx.helper.make_tensor_value_info(
            name, elem, list(shape) if shape is not None else None))
    out = onnx.helper.make_model(graph, opset_imports=list(model.proto.opset_import))
    out.ir_version = model.proto.ir_version
    return out


def adapt(model: RewriteModel, target: int, convert: Convert) -> int | str:
    """Convert the bodies of fitting If / Loop nodes; how many nodes, or why one cannot."""
    count = 0
    for index, r in enumerate(model.records()):
        step = OPS.get(r.op)
        if step is None or r.domain or target >= step or (r.since_version or 0) < step:
            continue
        if any(t and t.startswith("optional") for t in r.output_types):
            continue
        node = model.node(index)
        if any(a.name in _SCAN_AXES and any(v < 0 for v in a.ints) for a in node.attribute):
            continue
        for attr in node.attribute:
            if attr.type != onnx.AttributeProto.GRAPH:
                continue
            body = _body_model(model, attr.g)
            if isinstance(body, str):
                return f"{r.op} node {r.name}: {body}"
            converted = convert(body, target)
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
            attr.g.CopyFrom(graph)
        node.domain = ADAPTED_DOMAIN
        count += 1
    if count:
        model.ensure_import(ADAPTED_DOMAIN, 1)
        model.changed()
    return count
