"""The verdict contract: `fail` <=> onnxruntime cannot create a session (docs/findings.md).

Each model below has something onnx.checker or onnx's strict shape inference complains about;
a real onnxruntime CPU session (analyzer.runtime.session.create_session) says whether the
complaint matters. The analyzer must fail exactly the models the session refuses, and report
the others as warnings that `strict=True` turns into errors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import onnx
import onnx.helper
import pytest

import analyzer
from analyzer.runtime.session import create_session
from tests.fixtures.onnx_models import parse


def _model(text: str, edit: Callable[[onnx.ModelProto], None] | None = None) -> onnx.ModelProto:
    model = parse(text)
    if edit is not None:
        edit(model)
    return model


RELU6 = """<ir_version: 8, opset_import: ["" : 6]>
g (float[2,3] x) => (float[2,3] y) { y = Relu(x) }"""
RELU13 = """<ir_version: 8, opset_import: ["" : 13]>
g (float[2,3] x) => (float[2,3] y) { t = Relu(x)
  y = Relu(t) }"""


def _no_output_shape(m: onnx.ModelProto) -> None:
    m.graph.output[0].type.tensor_type.ClearField("shape")


def _no_input_shape(m: onnx.ModelProto) -> None:
    m.graph.input[0].type.tensor_type.ClearField("shape")


def _no_output_type(m: onnx.ModelProto) -> None:
    m.graph.output[0].ClearField("type")


def _no_input_type(m: onnx.ModelProto) -> None:
    m.graph.input[0].ClearField("type")


def _unnamed_graph(m: onnx.ModelProto) -> None:
    m.graph.name = ""


def _reversed(m: onnx.ModelProto) -> None:
    m.graph.node.reverse()


def _unknown_attribute(m: onnx.ModelProto) -> None:
    m.graph.node[0].attribute.append(onnx.helper.make_attribute("alpha", 1.0))


def _future_contrib_opset(m: onnx.ModelProto) -> None:
    # onnx does not define com.microsoft (a newer ai.onnx opset is the loader's OPSET_TOO_NEW)
    m.opset_import.append(onnx.helper.make_opsetid("com.microsoft", 2))


def _undefined_value_info(m: onnx.ModelProto) -> None:
    m.graph.value_info.append(onnx.helper.make_tensor_value_info("t", 0, [2, 3]))


def _short_initializer(m: onnx.ModelProto) -> None:
    m.graph.initializer.append(onnx.helper.make_tensor("w", onnx.TensorProto.FLOAT, [2, 3],
                                                       [1.0] * 6))
    del m.graph.initializer[0].float_data[5:]
    m.graph.node[1].input[0] = "w"


@dataclass(frozen=True)
class Case:
    name: str
    model: Callable[[], onnx.ModelProto]
    finding: str
    ort_loads: bool


CASES = [
    # onnx.checker complaints that onnxruntime does not check
    Case("output-without-shape-field", lambda: _model(RELU6, _no_output_shape), "SCH204", True),
    Case("input-without-shape-field", lambda: _model(RELU13, _no_input_shape), "SCH204", True),
    Case("output-without-type", lambda: _model(RELU13, _no_output_type), "SCH204", True),
    Case("graph-without-name", lambda: _model(RELU13, _unnamed_graph), "SCH204", True),
    Case("nodes-out-of-order", lambda: _model(RELU13, _reversed), "SCH204", True),
    # onnx.checker complaints that onnxruntime shares
    Case("unknown-attribute", lambda: _model(RELU13, _unknown_attribute), "SCH204", False),
    Case("input-without-type", lambda: _model(RELU13, _no_input_type), "SCH204", False),
    Case("initializer-too-short", lambda: _model(RELU13, _short_initializer), "SCH204", False),
    Case("deprecated-op", lambda: _model(
        """<ir_version: 8, opset_import: ["" : 10]>
        g (float[1,1,2,2] x, float[4] s) => (float[1,1,4,4] y) { y = Upsample(x, s) }"""),
        "SCH203", False),
    # onnx.checker accepts these; onnxruntime refuses them at load (SCH207)
    Case("opset-newer-than-onnxruntime", lambda: _model(RELU13, _future_contrib_opset),
         "SCH207", False),
    Case("value-info-undefined-type", lambda: _model(RELU13, _undefined_value_info), "SCH207",
         False),
    # kernels: float16 Casts cannot be inserted below opset 6 (Cast-1's `to` is a string), and
    # Reshape-1's kernel constructor requires the `shape` attribute the schema calls optional
    Case("float16-cast-below-opset-6", lambda: _model(
        """<ir_version: 8, opset_import: ["" : 5]>
        g (float16[2,3] x) => (float16[2,3] y) { y = Softmax(x) }"""), "EP301", False),
    Case("reshape-1-without-shape", lambda: _model(
        """<ir_version: 8, opset_import: ["" : 4]>
        g (float[2,3] x) => (float[3,2] y) { y = Reshape(x) }"""), "EP301", False),
    # inference errors in an op's own inference function: onnxruntime runs it too
    Case("matmul-incompatible", lambda: _model(
        """<ir_version: 8, opset_import: ["" : 13]>
        g (float[2,3] a, float[2,3] b) => (float[2,3] y) { y = MatMul(a, b) }"""),
        "SCH206", False),
    Case("det-not-square", lambda: _model(
        """<ir_version: 8, opset_import: ["" : 13]>
        g (float[2,3] a) => (float y) { y = Det(a) }"""), "SCH206", False),
    Case("if-branch-incompatible", lambda: _model(
        """<ir_version: 8, opset_import: ["" : 13]>
        g (bool c, float[2,3] a, float[2,3] b) => (float[2,3] y) {
          y = If(c) <then_branch = t () => (float[2,3] z) { z = MatMul(a, b) },
                     else_branch = e () => (float[2,3] z2) { z2 = Add(a, b) }> }"""),
        "SCH206", False),
    Case("declared-elem-type-differs", lambda: _model(
        """<ir_version: 8, opset_import: ["" : 13]>
        g (float[2,3] a) => (int64[2,3] y) { y = Relu(a) }"""), "SCH206", False),
    # an error inside a function op's body: onnx infers through it, onnxruntime runs the kernel
    Case("function-body-inference", lambda: _model(
        """<ir_version: 8, opset_import: ["" : 13]>
        g (float[2,3,4,4] x) => (float[2,3,4,4] y) { y = MeanVarianceNormalization(x) }"""),
        "SCH206", True),
    # a declared shape that differs from the inferred one: onnxruntime keeps the inferred one
    Case("declared-shape-differs", lambda: _model(
        """<ir_version: 8, opset_import: ["" : 13]>
        g (float[2,3] a) => (float[4,5] y) { y = Relu(a) }"""), "SCH206", True),
    Case("declared-rank-differs", lambda: _model(
        """<ir_version: 8, opset_import: ["" : 13]>
        g (float[2,3] a) => (float[2,3] y) <float[7] t> { t = Relu(a)
          y = Relu(t) }"""), "SCH206", True),
]


def _ort_loads(model: onnx.ModelProto) -> bool:
    try:
        create_session(model)
    except Exception:  # noqa: BLE001 - any refusal is "does not load"
        return False
    return True


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_verdict_fails_exactly_when_onnxruntime_refuses(case: Case) -> None:
    model = case.model()
    assert _ort_loads(model) is case.ort_loads  # the premise, measured
    report = analyzer.analyze(model)
    found = [f for f in report.findings if f.id == case.finding]
    assert found, report.findings
    assert (report.verdict != "fail") is case.ort_loads, report.findings
    if case.ort_loads:
        assert {f.severity for f in found} == {"warning"}
        assert report.verdict == "warn"
        assert "onnxruntime" in found[0].message  # says who tolerates it and who rejects it
    else:
        assert "error" in {f.severity for f in found}


@pytest.mark.parametrize("case", [c for c in CASES if c.ort_loads],
                         ids=[c.name for c in CASES if c.ort_loads])
def test_strict_makes_tolerated_violations_errors(case: Case) -> None:
    report = analyzer.analyze(case.model(), strict=True)
    assert report.verdict == "fail"
    assert "error" in {f.severity for f in report.findings if f.id == case.finding}
    assert report.to_dict()["strict"] is True


def test_clean_model_is_unaffected_by_strict() -> None:
    report = analyzer.analyze(parse(RELU13), strict=True)
    assert report.findings == [] and report.verdict == "pass"


def test_checker_message_says_who_rejects_a_tolerated_violation() -> None:
    report = analyzer.analyze(_model(RELU6, _no_output_shape))
    (f,) = [f for f in report.findings if f.id == "SCH204"]
    assert "Field 'shape' of 'type' is required but missing" in f.message
    assert "onnxruntime does not check this" in f.message
    assert "onnx.checker rejects it" in f.message


def test_each_node_error_is_its_own_finding_with_its_own_severity() -> None:
    """MatMul's incompatible dimensions are fatal; the Relu downstream, whose input type is
    unknown only because MatMul failed, is not a second reason."""
    report = analyzer.analyze(parse(
        """<ir_version: 8, opset_import: ["" : 13]>
        g (float[2,3] a, float[2,3] b) => (float[2,3] y) { t = MatMul(a, b)
          y = Relu(t) }"""))
    sch206 = sorted((f.severity, f.message) for f in report.findings if f.id == "SCH206")
    assert [s for s, _ in sch206] == ["error", "warning"]
    assert "Incompatible dimensions" in sch206[0][1]
    assert "expected to have type but instead is null" in sch206[1][1]
