"""A small builder for the nodes a rule inserts: fresh value and node names from the model,
Constant nodes instead of initializers (so the same code works inside If/Loop/Scan bodies, which
cannot hold initializers of the outer graph), and the opset-dependent forms (ReduceMean axes)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import onnx
import onnx.helper
import onnx.numpy_helper

from rewrites.onnx.rule import RewriteModel

AttrValue = int | float | str | bytes | list[int] | list[float] | onnx.TensorProto | None


def attribute(node: onnx.NodeProto, name: str, default: AttrValue = None) -> AttrValue:
    """The value of attribute `name`, or `default` when the node does not set it."""
    for attr in node.attribute:
        if attr.name == name:
            value: AttrValue = onnx.helper.get_attribute_value(attr)
            if isinstance(value, list):
                return list(value)
            return value
    return default


class Emitter:
    """Collects the replacement nodes for one matched node, named "<node>/<op>"."""

    def __init__(self, model: RewriteModel, prefix: str, rule: str) -> None:
        self.model = model
        self.prefix = prefix
        self.rule = rule
        self.nodes: list[onnx.NodeProto] = []

    def op(self, op_type: str, inputs: Sequence[str], out: str | None = None,
           domain: str = "", **attrs: object) -> str:
        """Append one node with one output; returns the output's name."""
        output = out or self.model.fresh_name(f"{self.prefix}/{op_type}")
        node = onnx.helper.make_node(op_type, list(inputs), [output],
                                     self.model.fresh_name(f"{self.prefix}/{op_type}"), None,
                                     domain or None)
        node.attribute.extend(onnx.helper.make_attribute(k, v) for k, v in sorted(attrs.items()))
        self.nodes.append(node)
        return output

    def const(self, value: float | int | Sequence[int] | Sequence[float],
              elem: int = onnx.TensorProto.FLOAT) -> str:
        """A Constant node holding `value` (a scalar, or a 1-D list) of element type `elem`."""
        dtype = onnx.helper.tensor_dtype_to_np_dtype(elem)
        array = np.asarray(value, dtype=dtype)
        tensor = onnx.numpy_helper.from_array(array, self.model.fresh_name(f"{self.prefix}/c"))
        return self.op("Constant", [], value=tensor)

    def reduce_mean(self, x: str, axes: list[int], opset: int, out: str | None = None) -> str:
        """ReduceMean keeping dims, in the form of `opset`: axes input from 18, attribute below."""
        if opset >= 18:
            return self.op("ReduceMean", [x, self.const(axes, onnx.TensorProto.INT64)], out=out,
                           keepdims=1)
        return self.op("ReduceMean", [x], out=out, axes=axes, keepdims=1)
