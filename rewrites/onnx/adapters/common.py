"""What the exact-lower-form adapters of onnx:version-convert share: the private domain that
carries a node already written in its target-version form past onnx.version_converter, and
readers for constant inputs and target schemas."""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
import onnx.defs
import onnx.helper
import onnx.numpy_helper

from analyzer.inventory import NodeRecord
from analyzer.onnx_weights import initializer_values, tensor_value
from analyzer.sources.onnx_walk import to_default_domain
from rewrites.onnx.rule import RewriteModel

#: A node rewritten into its form at the target opset travels under this domain while onnx
#: converts the rest (the converter would otherwise apply its own adapters to it, written for
#: the source version's form), and is put back into the default domain after.
ADAPTED_DOMAIN = "onnx_preflight.adapted"


def schema_at(op: str, opset: int) -> Any:
    """The default-domain schema of `op` in force at `opset`, or None."""
    try:
        return onnx.defs.get_schema(op, opset, "")
    except onnx.defs.SchemaError:
        return None


def constants(model: RewriteModel) -> dict[str, np.ndarray]:
    """Values of the main graph's initializers and of every Constant node's `value`."""
    # a weight still in its input file is read only if looked up (analyzer.sources.deferred)
    out = initializer_values(model.proto.graph.initializer)
    for r in model.records():
        if r.op == "Constant" and not r.domain and r.proto is not None:
            value = next((a.t for a in r.proto.attribute if a.name == "value"), None)
            if value is not None:
                out[r.outputs[0]] = onnx.numpy_helper.to_array(value)
    return out


def constant(model: RewriteModel, name: str) -> np.ndarray | None:
    """The value of one main-graph initializer or Constant node output `name`, or None (reads
    only that tensor, unlike `constants`)."""
    found = next((i for i in model.proto.graph.initializer if i.name == name), None)
    if found is not None:
        return tensor_value(found)  # read on demand when it is still in its file
    index = model.producer(name)
    if index is None:
        return None
    r = model.records()[index]
    if r.op != "Constant" or r.domain or r.proto is None:
        return None
    value = next((a.t for a in r.proto.attribute if a.name == "value"), None)
    return None if value is None else onnx.numpy_helper.to_array(value)


def types_allowed(record: NodeRecord, schema: Any) -> bool:
    """Every known input/output type of the node is allowed by `schema`'s constraints."""
    allowed = {c.type_param_str: set(c.allowed_type_strs) for c in schema.type_constraints}
    for params, types in ((schema.inputs, record.input_types),
                          (schema.outputs, record.output_types)):
        for i, t in enumerate(types):
            if not t or not params:
                continue
            variadic = params[-1].option == onnx.defs.OpSchema.FormalParameterOption.Variadic
            if i >= len(params) and not variadic:
                continue  # an input the adapter removes (Pad's pads, Reduce's axes)
            param = params[min(i, len(params) - 1)]
            if param.type_str in allowed and t not in allowed[param.type_str]:
                return False
    return True


def int64_constant(model: RewriteModel, base: str, values: list[int]) -> tuple[onnx.NodeProto, str]:
    """A Constant node holding a 1-D int64 tensor, and its output's name (a node, not an
    initializer, so it also works inside If / Loop bodies)."""
    name = model.fresh_name(base)
    node = onnx.helper.make_node(
        "Constant", [], [name], name=model.fresh_name(f"{base}/Constant"),
        value=onnx.helper.make_tensor(name, onnx.TensorProto.INT64, [len(values)], values))
    return node, name


def attribute(node: onnx.NodeProto, name: str, default: Any = None) -> Any:
    found = next((a for a in node.attribute if a.name == name), None)
    return default if found is None else onnx.helper.get_attribute_value(found)


def adapted(op: str, inputs: list[str], outputs: list[str], name: str,
            **attrs: Any) -> onnx.NodeProto:
    """A node in its target-version form, under ADAPTED_DOMAIN (put back by restore)."""
    while inputs and not inputs[-1]:
        inputs = inputs[:-1]
    return onnx.helper.make_node(op, inputs, outputs, name=name, domain=ADAPTED_DOMAIN,
                                 **{k: v for k, v in attrs.items() if v is not None})


def restore(model: onnx.ModelProto) -> int:
    """Put adapted nodes back into the default domain and drop the private import."""
    return to_default_domain(model, ADAPTED_DOMAIN)
