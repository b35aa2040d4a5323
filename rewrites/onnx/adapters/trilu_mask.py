"""Adapter: Trilu-14 (which has no earlier version) below 14, when its last two dims are static
and k is a constant: Where(mask, x, 0) with the triangle as a constant boolean mask (Where-9).
Exact: every element is either x's own value or a zero, as Trilu defines it."""

from __future__ import annotations

import numpy as np
import onnx
import onnx.helper
import onnx.numpy_helper

from rewrites.onnx.adapters.common import attribute, constants
from rewrites.onnx.rule import RewriteModel

ID = "trilu-mask"


def triangle(rows: int, cols: int, k: int, upper: bool) -> np.ndarray:
    """Trilu's kept positions: column - row >= k (upper) or <= k (lower)."""
    diff = np.arange(cols)[None, :] - np.arange(rows)[:, None]
    return diff >= k if upper else diff <= k


def adapt(model: RewriteModel, target: int) -> int:
    if target >= 14:
        return 0
    values = None
    count = 0
    for index, r in enumerate(model.records()):
        if r.op != "Trilu" or r.domain:
            continue
        shape = model.shape(r.inputs[0])
        elem = model.elem_type(r.inputs[0])
        if shape is None or len(shape) < 2 or None in shape[-2:] or elem is None:
            continue
        k = 0
        if len(r.inputs) > 1 and r.inputs[1]:
            values = constants(model) if values is None else values
            found = values.get(r.inputs[1])
            if found is None:
                continue
            k = int(found.reshape(-1)[0])
        node = model.node(index)
        rows, cols = int(shape[-2]), int(shape[-1])  # type: ignore[arg-type]
        mask = triangle(rows, cols, k, attribute(node, "upper", 1) == 1)
        prefix = node.name or "Trilu"
        mask_name = model.fresh_name(f"{prefix}/mask")
        zero_name = model.fresh_name(f"{prefix}/zero")
        zero = onnx.numpy_helper.from_array(
            np.zeros((), dtype=onnx.helper.tensor_dtype_to_np_dtype(elem)), zero_name)
        nodes = [
            onnx.helper.make_node("Constant", [], [mask_name], name=model.fresh_name(mask_name),
                                  value=onnx.numpy_helper.from_array(mask, mask_name)),
            onnx.helper.make_node("Constant", [], [zero_name], name=model.fresh_name(zero_name),
                                  value=zero),
            onnx.helper.make_node("Where", [mask_name, r.inputs[0], zero_name], list(r.outputs),
                                  name=node.name),
        ]
        model.replace(index, nodes, ID)
        count += 1
    if count:
        model.commit()
    return count
