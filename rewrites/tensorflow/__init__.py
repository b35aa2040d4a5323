"""TensorFlow conversion rescue (docs/rewrites.md, "TensorFlow rules"): rules that make
tf2onnx convert ops it rejects, as extra tf2onnx handlers for one conversion or as GraphDef
rewrites before it. Importing this package imports neither TensorFlow nor tf2onnx."""

from __future__ import annotations

from rewrites.tensorflow import (
    cumsum,
    einsum,
    erfc,
    erfinv,
    expm1,
    inline_calls,
    is_finite,
    tfl_gelu,
)
from rewrites.tensorflow.rule import HandlerRule, TFMatch, TFNode, TFReason, TFTarget

#: every TensorFlow rule, in the order they are proposed
ALL_RULES: tuple[HandlerRule, ...] = (erfc.RULE, expm1.RULE, is_finite.RULE, einsum.RULE,
                                      cumsum.RULE, tfl_gelu.RULE, erfinv.RULE,
                                      inline_calls.RULE)  # type: ignore[assignment]
#: the rules a pass applies without being named: the exact ones
DEFAULT_RULES: tuple[HandlerRule, ...] = tuple(r for r in ALL_RULES if r.exact)


def by_id(ids: list[str] | tuple[str, ...]) -> list[HandlerRule]:
    """The rules named in `ids`; unknown ids raise KeyError with the known ones."""
    known = {r.id: r for r in ALL_RULES}
    missing = [i for i in ids if i not in known]
    if missing:
        raise KeyError(f"unknown TensorFlow rule(s) {', '.join(missing)}; known: "
                       f"{', '.join(known)}")
    return [known[i] for i in ids]


def rules_for(op: str, opset: int) -> list[HandlerRule]:
    """The rules that answer `op` at `opset` (for the fixes of a pre-flight finding)."""
    return [r for r in ALL_RULES if any(t.op == op and t.covers(opset) for t in r.targets)]


__all__ = ["ALL_RULES", "DEFAULT_RULES", "HandlerRule", "TFMatch", "TFNode", "TFReason",
           "TFTarget", "by_id", "rules_for"]
