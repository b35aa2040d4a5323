"""Expand a function op into its typed body, the way ONNX Runtime does when no provider has a
kernel for the op itself.

ORT's partitioner inlines a node that no execution provider claimed when the node's schema has a
function body (plain or context dependent), then partitions the body's nodes. Which body ORT
takes (measured on onnxruntime 1.32 by tests/analyzer/test_ort_agreement.py, consistent with
onnx's OpSchema::GetFunction / BuildContextDependentFunction):

* plain body: the newest one registered at or below the model's ai.onnx opset, and only if no
  ai.onnx op it uses changed between the body's version and that opset (`plain_body_version`);
* context-dependent body: built at the node's since_version (ORT passes no version) from the
  node, its attributes with schema defaults, and its input types;
* contrib ops (com.microsoft Gelu, FastGelu, QuickGelu): bodies that onnxruntime registers
  itself, measured into opsets/data/ort_inlining.json (`opsets.ort_inlining`).

Either way the inlined nodes join the graph, so they resolve at the model's opset imports, not at
the body's own. The body is inlined into a one-node model with onnx's inliner (which substitutes
attribute references) and typed by shape inference.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import onnx
import onnx.defs
import onnx.helper
import onnx.inliner
import onnx.numpy_helper
import onnx.parser
import onnx.shape_inference

from analyzer.inventory import NodeRecord
from analyzer.sources.onnx_inventory import build_inventory
from opsets.ort_inlining import OrtFunction, ort_function
from opsets.tables import load_schemas

_EXPAND_DOMAIN = "onnx_preflight.expand"


def _schema(op: str, version: int, domain: str) -> Any:
    try:
        # Any: onnx's type stubs omit the function-body accessors that OpSchema has at runtime.
        return onnx.defs.get_schema(op, version, domain)
    except onnx.defs.SchemaError:
        return None


def _resolved_since(op: str, domain: str, opset: int) -> int | None:
    schema = _schema(op, opset, domain)
    return int(schema.since_version) if schema is not None else None


def _unchanged_between(fn: onnx.FunctionProto, body_version: int, opset: int) -> bool:
    """onnx's OpSchema::ValidateReferencedOpsInFuncton: every ai.onnx op that the body uses
    resolves to the same schema at the model's opset as at the body's own version."""
    if body_version == opset:
        return True
    return all(
        _resolved_since(n.op_type, "", opset) == _resolved_since(n.op_type, "", body_version)
        for n in fn.node
        if n.domain in ("", "ai.onnx")
    )


@functools.lru_cache(maxsize=4096)
def plain_body_version(
    op: str, domain: str, since_version: int, onnx_opset: int | None
) -> int | None:
    """The version of the plain function body ORT inlines, or None when it inlines none.

    ORT (Node::TryGetFunctionProto) asks onnx for `GetFunction(<the model's ai.onnx opset>,
    validate=true)`: the newest body registered at or below the model's opset, and only if no op
    that body uses changed between the body's version and the model's opset. This is measured
    behaviour of onnxruntime 1.32 (tests/analyzer/test_ort_agreement.py): Elu-6 (body at 18) is
    inlined at opset 18 but not at 17 (no body yet) nor at 19 (Cast and Constant changed in 19);
    LeakyRelu-16 (body at 16) is inlined at opsets 16-18 only. Without an ai.onnx import onnx
    returns the newest body, unvalidated.
    """
    schema = _schema(op, since_version, domain)
    if schema is None or not schema.has_function:
        return None
    versions = sorted(int(v) for v in schema.function_opset_versions)
    if not versions:
        return None
    if onnx_opset is None:
        return versions[-1]
    eligible = [v for v in versions if v <= onnx_opset]
    if not eligible:
        return None
    body = onnx.FunctionProto.FromString(schema.get_function_with_opset_version(eligible[-1]))
    return eligible[-1] if _unchanged_between(body, eligible[-1], onnx_opset) else None


def _element(type_str: str | None) -> str | None:
    if type_str is None or not type_str.startswith("tensor("):
        return None
    return type_str[len("tensor(") : -1]


def _contrib_body(record: NodeRecord) -> OrtFunction | None:
    """The measured ORT body for this contrib node, when ORT inlines it for the node's primary
    (first) input type and the node has exactly the inputs of the probe that measured it (a
    FastGelu with its optional bias gets another body, which the table does not hold)."""
    fn = ort_function(record.domain, record.op, record.since_version)
    if fn is None or fn.body is None or not record.input_types:
        return None
    if fn.types.get(_element(record.input_types[0]) or "") != "inlined":
        return None
    return fn if len([i for i in record.inputs if i]) == _input_count(fn.body) else None


@functools.lru_cache(maxsize=64)
def _input_count(function_text: str) -> int:
    return len(onnx.parser.parse_function(function_text).input)


def can_expand(
    op: str,
    domain: str,
    since_version: int,
    onnx_opset: int | None,
    record: NodeRecord | None = None,
) -> bool:
    """True when ORT would inline this node if no provider claims it: its schema has a
    context-dependent body (whether the builder accepts the node is only known by building it),
    a plain body that `plain_body_version` accepts at the model's ai.onnx opset, or (contrib ops,
    given the node `record`) a measured ORT body for its input type."""
    schema = _schema(op, since_version, domain)
    if schema is None:
        return record is not None and _contrib_body(record) is not None
    if schema.has_context_dependent_function:
        return True
    return plain_body_version(op, domain, since_version, onnx_opset) is not None


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


def _body(record: NodeRecord, onnx_opset: int | None) -> onnx.FunctionProto | None:
    """The body ORT would inline for this node (see the module docstring), or None."""
    schema = _schema(record.op, record.since_version or 0, record.domain)
    if schema is None:
        contrib = _contrib_body(record)
        return _retyped(contrib, _element(record.input_types[0])) if contrib else None
    node = _with_defaults(record.proto, schema)
    input_types = [_type_proto(t) for t in record.input_types]
    fn_bytes = b""
    try:
        if schema.has_context_dependent_function:
            typed = [t.SerializeToString() for t in input_types if t is not None]
            if len(typed) == sum(1 for i in node.input if i):
                fn_bytes = schema.get_context_dependent_function_with_opset_version(
                    record.since_version, node.SerializeToString(), typed
                )
        if not fn_bytes and schema.has_function:
            body_version = plain_body_version(
                record.op, record.domain, record.since_version, onnx_opset
            )
            if body_version is not None:
                fn_bytes = schema.get_function_with_opset_version(body_version)
    except Exception:  # noqa: BLE001 - a builder that rejects these types means "no body"
        return None
    return onnx.FunctionProto.FromString(fn_bytes) if fn_bytes else None


def _retyped(fn: OrtFunction, element: str | None) -> onnx.FunctionProto | None:
    """The measured body with its constants converted from the probed element type to the
    node's (ORT's builders type a body's constants like its input)."""
    assert fn.body is not None
    proto = onnx.parser.parse_function(fn.body)
    if element is None or element == fn.body_type:
        return proto
    source = onnx.TensorProto.DataType.Value((fn.body_type or "").upper())
    target = onnx.TensorProto.DataType.Value(element.upper())
    for node in proto.node:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.TENSOR and attr.t.data_type == source:
                values = onnx.numpy_helper.to_array(attr.t).astype(float)
                attr.t.CopyFrom(
                    onnx.helper.make_tensor("", target, values.shape, values.ravel().tolist())
                )
    return proto


