"""pad_axes: Pad-18/19 with an axes input -> full pads; below 11 the Pad-2 attribute form."""

from __future__ import annotations

import onnx
import onnx.parser
import pytest

from rewrites.onnx.adapters.pad_axes import full_pads
from rewrites.onnx.adapters.testing import converted
from rewrites.passes import apply


def _model(mode: str = "constant", value: str = "float[1] v = {0.5}",
           opset: int = 18) -> onnx.ModelProto:
    return onnx.parser.parse_model(f"""
<ir_version: 9, opset_import: ["" : {opset}]>
g (float[1,2,3,4] x) => (float[1,2,5,7] y)
  <int64[4] p = {{1, 2, 1, 1}}, int64[2] a = {{2, -1}}, {value}> {{
    y = Pad <mode = "{mode}"> (x, p, v, a)
}}""")


def test_full_pads() -> None:
    assert full_pads([1, 2, 1, 1], [2, -1], 4) == [0, 0, 1, 2, 0, 0, 1, 1]
    assert full_pads([1, 2, 3], [0], 2) is None


@pytest.mark.parametrize("target", [17, 13, 11, 9])
@pytest.mark.parametrize("mode", ["constant", "reflect", "edge"])
def test_pad_with_axes_converts(target: int, mode: str) -> None:
    _, out = converted(_model(mode), target)
    node = next(n for n in out.graph.node if n.op_type == "Pad")
    if target >= 11:
        assert len(node.input) == 3  # x, pads, value: no axes
    else:
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        assert attrs["pads"] == [0, 0, 1, 2, 0, 0, 1, 1] and list(node.input) == ["x"]
        assert attrs["value"] == 0.5


def test_wrap_has_no_lower_form() -> None:
    result = apply(_model("wrap", opset=19), target_opset=13)
    assert result.blocked is not None and "Pad" in result.blocked.text
