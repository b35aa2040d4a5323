"""tf:erfc on a real Keras Dense(activation="gelu"): tf2onnx alone leaves Erfc unconverted;
with the rule the model converts, loads in onnxruntime and matches TensorFlow."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from rewrites.contract import Match, Reason
from rewrites.tensorflow.conftest import convert, max_error
from rewrites.tensorflow.erfc import RULE
from rewrites.tensorflow.plan import nodes_from_ops


@pytest.mark.parametrize("opset", [9, 13, 18])
def test_keras_exact_gelu_converts_with_the_rule(tf: Any, keras_model: Any, opset: int) -> None:
    model = keras_model(lambda x: tf.keras.layers.Dense(8, activation="gelu")(x), (5,))
    assert convert(model, opset).unsupported["Erfc"] == 1
    fixed = convert(model, opset, [RULE])
    assert fixed.converted, fixed.error
    assert "Erf" in {n.op_type for n in fixed.model.graph.node}
    x = np.random.default_rng(1).standard_normal((4, 5)).astype(np.float32) * 3
    assert max_error(fixed, model, x) < 1e-5


def test_check_matches_erfc_and_explains_otherwise() -> None:
    found = RULE.check(nodes_from_ops([("g/Erfc", "Erfc"), ("g/Mul", "Mul")]), 13)
    assert isinstance(found, Match) and found.payload.nodes == ("g/Erfc",)
    assert isinstance(RULE.check(nodes_from_ops([("m", "Mul")]), 13), Reason)
    low = RULE.check(nodes_from_ops([("g/Erfc", "Erfc")]), 8)
    assert isinstance(low, Reason) and "opset >= 9" in low.text
