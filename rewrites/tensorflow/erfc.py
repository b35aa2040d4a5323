"""tf:erfc: TF's Erfc as 1 - Erf(x).

Measured gap (docs/tf_gaps.md): tf2onnx 1.17 has no Erfc handler at any opset, and Keras's
exact gelu (`Dense(activation="gelu")`, `keras.activations.gelu`) lowers to
`0.5 * x * Erfc(-x / sqrt(2))` on the TensorFlow backend, so every Keras model with exact
GELU fails to convert. Exact as mathematics; in float32 the absolute error is at most one
rounding of Erf (relative error grows only where erfc(x) itself is below ~1e-7, x > ~3.8).
Needs Erf: opset >= 9.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rewrites.tensorflow._onnx import become, const, op
from rewrites.tensorflow.rule import Handler, HandlerRule, TFTarget


def _erfc(ctx: Any, node: Any, **kwargs: Any) -> None:
    x = node.input[0]
    erf = op(ctx, "Erf", [x], f"{node.name}_erf")
    become(ctx, node, "Sub", [const(ctx, x, 1.0, f"{node.name}_one"), erf])


class ErfcRule(HandlerRule):
    id = "tf:erfc"
    summary = "Erfc as 1 - Erf(x) (tf2onnx has no Erfc handler; Keras exact gelu needs it)"
    targets = (TFTarget("Erfc", 9),)
    exact = True

    def handlers(self) -> Mapping[str, tuple[int, Handler]]:
        return {"Erfc": (9, _erfc)}


RULE = ErfcRule()
