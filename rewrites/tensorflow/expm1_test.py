"""tf:expm1 on a real Keras celu activation (Expm1 has no tf2onnx handler)."""

from __future__ import annotations

from typing import Any

import numpy as np

from rewrites.tensorflow.conftest import convert, max_error
from rewrites.tensorflow.expm1 import RULE


def test_keras_celu_converts_with_the_rule(tf: Any, keras_model: Any) -> None:
    model = keras_model(lambda x: tf.keras.layers.Activation("celu")(x), (6,))
    assert convert(model, 13).unsupported["Expm1"] == 1
    fixed = convert(model, 13, [RULE])
    assert fixed.converted, fixed.error
    x = np.random.default_rng(2).standard_normal((3, 6)).astype(np.float32) * 4
    assert max_error(fixed, model, x) < 1e-6
