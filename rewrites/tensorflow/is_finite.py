"""tf:isfinite-9: TF's IsFinite at opset 9 as Not(IsNaN(x - x)).

Measured gap: tf2onnx converts IsFinite from opset 10 (it uses IsInf); `tf.reduce_logsumexp`
and keras.ops.logsumexp use IsFinite, so they fail at opset 9. x - x is 0 for every finite x
and NaN for +-inf and NaN, so the result is exact for every input. Registered at opset 9 only:
from 10 tf2onnx's own handler wins.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rewrites.tensorflow._onnx import become, op
from rewrites.tensorflow.rule import Handler, HandlerRule, TFTarget


def _is_finite(ctx: Any, node: Any, **kwargs: Any) -> None:
    x = node.input[0]
    diff = op(ctx, "Sub", [x, x], f"{node.name}_diff")
    nan = op(ctx, "IsNaN", [diff], f"{node.name}_nan")
    become(ctx, node, "Not", [nan])


class IsFiniteRule(HandlerRule):
    id = "tf:isfinite-9"
    summary = "IsFinite at opset 9 as Not(IsNaN(x - x)) (tf2onnx needs opset 10)"
    targets = (TFTarget("IsFinite", 9, 9),)
    exact = True

    def handlers(self) -> Mapping[str, tuple[int, Handler]]:
        return {"IsFinite": (9, _is_finite)}


RULE = IsFiniteRule()
