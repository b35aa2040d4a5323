"""lowering on models from ONNX text shaped like the dynamo exporter's output (ReduceMean with
an explicit noop_with_empty_axes=0 and axes as an initializer, Reshape with allowzero=1, Mul /
Sub / Pow at their opset-18 versions): onnx's converter alone fails, lowering delivers 13 and 11
that pass the full check and compute the same outputs on onnxruntime."""

from __future__ import annotations

import numpy as np
import onnx
import onnx.numpy_helper
import onnx.parser
import onnx.version_converter
import pytest

from analyzer.runtime.session import create_session
from rewrites.torch.lowering import lower, normalize_dynamo_output

MODEL = """<ir_version: 8, opset_import: ["" : 18]>
g (float[2,3,4] x) => (float[2,12] y) {
  m = ReduceMean<keepdims = 1, noop_with_empty_axes = 0>(x, axes)
  c = Sub(x, m)
  s = Mul(c, c)
  p = Pow(s, m)
  y = Reshape<allowzero = 1>(p, shape)
}"""


def _model(shape: list[int]) -> onnx.ModelProto:
    model = onnx.parser.parse_model(MODEL)
    model.graph.initializer.extend([
        onnx.numpy_helper.from_array(np.array([2], dtype=np.int64), "axes"),
        onnx.numpy_helper.from_array(np.array(shape, dtype=np.int64), "shape")])
    return model


def _run(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    session = create_session(model)
    return np.asarray(session.run(None, {"x": x})[0])


@pytest.mark.parametrize("target", [13, 11])
def test_dynamo_shaped_model_lowers(target: int) -> None:
    model = _model([2, 12])
    with pytest.raises(Exception):  # noqa: B017 - onnx raises RuntimeError / ValidationError
        converted = onnx.version_converter.convert_version(model, target)
        onnx.checker.check_model(converted, full_check=True)
    lowered = lower(model, target)
    assert lowered.model is not None, lowered.error
    assert lowered.model.opset_import[0].version == target
    assert {"Sub", "Mul"} <= set(lowered.held)
    x = np.random.default_rng(0).random((2, 3, 4), dtype=np.float32)
    np.testing.assert_allclose(_run(lowered.model, x), _run(model, x), rtol=1e-6)
    assert model.opset_import[0].version == 18 and len(model.graph.node[0].attribute) == 2


def test_normalize_keeps_allowzero_when_the_shape_has_a_zero() -> None:
    model = _model([2, 0])
    assert normalize_dynamo_output(model) == 2  # keepdims=1, noop_with_empty_axes=0: defaults
    assert not model.graph.node[0].attribute
    assert [a.name for a in model.graph.node[-1].attribute] == ["allowzero"]
    assert lower(model, 13).model is None


def test_op_without_earlier_version_is_refused_with_the_reason() -> None:
    model = onnx.parser.parse_model("""<ir_version: 8, opset_import: ["" : 18]>
    g (float[4] x) => (float[4] y) { y = Mish(x) }""")
    lowered = lower(model, 13)
    assert lowered.model is None and "Mish" in (lowered.error or "")
