"""softmax_axis: Softmax / LogSoftmax / Hardmax-13 below 13 written by the project, not by onnx's
Softmax_13_12 adapter (which deletes a Reshape after the node, or a Flatten before it)."""

from __future__ import annotations

import onnx
import onnx.parser
import onnx.version_converter
import pytest

from rewrites.onnx.adapters.testing import adapter_note, converted

# the torch MultiheadAttention export: the attention weights are reshaped after the Softmax
SOFTMAX_RESHAPE = onnx.parser.parse_model("""
<ir_version: 9, opset_import: ["" : 13]>
g (float[2,3,4] x) => (float[2,12] y, float[2,3,4] z) <int64[2] shp = {2, 12}> {
    s = Softmax <axis = -1> (x)
    y = Reshape (s, shp)
    z = Neg (s)
}""")


def _model(op: str, axis: int, opset: int = 18) -> onnx.ModelProto:
    return onnx.parser.parse_model(f"""
<ir_version: 9, opset_import: ["" : {opset}]>
g (float[2,3,4,5] x) => (float[2,3,4,5] y) {{ y = {op} <axis = {axis}> (x) }}""")


def test_onnx_adapter_alone_breaks_on_a_reshape_after_softmax() -> None:
    # the gap, measured (onnx 1.23): its Softmax 13 -> 12 adapter destroys the Reshape
    with pytest.raises(RuntimeError, match="eraseOutput"):
        onnx.version_converter.convert_version(SOFTMAX_RESHAPE, 12)


@pytest.mark.parametrize("target", [12, 11, 9])
def test_softmax_then_reshape_converts_and_keeps_the_reshape(target: int) -> None:
    result, out = converted(SOFTMAX_RESHAPE, target)
    assert [n.op_type for n in out.graph.node if n.op_type != "Constant"] == [
        "Softmax", "Reshape", "Neg"]
    assert "softmax-axis adapter" in adapter_note(result)


@pytest.mark.parametrize("op", ["Softmax", "LogSoftmax", "Hardmax"])
@pytest.mark.parametrize("axis", [1, -1, 0])
def test_every_axis_is_exact_below_13(op: str, axis: int) -> None:
    # Softmax-11 with axis 1 of a rank-4 input would normalise over dims 1..3 together
    result, out = converted(_model(op, axis), 11)
    ops = [n.op_type for n in out.graph.node]
    assert ops == ([op] if axis == -1 else ["Transpose", op, "Transpose"])
    node = next(n for n in out.graph.node if n.op_type == op)
    assert [a.i for a in node.attribute if a.name == "axis"] == [3]


def test_a_flatten_before_softmax_is_kept() -> None:
    # onnx's adapter would take the Flatten for its own and feed the 4-D input to Softmax
    model = onnx.parser.parse_model("""
<ir_version: 9, opset_import: ["" : 18]>
g (float[2,3,4,5] x) => (float[6,20] y) { f = Flatten <axis = 2> (x)
 y = Softmax (f) }""")
    _, out = converted(model, 11)
    assert [n.op_type for n in out.graph.node] == ["Flatten", "Softmax"]


def test_at_13_and_above_the_adapter_does_nothing() -> None:
    result, out = converted(_model("Softmax", 1), 13)
    assert "softmax-axis" not in adapter_note(result)
    assert [n.op_type for n in out.graph.node] == ["Softmax"]
