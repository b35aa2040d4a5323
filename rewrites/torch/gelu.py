"""torch:decompose-gelu: nn.GELU / F.gelu from Erf (exact form) or Tanh (tanh form), with x*x*x
instead of a power.

Measured with torch 2.13 (`gelu_test.py`): both exporters already write GELU (erf and tanh
forms) from Erf / Tanh arithmetic at every opset from 11 (the dynamo tanh form's Pow-15 is
carried down by rewrites.torch.lowering), so the rule is never proposed; it runs when named,
e.g. to get the tanh form without Pow. Exact: the formulas of torch's kernels
(erf: x/2 (1 + erf(x/sqrt 2)); tanh: x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))).
"""

from __future__ import annotations

import math
from typing import Any

from rewrites.torch.rule import DecompositionRule, decomposed_module


def gelu(input: Any, approximate: str = "none") -> Any:
    """GELU from elementwise ops; `approximate` as in F.gelu."""
    import torch

    if approximate == "tanh":
        inner = math.sqrt(2.0 / math.pi) * (input + 0.044715 * (input * input * input))
        return 0.5 * input * (1.0 + torch.tanh(inner))
    return input * 0.5 * (1.0 + torch.erf(input * (1.0 / math.sqrt(2.0))))


def _kinds() -> tuple[type, ...]:
    from torch import nn

    return (nn.GELU,)


def _functions() -> dict[Any, Any]:
    import torch.nn.functional as F

    return {F.gelu: gelu}


RULE = DecompositionRule(
    id="torch:decompose-gelu",
    summary="GELU as Erf / Tanh arithmetic without Pow (never needed for opset support)",
    targets=(),
    ops=("aten::gelu",),
    module_kinds=_kinds,
    swap=lambda m: decomposed_module(m, lambda self, x: gelu(x, m.approximate)),
    functions=_functions,
)
