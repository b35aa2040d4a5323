"""Adapters to the opset-9 forms of ops whose later versions moved attributes to inputs or
renamed the op, written out when the lower form computes the same:

* Slice-10+ with constant starts / ends / axes and unit steps -> Slice-1 (attributes), below 10;
* TopK-10+ with a constant K, largest=1 and sorted=1 -> TopK-1 (attribute k), below 10;
* ScatterElements-11+ with reduction "none" and constant non-negative indices -> Scatter-9
  (the same op under its old name; negative indices only from 11), for targets 9 and 10;
* Gemm-11+ without C -> Gemm with a zero C of shape [1] (C is required below 11; adding 0 leaves
  every value as it was), below 11;
* ThresholdedRelu-10 (none before 10) -> Where(Greater(x, alpha), x, 0), below 10;
* DequantizeLinear-10+ (none before 10) of int8 / uint8 with a scalar float scale and zero point
  -> (Cast(x) - Cast(zero point)) * scale, below 10 (8-bit values and their difference are
  exact in float, so the product is the kernel's).

Left alone otherwise (the conversion then says why)."""

from __future__ import annotations

import numpy as np
import onnx
import onnx.helper
import onnx.numpy_helper

from analyzer.inventory import NodeRecord
from rewrites.onnx.adapters.common import (
    ADAPTED_DOMAIN,
    adapted,
    attribute,
    constants,
    schema_at,
    types_allowed,
)
from rewrites.onnx.rule import RewriteModel

ID = "attribute-forms"
#: the op whose schema at the target types the written form
_LOWER_OP = {"ScatterElements": "Scatter", "ThresholdedRelu": "Greater",
             "DequantizeLinear": "Mul"}
#: ThresholdedRelu's and DequantizeLinear's forms check their types themselves
_TYPES_CHECKED = frozenset({"Slice", "TopK", "ScatterElements", "Gemm"})
_FLOATS = frozenset({onnx.TensorProto.FLOAT16, onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE})


def adapt(model: RewriteModel, target: int) -> int:
    if target >= 11:
        return 0
    values = constants(model)
    count = 0
    for index, r in enumerate(model.records()):
        if r.domain or r.proto is None:
            continue
        rewrite = _FORMS.get(r.op)
        if rewrite is None:
            continue
        low = schema_at(_LOWER_OP.get(r.op, r.op), target)
        if low is None or (r.op in _TYPES_CHECKED and not types_allowed(r, low)):
            continue
        nodes = rewrite(model, r, model.node(index), values, target)
        if nodes:
            model.replace(index, nodes, ID)
            count += 1
    if count:
        model.ensure_import(ADAPTED_DOMAIN, 1)
        model.commit()
    return count


def _ints(values: dict[str, np.ndarray], name: str) -> list[int] | None:
    found = values.get(name) if name else None
    return None if found is None else [int(v) for v in found.reshape(-1).tolist()]


def _slice(model: RewriteModel, r: NodeRecord, node: onnx.NodeProto,
           values: dict[str, np.ndarray], target: int) -> list[onnx.NodeProto] | None:
    if target >= 10 or (r.since_version or 0) < 10:
        return None
    inputs = list(r.inputs) + [""] * (5 - len(r.inputs))
    starts, ends = _ints(values, inputs[1]), _ints(values, inputs[2])
    axes = _ints(values, inputs[3]) if inputs[3] else None
    steps = _ints(values, inputs[4]) if inputs[4] else None
    if starts is None or ends is None or (inputs[3] and axes is None):
        return None
    if inputs[4] and (steps is None or any(s != 1 for s in steps)):
        return None
    if axes is not None and any(a < 0 for a in axes):
        rank = model.rank(r.inputs[0])
        if rank is None:
            return None
        axes = [a + rank if a < 0 else a for a in axes]
    return [adapted("Slice", [r.inputs[0]], list(r.outputs), node.name, starts=starts,
                    ends=ends, axes=axes)]


def _topk(model: RewriteModel, r: NodeRecord, node: onnx.NodeProto,
          values: dict[str, np.ndarray], target: int) -> list[onnx.NodeProto] | None:
    if target >= 10 or (r.since_version or 0) < 10:
        return None
    k = _ints(values, r.inputs[1] if len(r.inputs) > 1 else "")
    if k is None or len(k) != 1:
        return None
    if attribute(node, "largest", 1) != 1 or attribute(node, "sorted", 1) != 1:
        return None
    return [adapted("TopK", [r.inputs[0]], list(r.outputs), node.name, k=k[0],
                    axis=attribute(node, "axis", -1))]


