"""torch:decompose-silu: nn.SiLU / F.silu as x * sigmoid(x).

Both exporters already write SiLU as Mul(x, Sigmoid(x)) at every opset (measured with
torch 2.13: no opset from 11 to 18 fails on SiLU alone), so this rule is never proposed; it runs
when named, e.g. to keep a SiLU out of a fused form a backend lacks. Exact.
"""

from __future__ import annotations

from typing import Any

from rewrites.torch.rule import DecompositionRule, decomposed_module


def silu(input: Any, inplace: bool = False) -> Any:
    """x * sigmoid(x); `inplace` is ignored (export only)."""
    import torch

    return input * torch.sigmoid(input)


def _kinds() -> tuple[type, ...]:
    from torch import nn

    return (nn.SiLU,)


def _functions() -> dict[Any, Any]:
    import torch.nn.functional as F

    return {F.silu: silu}


RULE = DecompositionRule(
    id="torch:decompose-silu",
    summary="SiLU as x * sigmoid(x) (never needed for opset support; runs when named)",
    targets=(),
    ops=("aten::silu",),
    module_kinds=_kinds,
    swap=lambda m: decomposed_module(m, lambda self, x: silu(x)),
    functions=_functions,
)
