"""tf:cumsum-10: TF's Cumsum below opset 11 as a MatMul with a triangular 0/1 matrix.

Measured gap: tf2onnx converts Cumsum only from opset 11 (ONNX CumSum-11); keras.ops.cumsum
and Keras's sparsemax use it. Below 11, for an axis whose length is known when converting:
the axis is moved last, multiplied by T[i, j] = 1 where i <= j (i < j for exclusive; reversed
for reverse), and moved back. Exact as mathematics (the sum is a dot product with ones;
float32 summation order may differ in the last bits). The axis must be a constant and its
length static; otherwise the handler fails and the conversion reports the op unsupported.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from rewrites.tensorflow._onnx import become, np_dtype, op
from rewrites.tensorflow.rule import Handler, HandlerRule, TFTarget


def triangle(n: int, exclusive: bool, reverse: bool, dtype: Any) -> np.ndarray:
    """T with y = x @ T the cumulative sum of x along its last axis."""
    i, j = np.indices((n, n))
    keep = (i >= j) if reverse else (i <= j)
    if exclusive:
        keep &= i != j
    return keep.astype(dtype)


def _cumsum(ctx: Any, node: Any, **kwargs: Any) -> None:
    from tf2onnx import utils

    x, n = node.input[0], node.name
    axis_node = ctx.get_node_by_output(node.input[1])
    if axis_node is None or not axis_node.is_const():
        raise ValueError("tf:cumsum-10: the axis is not a constant")
    shape = ctx.get_shape(x)
    if shape is None:
        raise ValueError("tf:cumsum-10: the input's rank is unknown")
    rank = len(shape)
    axis = int(axis_node.get_tensor_value()) % rank
    length = shape[axis]
    if length is None or length < 0:
        raise ValueError("tf:cumsum-10: the cumulated axis has no static length")
    tri = triangle(length, bool(node.get_attr_value("exclusive", False)),
                   bool(node.get_attr_value("reverse", False)), np_dtype(ctx, x))
    t = ctx.make_const(utils.make_name(f"{n}_tri"), tri).output[0]
    perm = [d for d in range(rank) if d != axis] + [axis]
    moved = x if axis == rank - 1 else op(ctx, "Transpose", [x], f"{n}_t", perm=perm)
    if axis == rank - 1:
        become(ctx, node, "MatMul", [moved, t])
        return
    summed = op(ctx, "MatMul", [moved, t], f"{n}_mm")
    become(ctx, node, "Transpose", [summed], perm=[perm.index(d) for d in range(rank)])


class CumsumBelow11Rule(HandlerRule):
    id = "tf:cumsum-10"
    summary = "Cumsum below opset 11 as MatMul with a triangular matrix (static axis length)"
    targets = (TFTarget("Cumsum", 9, 10),)
    exact = True

    def handlers(self) -> Mapping[str, tuple[int, Handler]]:
        return {"Cumsum": (9, _cumsum)}


RULE = CumsumBelow11Rule()