def expand(record: NodeRecord, opset_imports: dict[str, int]) -> list[NodeRecord] | None:
    """The body nodes of a function op, with types, named "<node>/<body op>_<i>"; None when the op
    has no body at this opset or the body cannot be built for these types."""

    if record.proto is None or record.since_version is None:
        return None
    fn = _body(record, opset_imports.get(""))
    if fn is None or not fn.node:
        return None
    schema = _schema(record.op, record.since_version, record.domain)
    node = _with_defaults(record.proto, schema) if schema is not None else record.proto
    input_types = [_type_proto(t) for t in record.input_types]
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
    # ORT resolves the inlined nodes in the graph's opset imports (CenterCropPad-18 at opset 20
    # fails on Pad-19 for bfloat16, not on Pad-18): give the body the model's imports, keeping
    # its own only for domains the model does not import.
    opsets = dict(opset_imports)
    for imp in fn.opset_import:
        if imp.domain in opsets:
            imp.version = opsets[imp.domain]
        else:
            opsets[imp.domain] = imp.version
    opsets[_EXPAND_DOMAIN] = 1
    model = onnx.helper.make_model(
        graph,
        functions=[fn],
        opset_imports=[onnx.helper.make_opsetid(d, v) for d, v in opsets.items()],
    )
    try:
        model = onnx.inliner.inline_local_functions(model)
    except Exception:  # noqa: BLE001
        return None
    try:
        model = onnx.shape_inference.infer_shapes(model)
    except Exception:  # noqa: BLE001
        return None
    body = build_inventory(model).nodes
    for n in body:
        conflict = _type_conflict(n)
        if conflict:
            raise IllTypedBody(conflict)
    return [
        dataclasses.replace(n, name=_strip_call_counter(n.name), graph=record.graph,
                            location=record.location)
        for n in body
    ]


class IllTypedBody(ValueError):
    """ORT would inline the body, and its nodes' types conflict: session creation fails."""


def _type_conflict(node: NodeRecord) -> str | None:
    """ORT's type check when it resolves the graph after inlining: the args that share a type
    constraint must have one type. onnx's own inference does not check this, and onnx's
    CenterCropPad-18 body breaks it for int32 shapes (Max(Shape(x): int64, shape: int32)), which
    ORT reports as "Type parameter (T) of Optype (Max) bound to different types"."""
    schema = load_schemas().resolve(node.domain, node.op, node.opset) if node.opset else None
    if schema is None:
        return None
    bound: dict[str, set[str]] = {}
    for params, types in ((schema.inputs, node.input_types), (schema.outputs, node.output_types)):
        for i, t in enumerate(types):
            if not t:
                continue
            param = params[min(i, len(params) - 1)] if params else None
            if param is None or param.type_str not in schema.type_constraints:
                continue
            if i >= len(params) and not (param.option == "variadic" and param.homogeneous):
                continue
            bound.setdefault(param.type_str, set()).add(t)
    for name, distinct in bound.items():
        if len(distinct) > 1:
            spelled = " and ".join(sorted(distinct))
            return f"type parameter {name} of {node.op} bound to different types ({spelled})"
    return None


def _strip_call_counter(name: str) -> str:
    """The inliner appends "__<n>" to body node names; drop it to keep the names we chose."""
    head, sep, tail = name.rpartition("__")
    return head if sep and tail.isdigit() else name
