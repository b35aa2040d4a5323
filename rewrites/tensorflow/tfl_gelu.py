"""tf:tfl-gelu: the TFLite GELU builtin in ONNX ops.

Measured gap: tf2onnx 1.17 has no TFL_GELU handler at any opset, and the TFLite converter
fuses Keras's gelu (exact and tanh forms) into that one builtin, so every TFLite model with
GELU fails to convert. Emitted as the builtin's definition: 0.5 * x * (1 + erf(x / sqrt(2)))
for approximate=False, 0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 x^3))) for
approximate=True. Exact as mathematics (float32 rounding order differs). Needs Erf: opset >= 9.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from rewrites.tensorflow._onnx import become, const, op
from rewrites.tensorflow.rule import Handler, HandlerRule, TFTarget


def _gelu(ctx: Any, node: Any, **kwargs: Any) -> None:
    x, n = node.input[0], node.name
    approximate = bool(node.get_attr_value("approximate", False))
    if approximate:
        cube = op(ctx, "Mul", [op(ctx, "Mul", [x, x], f"{n}_sq"), x], f"{n}_cube")
        inner = op(ctx, "Add", [x, op(ctx, "Mul", [cube, const(ctx, x, 0.044715, f"{n}_k")],
                                      f"{n}_kc")], f"{n}_inner")
        scaled = op(ctx, "Mul", [inner, const(ctx, x, math.sqrt(2.0 / math.pi), f"{n}_s")],
                    f"{n}_scaled")
        core = op(ctx, "Tanh", [scaled], f"{n}_tanh")
    else:
        core = op(ctx, "Erf", [op(ctx, "Mul", [x, const(ctx, x, 1.0 / math.sqrt(2.0),
                                                         f"{n}_rs2")], f"{n}_div")], f"{n}_erf")
    onep = op(ctx, "Add", [core, const(ctx, x, 1.0, f"{n}_one")], f"{n}_1p")
    half_x = op(ctx, "Mul", [x, const(ctx, x, 0.5, f"{n}_half")], f"{n}_hx")
    become(ctx, node, "Mul", [half_x, onep])


class TFLiteGeluRule(HandlerRule):
    id = "tf:tfl-gelu"
    summary = "TFLite GELU builtin as its erf (or tanh) formula (tf2onnx has no handler)"
    targets = (TFTarget("TFL_GELU", 9),)
    exact = True

    def handlers(self) -> Mapping[str, tuple[int, Handler]]:
        return {"TFL_GELU": (9, _gelu)}


RULE = TFLiteGeluRule()
