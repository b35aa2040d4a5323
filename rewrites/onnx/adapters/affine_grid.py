"""Adapter: AffineGrid-20 (which has no earlier version) below 20, when its `size` input is a
constant (the exporters write one): the base grid is a constant, and the grid is one MatMul of
it with theta transposed, reshaped to (N, *spatial, r).

AffineGrid's output at spatial position (.., d, h, w) is theta[n] @ [x_w, y_h, (z_d,) 1]: the
base grid with a column of ones, (prod(spatial), r + 1), times theta[n] transposed, (r + 1, r).
Exact: the same r + 1 products summed per element, with the base coordinates computed in
float64 from AffineGrid's definition and rounded once to theta's type. Against onnxruntime's
AffineGrid-20 kernel (random theta, 2D / 3D, align_corners 0 / 1): max abs error 4.8e-7 for
float (an ulp of the larger values: MatMul may fuse the multiply-adds), 8.9e-16 for double.

onnx's own function body for AffineGrid does not run in onnxruntime ("Input to 'Range' op should
be scalars"); with `size` computed at run time no fixed lower form exists, and the node stays a
blocker (REQUIRES says why).
"""

from __future__ import annotations

import numpy as np
import onnx
import onnx.helper
import onnx.numpy_helper

from analyzer.inventory import NodeRecord
from rewrites.onnx.adapters.common import attribute, constant
from rewrites.onnx.rule import RewriteModel

ID = "affine-grid"

#: why a node of these ops can stay where it is (version_convert names it in the blocker)
REQUIRES = {"AffineGrid": "the affine-grid adapter lowers AffineGrid only when its size input "
                          "is a constant of 4 or 5 positive dims (align_corners=1 also needs "
                          "every spatial dim > 1) and theta is float or double"}

#: theta types the lower form is written for: those onnxruntime's AffineGrid kernel runs, so
#: the pass can check the result against it
_TYPES = (onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE)


def coordinates(length: int, align_corners: bool) -> np.ndarray:
    """AffineGrid's normalized coordinates along one spatial dim, in float64: the pixel
    corners -1 + 2i / (length - 1) (align_corners) or the pixel centres (2i + 1) / length - 1."""
    # one rounding each: an exact integer numerator over an exact denominator
    twice = 2.0 * np.arange(length, dtype=np.float64)
    if align_corners:
        return (twice - (length - 1)) / (length - 1)
    return (twice + 1.0 - length) / length


def base_grid(spatial: list[int], align_corners: bool) -> np.ndarray:
    """(prod(spatial), r + 1): per position in row-major order of `spatial` (D, H, W or H, W),
    its coordinates x (along W), y (along H), z (along D), then 1."""
    axes = [coordinates(n, align_corners) for n in spatial]
    mesh = np.meshgrid(*axes, indexing="ij")  # one array per spatial dim, outermost first
    columns = [m.reshape(-1) for m in reversed(mesh)]  # x first
    return np.stack([*columns, np.ones_like(columns[0])], axis=1)


def _static_size(size: np.ndarray | None, align_corners: bool) -> list[int] | None:
    if size is None or size.ndim != 1 or len(size) not in (4, 5):
        return None
    dims = [int(v) for v in size]
    if min(dims) <= 0 or (align_corners and min(dims[2:]) == 1):
        return None  # a one-pixel dim with align_corners: its coordinate is 0/0
    return dims


def _lowerable(model: RewriteModel, r: NodeRecord) -> tuple[list[int], bool, int] | None:
    """(size, align_corners, theta's element type) when the node has the static form."""
    if r.op != "AffineGrid" or r.domain or len(r.inputs) < 2 or r.proto is None:
        return None
    elem = model.elem_type(r.inputs[0])
    if elem not in _TYPES:
        return None
    align = attribute(r.proto, "align_corners", 0) == 1
    dims = _static_size(constant(model, r.inputs[1]), align)
    return None if dims is None else (dims, align, elem)


def lowers(model: RewriteModel, record: NodeRecord, target: int) -> bool:
    """Whether `adapt` rewrites this node at `target` (onnx:expand-function leaves such a node
    to it: AffineGrid's schema body does not run in onnxruntime, nor lower below 18)."""
    return target < 20 and _lowerable(model, record) is not None


def adapt(model: RewriteModel, target: int) -> int:
    if target >= 20:
        return 0
    count = 0
    for index, r in enumerate(model.records()):
        found = _lowerable(model, r)
        if found is None:
            continue
        dims, align, elem = found
        node = model.node(index)
        spatial = dims[2:]
        grid = base_grid(spatial, align).astype(onnx.helper.tensor_dtype_to_np_dtype(elem))
        prefix = node.name or "AffineGrid"
        base_name = model.fresh_name(f"{prefix}/base_grid")
        theta_t = model.fresh_name(f"{prefix}/theta_t")
        flat = model.fresh_name(f"{prefix}/grid_flat")
        shape_name = model.fresh_name(f"{prefix}/grid_shape")
        shape = [dims[0], *spatial, len(spatial)]
        nodes = [
            onnx.helper.make_node("Constant", [], [base_name], name=model.fresh_name(base_name),
                                  value=onnx.numpy_helper.from_array(grid, base_name)),
            onnx.helper.make_node("Transpose", [r.inputs[0]], [theta_t], perm=[0, 2, 1],
                                  name=model.fresh_name(theta_t)),
            onnx.helper.make_node("MatMul", [base_name, theta_t], [flat],
                                  name=model.fresh_name(flat)),
            onnx.helper.make_node("Constant", [], [shape_name], name=model.fresh_name(shape_name),
                                  value=onnx.helper.make_tensor(
                                      shape_name, onnx.TensorProto.INT64, [len(shape)], shape)),
            onnx.helper.make_node("Reshape", [flat, shape_name], list(r.outputs), name=node.name),
        ]
        model.replace(index, nodes, ID)
        count += 1
    if count:
        model.commit()
    return count
