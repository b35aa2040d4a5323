"""tf:einsum-11: TF's Einsum below opset 12 as Transpose / MatMul (or Mul / ReduceSum).

Measured gap: tf2onnx converts Einsum only from opset 12 (ONNX Einsum-12), and Keras lowers
MultiHeadAttention and EinsumDense to Einsum, so attention models fail at opsets 9-11. The
handler rewrites one- and two-operand equations without ellipsis or repeated letters in one
operand (checked by `check`, which gives the reason otherwise):

- letters in one operand only and not in the output are summed first (ReduceSum);
- one contracted letter, and at most one free letter on one side: Transpose both operands to
  [batch..., free..., k] and [batch..., k, free], Unsqueeze for MatMul's broadcasting, MatMul,
  Transpose to the output order (the attention and dense forms);
- otherwise: Transpose + Unsqueeze both to [batch, free_a, free_b, contracted], Mul, ReduceSum
  over the contracted letters (exact, but materializes the product: slower, more memory).

Exact as mathematics; float32 summation order may differ from TF's in the last bits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rewrites.contract import Reason
from rewrites.tensorflow._onnx import become, op
from rewrites.tensorflow.rule import (
    Handler,
    HandlerRule,
    TFMatch,
    TFNode,
    TFTarget,
)


def parse_equation(equation: str) -> tuple[list[str], str] | str:
    """(operand letter strings, output letters), or the reason this handler cannot take it."""
    eq = equation.replace(" ", "")
    if "." in eq:
        return "ellipsis ('...') is not handled"
    lhs, arrow, out = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) not in (1, 2):
        return f"{len(terms)} operands (1 or 2 are handled)"
    if not arrow:  # implicit output: letters seen once, in alphabetical order
        out = "".join(sorted(c for c in set(lhs) - {","} if lhs.count(c) == 1))
    for t in [*terms, out]:
        if len(set(t)) != len(t):
            return f"repeated letter in {t!r} (a diagonal or trace)"
        if not t.isalpha() and t:
            return f"unexpected characters in {t!r}"
    if set(out) - set("".join(terms)):
        return f"output letters {sorted(set(out) - set(''.join(terms)))} appear in no operand"
    return terms, out


def _transpose(ctx: Any, x: str, have: str, want: str, hint: str) -> str:
    if have == want:
        return x
    return op(ctx, "Transpose", [x], hint, perm=[have.index(c) for c in want])


def _reduce_private(ctx: Any, x: str, letters: str, keep: set[str], hint: str) -> tuple[str, str]:
    axes = [i for i, c in enumerate(letters) if c not in keep]
    if not axes:
        return x, letters
    if len(axes) == len(letters):
        return op(ctx, "ReduceSum", [x], hint, keepdims=0), ""
    return (op(ctx, "ReduceSum", [x], hint, axes=axes, keepdims=0),
            "".join(c for c in letters if c in keep))


def _einsum(ctx: Any, node: Any, **kwargs: Any) -> None:
    parsed = parse_equation(node.get_attr_value("equation").decode())
    if isinstance(parsed, str):
        raise ValueError(f"tf:einsum-11: {parsed}")
    terms, out = parsed
    n = node.name
    if len(terms) == 1:
        x, letters = _reduce_private(ctx, node.input[0], terms[0], set(out), f"{n}_sum")
        become(ctx, node, "Transpose", [x], perm=[letters.index(c) for c in out]) \
            if letters != out else become(ctx, node, "Identity", [x])
        return
    (ta, tb), (a, b) = terms, (node.input[0], node.input[1])
    a, ta = _reduce_private(ctx, a, ta, set(tb) | set(out), f"{n}_suma")
    b, tb = _reduce_private(ctx, b, tb, set(ta) | set(out), f"{n}_sumb")
    batch = "".join(c for c in ta if c in tb and c in out)
    contract = "".join(c for c in ta if c in tb and c not in out)
    fa = "".join(c for c in ta if c not in tb)
    fb = "".join(c for c in tb if c not in ta)
    if len(contract) == 1 and (len(fa) <= 1 or len(fb) <= 1):
        if len(fb) > 1:  # keep the many-free-letter side on the left of MatMul
            a, b, ta, tb, fa, fb = b, a, tb, ta, fb, fa
        k = contract
        x = _transpose(ctx, a, ta, batch + fa + k, f"{n}_ta")
        y = _transpose(ctx, b, tb, batch + k + fb, f"{n}_tb")
        nb = len(batch)
        if not fa:
            x = op(ctx, "Unsqueeze", [x], f"{n}_ua", axes=[nb])
        if not fb:
            y = op(ctx, "Unsqueeze", [y], f"{n}_ub", axes=[nb + 1])
        if len(fa) > 1:  # MatMul broadcasts y over fa's leading letters
            y = op(ctx, "Unsqueeze", [y], f"{n}_bc", axes=list(range(nb, nb + len(fa) - 1)))
        r = op(ctx, "MatMul", [x, y], f"{n}_mm")
        rank = nb + max(len(fa), 1) + 1
        drop = ([nb] if not fa else []) + ([rank - 1] if not fb else [])
        if drop:
            r = op(ctx, "Squeeze", [r], f"{n}_sq", axes=drop)
        letters = batch + fa + fb
    else:
        full = batch + fa + fb + contract
        x = _transpose(ctx, a, ta, batch + fa + contract, f"{n}_ta")
        y = _transpose(ctx, b, tb, batch + fb + contract, f"{n}_tb")
        if fb:
            x = op(ctx, "Unsqueeze", [x], f"{n}_ua",
                   axes=list(range(len(batch + fa), len(batch + fa + fb))))
        if fa:
            y = op(ctx, "Unsqueeze", [y], f"{n}_ub",
                   axes=list(range(len(batch), len(batch + fa))))
        r = op(ctx, "Mul", [x, y], f"{n}_mul")
        if contract:
            r = op(ctx, "ReduceSum", [r], f"{n}_rs", keepdims=0,
                   axes=list(range(len(full) - len(contract), len(full))))
        letters = batch + fa + fb
    if letters == out:
        become(ctx, node, "Identity", [r])
    else:
        become(ctx, node, "Transpose", [r], perm=[letters.index(c) for c in out])


class EinsumBelow12Rule(HandlerRule):
    id = "tf:einsum-11"
    summary = ("Einsum below opset 12 as Transpose/MatMul or Mul/ReduceSum (Keras "
               "MultiHeadAttention, EinsumDense)")
    targets = (TFTarget("Einsum", 9, 11),)
    exact = True

    def handlers(self) -> Mapping[str, tuple[int, Handler]]:
        return {"Einsum": (9, _einsum)}

    def check(self, subject: Sequence[TFNode], item: int) -> TFMatch | Reason:
        nodes = subject
        found = super().check(nodes, item)
        if isinstance(found, Reason):
            return found
        by_name = {n.name: n for n in nodes}
        for name in found.payload.nodes:
            eq = by_name[name].attrs.get("equation", "")
            parsed = parse_equation(eq if isinstance(eq, str) else eq.decode())
            if isinstance(parsed, str):
                return Reason(self.id, name, f"{name}: {parsed}")
        return found


RULE = EinsumBelow12Rule()
