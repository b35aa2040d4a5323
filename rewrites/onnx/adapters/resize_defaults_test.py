"""resize_defaults: Resize-18/19 with their new attributes at the defaults -> Resize-11 form."""

from __future__ import annotations

import onnx
import onnx.parser
import pytest

from rewrites.onnx.adapters.testing import adapter_note, converted
from rewrites.passes import apply


def _model(mode: str = "half_pixel", antialias: int = 0) -> onnx.ModelProto:
    return onnx.parser.parse_model(f"""
<ir_version: 9, opset_import: ["" : 19]>
g (float[1,2,4,4] x) => (float[1,2,8,6] y) <int64[4] s = {{1, 2, 8, 6}}> {{
    y = Resize <mode = "linear", antialias = {antialias}, keep_aspect_ratio_policy = "stretch",
                coordinate_transformation_mode = "{mode}"> (x, , , s)
}}""")


@pytest.mark.parametrize("target", [12, 11])
@pytest.mark.parametrize("mode", ["half_pixel", "pytorch_half_pixel", "align_corners"])
def test_resize_converts_to_11(target: int, mode: str) -> None:
    result, out = converted(_model(mode), target)
    node = next(n for n in out.graph.node if n.op_type == "Resize")
    assert len(node.input) == 4 and all(node.input)
    names = {a.name for a in node.attribute}
    assert not names & {"antialias", "keep_aspect_ratio_policy", "axes"}
    assert "resize-defaults adapter" in adapter_note(result)


def test_antialias_has_no_lower_form() -> None:
    result = apply(_model(antialias=1), target_opset=11)
    assert result.blocked is not None and "Resize" in result.blocked.text
