"""trilu_mask: Trilu-14 below 14 as Where(constant mask, x, 0)."""

from __future__ import annotations

import numpy as np
import onnx
import onnx.parser
import pytest

from rewrites.onnx.adapters.testing import converted
from rewrites.onnx.adapters.trilu_mask import triangle
from rewrites.passes import apply


def _model(upper: int, k: int, dims: str = "2,4,5") -> onnx.ModelProto:
    return onnx.parser.parse_model(f"""
<ir_version: 9, opset_import: ["" : 18]>
g (float[{dims}] x) => (float[{dims}] y) <int64 k = {{{k}}}> {{
    y = Trilu <upper = {upper}> (x, k)
}}""")


def test_triangle_is_numpy_triu_and_tril() -> None:
    ones = np.ones((4, 5))
    assert (triangle(4, 5, 1, True) == np.triu(ones, 1).astype(bool)).all()
    assert (triangle(4, 5, -1, False) == np.tril(ones, -1).astype(bool)).all()


@pytest.mark.parametrize("upper,k", [(1, 0), (1, 2), (0, -1), (0, 1)])
@pytest.mark.parametrize("target", [13, 9])
def test_trilu_lowers(upper: int, k: int, target: int) -> None:
    _, out = converted(_model(upper, k), target)
    assert [n.op_type for n in out.graph.node].count("Where") == 1


def test_dynamic_dims_stay_a_blocker() -> None:
    result = apply(_model(1, 0, "2,N,5"), target_opset=13)
    assert result.blocked is not None and "Trilu" in result.blocked.text
