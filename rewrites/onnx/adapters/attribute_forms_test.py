"""attribute_forms: Slice-1, TopK-1, Scatter-9 and Gemm-with-C forms below 10 / 11."""

from __future__ import annotations

import onnx
import onnx.parser

from rewrites.onnx.adapters.testing import adapter_note, converted

MODEL = onnx.parser.parse_model("""
<ir_version: 9, opset_import: ["" : 18]>
g (float[4,6] x, float[6,3] w, float[1,3] u) => (float[2,3] s, float[4,2] t, float[4,3] m,
                                                 float[4,6] e)
  <int64[2] st = {1, 0}, int64[2] en = {3, -3}, int64[2] ax = {0, -1}, int64[1] k = {2},
   int64[1,3] idx = {3, 0, 2}> {
    s = Slice(x, st, en, ax)
    t, ti = TopK <axis = -1> (x, k)
    m = Gemm(x, w)
    e = ScatterElements <axis = 0, reduction = "none"> (x, idx, u)
}""")


def test_lowers_to_opset_9() -> None:
    result, out = converted(MODEL, 9)
    by_op = {n.op_type: n for n in out.graph.node}
    assert {a.name for a in by_op["Slice"].attribute} == {"starts", "ends", "axes"}
    assert list(by_op["Slice"].input) == ["x"]
    assert [a.i for a in by_op["TopK"].attribute if a.name == "k"] == [2]
    assert len(by_op["Gemm"].input) == 3
    assert "Scatter" in by_op and "ScatterElements" not in by_op
    assert "attribute-forms adapter" in adapter_note(result)


def test_thresholded_relu_below_10() -> None:
    # at opset 20 (the TorchScript exporter's newest) no schema body is valid for it
    model = onnx.parser.parse_model("""
<ir_version: 9, opset_import: ["" : 20]>
g (float[3,4] x) => (float[3,4] y) { y = ThresholdedRelu <alpha = 0.25> (x) }""")
    _, out = converted(model, 9)
    assert [n.op_type for n in out.graph.node if n.op_type != "Constant"] == ["Greater", "Where"]


def test_dequantize_linear_below_10() -> None:
    # uint8 values from a Cast (QuantizeLinear itself has no exact form at 9: it needs Round-11)
    model = onnx.parser.parse_model("""
<ir_version: 9, opset_import: ["" : 19]>
g (float[3,4] f) => (float[3,4] y) <float s = {0.05}, uint8 z = {128}> {
    q = Cast <to = 2> (f)
    y = DequantizeLinear (q, s, z)
}""")
    _, out = converted(model, 9)
    assert "DequantizeLinear" not in {n.op_type for n in out.graph.node}
