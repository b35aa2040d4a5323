"""Expand an ONNX function op into its typed body, the way ONNX Runtime does when no provider
has a kernel for the op itself.

ORT's partitioner inlines a node that no execution provider claimed when the node's schema has a
function body (plain or context dependent), then partitions the body's nodes. To predict that,
this module asks onnx for the body at the model's opset (the context-dependent builder receives
the node and its input types, exactly as in ORT), inlines it into a one-node model with onnx's
own inliner (which substitutes attribute references), and infers the body's types.
"""

from __future__ import annotations

from typing import Any

import onnx
import onnx.defs
import onnx.inliner
import onnx.shape_inference

from analyzer.inventory import NodeRecord

_EXPAND_DOMAIN = "onnx_preflight.expand"


def can_expand(op: str, domain: str, since_version: int) -> bool:
    """True when onnx has a body for this op version. Like ORT (Node::TryGetFunctionProto), a
    plain body is looked up at the node's since_version, not at the model's opset: Relu-14,
    whose body is defined from opset 18, is therefore never inlined."""
    try:
        # Any: onnx's type stubs omit the function-body accessors that OpSchema has at runtime.
        schema: Any = onnx.defs.get_schema(op, since_version, domain)
    except onnx.defs.SchemaError:
        return False
    if schema.has_context_dependent_function:
        return True
    return schema.has_function and any(
        v <= since_version for v in schema.function_opset_versions
    )


def _type_proto(type_str: str | None) -> onnx.TypeProto | None:
    if type_str is None or not type_str.startswith("tensor("):
        return None
    elem = type_str[7:-1].upper()
    if elem not in onnx.TensorProto.DataType.keys():  # noqa: SIM118 - an enum wrapper, not a dict
        return None
    return onnx.helper.make_tensor_type_proto(onnx.TensorProto.DataType.Value(elem), None)


def _with_defaults(node: onnx.NodeProto, schema: Any) -> onnx.NodeProto:
    """Copy of the node with schema default attributes filled in, as ORT does before building a
    context-dependent body (the builders read attributes from the node)."""
    out = onnx.NodeProto()
    out.CopyFrom(node)
    present = {a.name for a in node.attribute}
    for name, attr in schema.attributes.items():
        if name not in present and attr.default_value.type != onnx.AttributeProto.UNDEFINED:
            default = onnx.AttributeProto()
            default.CopyFrom(attr.default_value)
            default.name = name
            out.attribute.append(default)
    return out


def expand(record: NodeRecord, opset_imports: dict[str, int]) -> list[NodeRecord] | None:
    """The body nodes of a function op, with types, named "<node>/<body op>_<i>"; None when the op
    has no body at this opset or the body cannot be built for these types."""
    from analyzer.sources.onnx_inventory import build_inventory

    if record.proto is None or record.since_version is None:
        return None
    version = record.since_version
    try:
        schema: Any = onnx.defs.get_schema(record.op, version, record.domain)
    except onnx.defs.SchemaError:
        return None
    node = _with_defaults(record.proto, schema)
    input_types = [_type_proto(t) for t in record.input_types]
    fn_bytes = b""
    try:
        if schema.has_context_dependent_function:
            typed = [t.SerializeToString() for t in input_types if t is not None]
            if len(typed) == sum(1 for i in node.input if i):
                fn_bytes = schema.get_context_dependent_function_with_opset_version(
                    version, node.SerializeToString(), typed
                )
        if not fn_bytes and can_expand(record.op, record.domain, version):
            fn_bytes = schema.get_function_with_opset_version(version)
    except Exception:  # noqa: BLE001 - a builder that rejects these types means "no body"
        return None
    if not fn_bytes:
        return None
    fn = onnx.FunctionProto.FromString(fn_bytes)
    if not fn.node:
        return None
    fn.name = record.op
    fn.domain = _EXPAND_DOMAIN
    for attr in node.attribute:
        if attr.name not in fn.attribute:
            fn.attribute.append(attr.name)
    for i, body_node in enumerate(fn.node):
        body_node.name = f"{record.name}/{body_node.op_type}_{i}"
    call = onnx.NodeProto()
    call.CopyFrom(node)
    call.domain = _EXPAND_DOMAIN
    inputs: list[onnx.ValueInfoProto] = []
    for name, tp in zip(node.input, input_types, strict=False):
        if name and not any(v.name == name for v in inputs):
            inputs.append(onnx.helper.make_value_info(name, tp or onnx.TypeProto()))
    outputs = [onnx.helper.make_value_info(o, onnx.TypeProto()) for o in node.output if o]
    graph = onnx.helper.make_graph([call], "expand", inputs, outputs)
    # The body is written for its own opset imports (e.g. LayerNormalization-17's body uses
    # ReduceMean with an axes attribute): resolve its nodes there, not at the model's opset.
    opsets = dict(opset_imports)
    for imp in fn.opset_import:
        opsets[imp.domain] = imp.version
    opsets[_EXPAND_DOMAIN] = 1
    model = onnx.helper.make_model(
        graph,
        functions=[fn],
        opset_imports=[onnx.helper.make_opsetid(d, v) for d, v in opsets.items()],
    )
    try:
        model = onnx.inliner.inline_local_functions(model)
        model = onnx.shape_inference.infer_shapes(model)
    except Exception:  # noqa: BLE001
        return None
    body = build_inventory(model).nodes
    return [
        NodeRecord(
            name=_strip_call_counter(n.name),
            op=n.op,
            domain=n.domain,
            opset=n.opset,
            since_version=n.since_version,
            input_types=n.input_types,
            output_types=n.output_types,
            inputs=n.inputs,
            outputs=n.outputs,
            graph=record.graph,
            location=record.location,
            proto=n.proto,
        )
        for n in body
    ]


def _strip_call_counter(name: str) -> str:
    """The inliner appends "__<n>" to body node names; drop it to keep the names we chose."""
    head, sep, tail = name.rpartition("__")
    return head if sep and tail.isdigit() else name
