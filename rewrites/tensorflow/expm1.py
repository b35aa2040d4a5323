"""tf:expm1: TF's Expm1 as Exp(x) - 1.

Measured gap: tf2onnx 1.17 has no Expm1 handler at any opset; Keras's celu and TF's
`tf.math.expm1` (and ops built on it) lower to Expm1. Exact as mathematics; in float32 the
absolute error is at most one rounding of Exp near x = 0, where expm1's own advantage (relative
precision for tiny x) is lost. Opset >= 1 (Exp, Sub); registered from 9, this tool's lowest.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rewrites.tensorflow._onnx import become, const, op
from rewrites.tensorflow.rule import Handler, HandlerRule, TFTarget


def _expm1(ctx: Any, node: Any, **kwargs: Any) -> None:
    x = node.input[0]
    exp = op(ctx, "Exp", [x], f"{node.name}_exp")
    become(ctx, node, "Sub", [exp, const(ctx, x, 1.0, f"{node.name}_one")])


class Expm1Rule(HandlerRule):
    id = "tf:expm1"
    summary = "Expm1 as Exp(x) - 1 (tf2onnx has no Expm1 handler; Keras celu needs it)"
    targets = (TFTarget("Expm1", 9),)
    exact = True

    def handlers(self) -> Mapping[str, tuple[int, Handler]]:
        return {"Expm1": (9, _expm1)}


RULE = Expm1Rule()
