"""tf:erfinv (approximate, opt-in): TF's Erfinv as Giles' single-precision polynomial.

Measured gap: tf2onnx 1.17 has no Erfinv handler at any opset (keras.ops.erfinv,
tf.math.erfinv). ONNX has no inverse error function, so the handler evaluates the polynomial
of M. Giles, "Approximating the erfinv function" (GPU Computing Gems, 2011), both branches
and a Where: w = -log((1 - x)(1 + x)); w < 5 uses a degree-8 polynomial in w - 2.5, else one
in sqrt(w) - 3. Its relative error is a few float32 ulps inside (-1, 1); +-1 give +-inf as
TF does. Approximate all the same (not TF's algorithm), so it runs only when named.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rewrites.tensorflow._onnx import become, const, op
from rewrites.tensorflow.rule import Handler, HandlerRule, TFTarget

_CENTRAL = (2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
            -0.00125372503, -0.00417768164, 0.246640727, 1.50140941)
_TAIL = (-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
         -0.0076224613, 0.00943887047, 1.00167406, 2.83297682)


def _horner(ctx: Any, t: str, coefs: tuple[float, ...], hint: str) -> str:
    acc = const(ctx, t, coefs[0], f"{hint}_c0")
    for i, c in enumerate(coefs[1:], 1):
        acc = op(ctx, "Add", [const(ctx, t, c, f"{hint}_c{i}"), op(ctx, "Mul", [acc, t],
                                                                    f"{hint}_m{i}")],
                 f"{hint}_a{i}")
    return acc


def _erfinv(ctx: Any, node: Any, **kwargs: Any) -> None:
    x, n = node.input[0], node.name
    one = const(ctx, x, 1.0, f"{n}_one")
    prod = op(ctx, "Mul", [op(ctx, "Sub", [one, x], f"{n}_1mx"),
                           op(ctx, "Add", [one, x], f"{n}_1px")], f"{n}_prod")
    w = op(ctx, "Neg", [op(ctx, "Log", [prod], f"{n}_log")], f"{n}_w")
    central = _horner(ctx, op(ctx, "Sub", [w, const(ctx, x, 2.5, f"{n}_2p5")], f"{n}_wc"),
                      _CENTRAL, f"{n}_pc")
    tail = _horner(ctx, op(ctx, "Sub", [op(ctx, "Sqrt", [w], f"{n}_sqrtw"),
                                        const(ctx, x, 3.0, f"{n}_3")], f"{n}_wt"),
                   _TAIL, f"{n}_pt")
    small = op(ctx, "Less", [w, const(ctx, x, 5.0, f"{n}_5")], f"{n}_small")
    poly = op(ctx, "Where", [small, central, tail], f"{n}_poly")
    become(ctx, node, "Mul", [poly, x])


class ErfinvRule(HandlerRule):
    id = "tf:erfinv"
    summary = "Erfinv as Giles' float32 polynomial (approximate; tf2onnx has no handler)"
    targets = (TFTarget("Erfinv", 9),)
    exact = False

    def handlers(self) -> Mapping[str, tuple[int, Handler]]:
        return {"Erfinv": (9, _erfinv)}


RULE = ErfinvRule()
