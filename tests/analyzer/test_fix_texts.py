"""Specific fixes for nodes that fall back from CUDA (analyzer/checks/fix_texts.py, issue 16)."""

from __future__ import annotations

import pytest

import analyzer
from analyzer.checks.fix_texts import FIX_TEXTS
from tests.fixtures.onnx_models import parse


def _ep302_hints(text: str) -> dict[str, str]:
    report = analyzer.analyze(parse(text), providers=("cuda", "cpu"))
    return {f.op or "": f.fixes[0].hint or "" for f in report.findings
            if f.id == "EP302" and f.fixes}


def test_ai_onnx_ml_op_is_kept_on_cpu() -> None:
    hints = _ep302_hints("""<ir_version: 8, opset_import: ["" : 13, "ai.onnx.ml" : 1]>
        g (float[2,3] x) => (float[2,3] y) { y = ai.onnx.ml.Normalizer <norm = "L2"> (x) }""")
    assert hints["Normalizer"].startswith(
        "CPU-only in onnxruntime: keep this part on the CPU provider (no CUDA kernels exist)")


@pytest.mark.parametrize(("op", "text"), [
    ("DynamicQuantizeLinear", """<ir_version: 8, opset_import: ["" : 13]>
        g (float[2,3] x) => (uint8[2,3] y, float s, uint8 z) {
            y, s, z = DynamicQuantizeLinear(x) }"""),
    ("MatMulInteger", """<ir_version: 8, opset_import: ["" : 13]>
        g (uint8[2,3] a, uint8[3,2] b) => (int32[2,2] y) { y = MatMulInteger(a, b) }"""),
    ("ConvInteger", """<ir_version: 8, opset_import: ["" : 13]>
        g (uint8[1,1,4,4] x, uint8[1,1,3,3] w) => (int32[1,1,2,2] y) { y = ConvInteger(x, w) }"""),
])
def test_dynamic_quantization_points_to_static_qdq(op: str, text: str) -> None:
    hint = _ep302_hints(text)[op]
    assert "quantize statically in QDQ format" in hint
    assert "quantize_static(" in hint and "quant_format=QuantFormat.QDQ" in hint


def test_float64_with_a_float32_kernel_is_cast_to_float32() -> None:
    """GridSample-22: CUDA has float only; CPU runs double."""
    hint = _ep302_hints("""<ir_version: 8, opset_import: ["" : 22]>
        g (double[1,1,4,4] x, double[1,2,2,2] grid) => (double[1,1,2,2] y) {
            y = GridSample(x, grid) }""")["GridSample"]
    assert "float64 has no CUDA kernel for this op, float32 has" in hint
    assert "model.float()" in hint


def test_other_fallbacks_keep_the_generic_text() -> None:
    """Acos has no CUDA kernel at any type: neither a cast nor quantization helps."""
    hint = _ep302_hints("""<ir_version: 8, opset_import: ["" : 13]>
        g (float[2,3] x) => (float[2,3] y) { y = Acos(x) }""")["Acos"]
    assert hint == FIX_TEXTS["generic"].hint("CUDAExecutionProvider")
    assert "CUDA has kernels for" in hint
