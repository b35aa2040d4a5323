"""TensorFlow conversion rescue (docs/rewrites.md, "TensorFlow rules"): rules that make
tf2onnx convert ops it rejects, as extra tf2onnx handlers for one conversion or as GraphDef
rewrites before it. Importing this package imports neither TensorFlow nor tf2onnx."""

from __future__ import annotations

from rewrites.tensorflow import cumsum, einsum, erfc, erfinv, expm1, is_finite, tfl_gelu
from rewrites.tensorflow.rule import HandlerRule, TFMatch, TFNode, TFReason, TFTarget

#: every TensorFlow rule, in the order they are proposed
ALL_RULES: tuple[HandlerRule, ...] = (erfc.RULE, expm1.RULE, is_finite.RULE, einsum.RULE,
                                      cumsum.RULE, tfl_gelu.RULE, erfinv.RULE)
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


__all__ = ["ALL_RULES", "DEFAULT_RULES", "HandlerRule", "TFMatch", "TFNode", "TFReason",
           "TFTarget", "by_id"]
