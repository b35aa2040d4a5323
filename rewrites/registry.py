"""Every rule of the three families, in the order each family tries them, the whole-model
passes, and the one lookup by id. Explicit tuples, no discovery by import side effects
(DESIGN.md, "Rewrites").

ONNX order matters where two rules answer the same op: the hand-written decompositions come
before onnx:expand-function, because they emit forms valid at any opset (onnx:expand-function
emits the schema body, which can need the op's own, newer opset). PyTorch and TensorFlow rules are
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

#: the ids the rules had before the family prefixes (one namespace: `onnx:`, `torch:`, `tf:`),
#: still accepted on input so that existing scripts keep working; `canonical` maps them
ALIASES: dict[str, str] = {
    "layer-norm-decompose": "onnx:layer-norm-decompose",
    "attention-decompose": "onnx:attention-decompose",
    "expand-function": "onnx:expand-function",
    "cuda-fallback": "onnx:cuda-fallback",
    "cuda-fallback-approx": "onnx:cuda-fallback-approx",
    "approx-relu": "onnx:approx-relu",
    "version-convert": "onnx:version-convert",
    "override-sdpa": "torch:override-sdpa",
    "decompose-layer-norm": "torch:decompose-layer-norm",
    "decompose-group-norm": "torch:decompose-group-norm",
    "decompose-gelu": "torch:decompose-gelu",
    "decompose-hardswish": "torch:decompose-hardswish",
    "decompose-mish": "torch:decompose-mish",
    "decompose-silu": "torch:decompose-silu",
    "translate-celu": "torch:translate-celu",
    "translate-trilu": "torch:translate-trilu",
    "tf-erfc": "tf:erfc",
    "tf-expm1": "tf:expm1",
    "tf-isfinite-9": "tf:isfinite-9",
    "tf-einsum-11": "tf:einsum-11",
    "tf-cumsum-10": "tf:cumsum-10",
    "tfl-gelu": "tf:tfl-gelu",
    "tf-erfinv": "tf:erfinv",
    "tf-inline-noinline": "tf:inline-noinline",
}

#: where each family's rules are applied, for the message that sends a rule to its command
APPLIED_BY: dict[str, str] = {
    "onnx": "an ONNX graph rule: apply it with `onnx-preflight rewrite MODEL.onnx --rules {id} "
            "-o OUT.onnx`",
    "torch": "a PyTorch source rule: apply it with `onnx-preflight export package.module:factory "
             "-o OUT.onnx --rewrite --rules {id}`",
    "tf": "a TensorFlow conversion rule: apply it with `onnx-preflight export SAVEDMODEL "
          "-o OUT.onnx --rewrite --rules {id}`",
}

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


def canonical(rule_id: str) -> str:
    """The id a rule has now: `rule_id` itself, or the prefixed id an old alias stands for."""
    return ALIASES.get(rule_id, rule_id)


def family_of(rule_id: str) -> Family | None:
    """The family of the rule or pass with this id (aliases accepted); None when unknown."""
    wanted = canonical(rule_id)
    for candidate in (*RULES, *PASSES):
        if candidate.id == wanted:
            return getattr(candidate, "family", "onnx")
    return None


def elsewhere(ids: Iterable[str], family: Family | None) -> str:
    """For ids of another family than `family`: which family each is and the command that
    applies it ("" when none is), appended to UnknownRule's message."""
    notes = []
    for rule_id in ids:
        other = family_of(rule_id)
        if other is not None and other != family:
            new = canonical(rule_id)
            notes.append(f"{new} is {APPLIED_BY[other].format(id=new)}")
    return ("; " + "; ".join(notes)) if notes else ""


def rule(rule_id: str, family: Family | None = None) -> Rule:
    """The rule with this id (of `family` when given; old ids are aliases); UnknownRule lists
    the known ids."""
    wanted = canonical(rule_id)
    for candidate in rules(family):
        if candidate.id == wanted:
            return candidate
    raise UnknownRule([rule_id], [r.id for r in rules(family)], family,
                      elsewhere([rule_id], family))


def named(ids: Iterable[str], family: Family) -> list[Rule]:
    """The rules of `family` named in `ids` (old ids are aliases), in the order given;
    UnknownRule names every unknown id, the known ones, and the family of an id that belongs to
    another."""
    wanted = [canonical(i) for i in ids]
    known = {r.id: r for r in rules(family)}
    missing = sorted(set(wanted) - set(known))
    if missing:
        raise UnknownRule(missing, list(known), family, elsewhere(missing, family))
    return [known[i] for i in wanted]


def model_pass(pass_id: str) -> ModelPass:
    """The whole-model pass with this id; UnknownRule lists the known ones."""
    for candidate in PASSES:
        if candidate.id == canonical(pass_id):
            return candidate
    raise UnknownRule([pass_id], [p.id for p in PASSES])
