"""tf:erfinv (approximate): converts keras.ops.erfinv, close to TensorFlow, only when named."""

from __future__ import annotations

from typing import Any

import numpy as np

from rewrites.tensorflow.conftest import convert, max_error
from rewrites.tensorflow.erfinv import RULE
from rewrites.tensorflow.plan import nodes_from_ops, plan


def test_erfinv_converts_and_is_close(tf: Any, keras_model: Any) -> None:
    model = keras_model(lambda x: tf.keras.ops.erfinv(x), (64,))
    assert convert(model, 13).unsupported["Erfinv"] == 1
    fixed = convert(model, 13, [RULE])
    assert fixed.converted, fixed.error
    x = np.linspace(-0.999, 0.999, 128, dtype=np.float32).reshape(2, 64)
    # |erfinv| <= 2.33 here: 3e-5 absolute is ~1e-5 relative, a few float32 ulps of log/sqrt
    assert max_error(fixed, model, x) < 3e-5


def test_approximate_rule_runs_only_when_named() -> None:
    nodes = nodes_from_ops([("e", "Erfinv")])
    unnamed = plan(nodes, 13)
    assert RULE not in unnamed.rules
    assert any(r.rule == RULE.id and "only when named" in r.text for r in unnamed.reasons)
    assert RULE in plan(nodes, 13, named=[RULE.id]).rules
