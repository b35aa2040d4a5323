"""split_sizes: Split-18 num_outputs -> sizes (input at 13..17, attribute below 13)."""

from __future__ import annotations

import onnx
import onnx.parser
import pytest

from rewrites.onnx.adapters.split_sizes import sizes_of
from rewrites.onnx.adapters.testing import adapter_note, converted
from rewrites.passes import apply


def _model(dim: str, parts: int = 3) -> onnx.ModelProto:
    outs = ", ".join(f"float[2,?] y{i}" for i in range(parts))
    names = ", ".join(f"y{i}" for i in range(parts))
    return onnx.parser.parse_model(f"""
<ir_version: 9, opset_import: ["" : 18]>
g (float[2,{dim}] x) => ({outs}) {{ {names} = Split <axis = 1, num_outputs = {parts}> (x) }}""")


def test_sizes_follow_split18() -> None:
    assert sizes_of(7, 3) == [3, 3, 1]
    assert sizes_of(6, 3) == [2, 2, 2]
    assert sizes_of(4, 3) is None  # ceil(4/3) = 2: the third output would be empty


@pytest.mark.parametrize("target", [17, 13, 12, 11, 9])
def test_uneven_split_converts(target: int) -> None:
    result, out = converted(_model("7"), target)
    node = next(n for n in out.graph.node if n.op_type == "Split")
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    if target >= 13:
        assert len(node.input) == 2 and "split" not in attrs
    else:
        assert attrs["split"] == [3, 3, 1] and len(node.input) == 1
    assert "num_outputs" not in attrs
    assert "split-sizes adapter" in adapter_note(result)


def test_dynamic_split_axis_stays_a_blocker() -> None:
    result = apply(_model("N"), target_opset=13)
    assert result.blocked is not None and "Split" in result.blocked.text