def _scatter(model: RewriteModel, r: NodeRecord, node: onnx.NodeProto,
             values: dict[str, np.ndarray], target: int) -> list[onnx.NodeProto] | None:
    if attribute(node, "reduction", b"none") != b"none":
        return None
    indices = values.get(r.inputs[1])
    if indices is None or (indices < 0).any():
        return None
    axis = int(attribute(node, "axis", 0))
    if axis < 0:
        rank = model.rank(r.inputs[0])
        if rank is None:
            return None
        axis += rank
    return [adapted("Scatter", list(r.inputs), list(r.outputs), node.name, axis=axis)]


def _gemm(model: RewriteModel, r: NodeRecord, node: onnx.NodeProto,
          values: dict[str, np.ndarray], target: int) -> list[onnx.NodeProto] | None:
    if len(r.inputs) > 2 and r.inputs[2]:
        return None
    elem = model.elem_type(r.inputs[0])
    if elem is None:
        return None
    name = model.fresh_name(f"{node.name or 'Gemm'}/C")
    zero = onnx.helper.make_node(
        "Constant", [], [name], name=model.fresh_name(f"{name}/Constant"),
        value=onnx.helper.make_tensor(name, elem, [1], [0]))
    new = onnx.helper.make_node("Gemm", [r.inputs[0], r.inputs[1], name], list(r.outputs),
                                name=node.name, domain=ADAPTED_DOMAIN)
    new.attribute.extend(node.attribute)
    return [zero, new]


def _thresholded_relu(model: RewriteModel, r: NodeRecord, node: onnx.NodeProto,
                      values: dict[str, np.ndarray], target: int) -> list[onnx.NodeProto] | None:
    elem = model.elem_type(r.inputs[0])
    if target >= 10 or elem not in _FLOATS:
        return None
    prefix = node.name or "ThresholdedRelu"
    alpha, zero, above = (model.fresh_name(f"{prefix}/{n}") for n in ("alpha", "zero", "above"))
    dtype = onnx.helper.tensor_dtype_to_np_dtype(elem)
    consts = [onnx.helper.make_node("Constant", [], [name], name=model.fresh_name(name),
                                    value=onnx.numpy_helper.from_array(np.array(v, dtype), name))
              for name, v in ((alpha, attribute(node, "alpha", 1.0)), (zero, 0))]
    return [*consts, onnx.helper.make_node("Greater", [r.inputs[0], alpha], [above],
                                           name=model.fresh_name(f"{prefix}/Greater")),
            onnx.helper.make_node("Where", [above, r.inputs[0], zero], list(r.outputs),
                                  name=node.name)]


def _dequantize(model: RewriteModel, r: NodeRecord, node: onnx.NodeProto,
                values: dict[str, np.ndarray], target: int) -> list[onnx.NodeProto] | None:
    if target >= 10 or model.elem_type(r.inputs[0]) not in _EIGHT_BIT:
        return None
    scale = r.inputs[1]
    zero = r.inputs[2] if len(r.inputs) > 2 else ""
    if model.elem_type(scale) != onnx.TensorProto.FLOAT:
        return None
    if any(name and model.shape(name) not in ((), (1,)) for name in (scale, zero)):
        return None  # per-axis or blocked quantization: a broadcast form is not written here
    prefix = node.name or "DequantizeLinear"
    as_float = model.fresh_name(f"{prefix}/x")
    nodes = [onnx.helper.make_node("Cast", [r.inputs[0]], [as_float], to=onnx.TensorProto.FLOAT,
                                   name=model.fresh_name(f"{prefix}/Cast"))]
    shifted = as_float
    if zero:
        zero_float, shifted = (model.fresh_name(f"{prefix}/{n}") for n in ("zero", "shifted"))
        nodes += [onnx.helper.make_node("Cast", [zero], [zero_float], to=onnx.TensorProto.FLOAT,
                                        name=model.fresh_name(f"{prefix}/CastZero")),
                  onnx.helper.make_node("Sub", [as_float, zero_float], [shifted],
                                        name=model.fresh_name(f"{prefix}/Sub"))]
    nodes.append(onnx.helper.make_node("Mul", [shifted, scale], list(r.outputs),
                                       name=node.name))
    return nodes


_EIGHT_BIT = frozenset({onnx.TensorProto.INT8, onnx.TensorProto.UINT8})
_FORMS = {"Slice": _slice, "TopK": _topk, "ScatterElements": _scatter, "Gemm": _gemm,
          "ThresholdedRelu": _thresholded_relu, "DequantizeLinear": _dequantize}
