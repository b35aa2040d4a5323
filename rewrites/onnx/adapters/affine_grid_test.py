"""affine_grid: AffineGrid-20 below 20 as a constant base grid MatMul theta transposed, checked
against onnxruntime's own AffineGrid-20 kernel."""

from __future__ import annotations

import numpy as np
import onnx
import onnx.checker
import onnx.parser
import pytest

from analyzer.runtime.session import create_session
from rewrites.onnx.adapters.affine_grid import base_grid, coordinates
from rewrites.onnx.adapters.testing import adapter_note
from rewrites.onnx.target_check import delivered_opset
from rewrites.passes import apply

#: (size, theta's shape, grid's shape)
CASES = {
    "2d": ([2, 3, 4, 5], "2,2,3", "2,4,5,2"),
    "3d": ([2, 1, 3, 4, 5], "2,3,4", "2,3,4,5,3"),
}


def _model(case: str, align: int, elem: str = "float", size_input: bool = False
           ) -> onnx.ModelProto:
    size, theta, grid = CASES[case]
    n = len(size)
    if size_input:  # size computed at run time: a graph input
        return onnx.parser.parse_model(f"""
<ir_version: 9, opset_import: ["" : 20]>
g ({elem}[{theta}] theta, int64[{n}] size) => ({elem}[?,?,?,?] grid) {{
    grid = AffineGrid <align_corners = {align}> (theta, size)
}}""")
    values = ", ".join(map(str, size))
    return onnx.parser.parse_model(f"""
<ir_version: 9, opset_import: ["" : 20]>
g ({elem}[{theta}] theta) => ({elem}[{grid}] grid) <int64[{n}] size = {{{values}}}> {{
    grid = AffineGrid <align_corners = {align}> (theta, size)
}}""")


def _theta(model: onnx.ModelProto, seed: int = 0) -> np.ndarray:
    dims = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    dtype = np.float64 if model.graph.input[0].type.tensor_type.elem_type == 11 else np.float32
    return np.random.default_rng(seed).standard_normal(dims).astype(dtype)


def test_coordinates_are_affine_grids_definition() -> None:
    assert coordinates(4, True).tolist() == [-1.0, -1 / 3, 1 / 3, 1.0]
    assert coordinates(4, False).tolist() == [-0.75, -0.25, 0.25, 0.75]
    assert coordinates(1, False).tolist() == [0.0]
    grid = base_grid([2, 3], True)  # H = 2, W = 3: rows (h, w), columns x, y, 1
    assert grid.shape == (6, 3)
    assert grid[1].tolist() == [0.0, -1.0, 1.0] and grid[3].tolist() == [-1.0, 1.0, 1.0]


@pytest.mark.parametrize("elem", ["float", "double"])
@pytest.mark.parametrize("align", [0, 1])
@pytest.mark.parametrize("case", ["2d", "3d"])
@pytest.mark.parametrize("target", [17, 13, 9])
def test_affine_grid_lowers_to_ort_kernels_output(case: str, align: int, elem: str,
                                                  target: int) -> None:
    model = _model(case, align, elem)
    result = apply(model, target_opset=target)
    out = result.model
    assert result.blocked is None, result.blocked
    assert delivered_opset(out) == target
    onnx.checker.check_model(out, full_check=True)
    assert "AffineGrid" not in {n.op_type for n in out.graph.node}
    assert "affine-grid adapter" in adapter_note(result)
    for seed in range(3):
        theta = _theta(model, seed)
        want = create_session(model).run(None, {"theta": theta})[0]  # ORT's AffineGrid-20
        got = create_session(out).run(None, {"theta": theta})[0]
        assert got.shape == want.shape and got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)


def test_identity_theta_gives_the_base_grid_of_ort() -> None:
    """With theta = [I | 0] the grid is the base grid itself: the coordinates agree with
    onnxruntime's to float32 rounding."""
    model = _model("3d", 0)
    theta = np.tile(np.eye(3, 4, dtype=np.float32), (2, 1, 1))
    want = create_session(model).run(None, {"theta": theta})[0]
    out = apply(model, target_opset=13).model
    got = create_session(out).run(None, {"theta": theta})[0]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-7)


def test_size_computed_at_run_time_stays_a_blocker() -> None:
    result = apply(_model("2d", 0, size_input=True), target_opset=17)
    assert result.blocked is not None
    assert "AffineGrid" in result.blocked.text
    assert delivered_opset(result.model) != 17


def test_one_pixel_dim_with_align_corners_stays_a_blocker() -> None:
    model = onnx.parser.parse_model("""
<ir_version: 9, opset_import: ["" : 20]>
g (float[1,2,3] theta) => (float[1,1,4,2] grid) <int64[4] size = {1, 3, 1, 4}> {
    grid = AffineGrid <align_corners = 1> (theta, size)
}""")
    result = apply(model, target_opset=17)
    assert result.blocked is not None and "AffineGrid" in result.blocked.text
