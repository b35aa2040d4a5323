"""tf:cumsum-10: tf.math.cumsum at opset 9 along each axis, exclusive and reverse, against
TensorFlow (tf2onnx needs opset 11), and the triangular matrix itself."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from rewrites.tensorflow.conftest import convert, max_error
from rewrites.tensorflow.cumsum import RULE, triangle


@pytest.mark.parametrize("axis", [1, -1])
@pytest.mark.parametrize("exclusive", [False, True])
@pytest.mark.parametrize("reverse", [False, True])
def test_cumsum_converts_at_opset_9(tf: Any, keras_model: Any, axis: int, exclusive: bool,
                                    reverse: bool) -> None:
    class Cumsum(tf.keras.layers.Layer):
        def call(self, x: Any) -> Any:
            return tf.math.cumsum(x, axis=axis, exclusive=exclusive, reverse=reverse)

    model = keras_model(lambda x: Cumsum()(x), (5, 4))
    assert convert(model, 9).unsupported["Cumsum"] == 1
    fixed = convert(model, 9, [RULE])
    assert fixed.converted, fixed.error
    x = np.random.default_rng(6).standard_normal((2, 5, 4)).astype(np.float32)
    assert max_error(fixed, model, x) < 1e-5


def test_triangle_is_the_cumulative_sum() -> None:
    x = np.arange(1.0, 6.0)
    np.testing.assert_array_equal(x @ triangle(5, False, False, np.float64), np.cumsum(x))
    np.testing.assert_array_equal(x @ triangle(5, True, False, np.float64),
                                  np.cumsum(x) - x)
    np.testing.assert_array_equal(x @ triangle(5, False, True, np.float64),
                                  np.cumsum(x[::-1])[::-1])
