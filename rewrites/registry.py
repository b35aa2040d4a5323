"""Every rule of the three families, in the order each family tries them, the whole-model
passes, and the one lookup by id. Explicit tuples, no discovery by import side effects
(DESIGN.md, "Rewrites").

ONNX order matters where two rules answer the same op: the hand-written decompositions come
before expand-function, because they emit forms valid at any opset (expand-function emits the
schema body, which can need the op's own, newer opset). PyTorch and TensorFlow rules are
proposed (and their fixes listed) in this order.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from rewrites.contract import FAMILIES, Family, ModelPass, Rule, UnknownRule
from rewrites.onnx.approx_relu import ApproxRelu
from rewrites.onnx.attention_decompose import AttentionDecompose
from rewrites.onnx.cuda_fallback import CudaFallback, CudaFallbackApprox
from rewrites.onnx.expand_function import ExpandFunction
from rewrites.onnx.layer_norm_decompose import LayerNormDecompose
from rewrites.onnx.rule import OnnxRule
from rewrites.onnx.version_convert import VersionConvert
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
from rewrites.tensorflow.rule import TFRule
from rewrites.torch import (
    attention,
    celu_translation,
    gelu,
    group_norm,
    hardswish,
    layer_norm,
    mish,
    silu,
    trilu_translation,
)
from rewrites.torch.rule import TorchRule

ONNX_RULES: tuple[OnnxRule, ...] = (
    LayerNormDecompose(),
    AttentionDecompose(),
    ExpandFunction(),
    CudaFallback(),
    ApproxRelu(),
    CudaFallbackApprox(),
)

TORCH_RULES: tuple[TorchRule, ...] = (
    attention.RULE,
    layer_norm.RULE,
    group_norm.RULE,
    gelu.RULE,
    hardswish.RULE,
    mish.RULE,
    silu.RULE,
    celu_translation.RULE,
    trilu_translation.RULE,
)

TF_RULES: tuple[TFRule, ...] = (
    erfc.RULE,
    expm1.RULE,
    is_finite.RULE,
    einsum.RULE,
    cumsum.RULE,
    tfl_gelu.RULE,
    erfinv.RULE,
    inline_calls.RULE,
)

#: every rule of every family
RULES: tuple[Rule, ...] = (*ONNX_RULES, *TORCH_RULES, *TF_RULES)

#: whole-model passes an ONNX pass runs after its node rules
PASSES: tuple[ModelPass, ...] = (VersionConvert(),)

_BY_FAMILY: dict[str, tuple[Any, ...]] = {"onnx": ONNX_RULES, "torch": TORCH_RULES,
                                          "tf": TF_RULES}


def rules(family: Family | None = None) -> tuple[Rule, ...]:
    """The rules of `family` (None: all), in order."""
    if family is None:
        return RULES
    if family not in FAMILIES:
        raise ValueError(f"unknown rule family {family!r} (known: {', '.join(FAMILIES)})")
    return cast(tuple[Rule, ...], _BY_FAMILY[family])


def default_rules(family: Family) -> tuple[Rule, ...]:
    """The rules a family runs without being named: its exact ones."""
    return tuple(r for r in rules(family) if r.exact)


def rule(rule_id: str, family: Family | None = None) -> Rule:
    """The rule with this id (of `family` when given); UnknownRule lists the known ids."""
    for candidate in rules(family):
        if candidate.id == rule_id:
            return candidate
    raise UnknownRule([rule_id], [r.id for r in rules(family)], family)


def named(ids: Iterable[str], family: Family) -> list[Rule]:
    """The rules of `family` named in `ids`, in the order given; UnknownRule names every unknown
    id and the known ones."""
    wanted = list(ids)
    known = {r.id: r for r in rules(family)}
    missing = sorted(set(wanted) - set(known))
    if missing:
        raise UnknownRule(missing, list(known), family)
    return [known[i] for i in wanted]


def model_pass(pass_id: str) -> ModelPass:
    """The whole-model pass with this id; UnknownRule lists the known ones."""
    for candidate in PASSES:
        if candidate.id == pass_id:
            return candidate
    raise UnknownRule([pass_id], [p.id for p in PASSES])
