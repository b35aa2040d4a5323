"""tf:isfinite-9: logsumexp (which uses IsFinite) at opset 9, and the exactness of
Not(IsNaN(x - x)) on inf / -inf / nan / finite inputs."""

from __future__ import annotations

from typing import Any

import numpy as np

from analyzer.runtime.session import create_session
from rewrites.contract import Reason
from rewrites.tensorflow.conftest import convert, max_error
from rewrites.tensorflow.is_finite import RULE
from rewrites.tensorflow.plan import nodes_from_ops


def test_logsumexp_converts_at_opset_9(tf: Any, keras_model: Any) -> None:
    model = keras_model(lambda x: tf.keras.ops.logsumexp(x, axis=-1), (6,))
    assert convert(model, 9).unsupported["IsFinite"] == 1
    fixed = convert(model, 9, [RULE])
    assert fixed.converted, fixed.error
    x = np.random.default_rng(3).standard_normal((3, 6)).astype(np.float32)
    assert max_error(fixed, model, x) < 1e-5


def test_is_finite_is_exact_on_special_values(tf: Any, keras_model: Any) -> None:
    model = keras_model(lambda x: tf.keras.ops.cast(tf.keras.ops.isfinite(x), "float32"), (5,))
    fixed = convert(model, 9, [RULE])
    assert fixed.converted, fixed.error
    x = np.array([[np.inf, -np.inf, np.nan, 0.0, -3e38]], dtype=np.float32)
    s = create_session(fixed.model)
    got = s.run(None, {s.get_inputs()[0].name: x})[0]
    np.testing.assert_array_equal(got, np.isfinite(x).astype(np.float32))


def test_tf2onnx_keeps_its_own_handler_from_opset_10() -> None:
    reason = RULE.check(nodes_from_ops([("f", "IsFinite")]), 10)
    assert isinstance(reason, Reason) and "itself" in reason.text
