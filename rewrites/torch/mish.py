"""torch:decompose-mish: nn.Mish / F.mish as x * tanh(softplus(x)).

ONNX Mish exists from opset 18 only and the dynamo exporter emits it as such, so a model with
Mish cannot be delivered below 18 (onnx's converter: "No Previous Version of Mish"). The
TorchScript exporter already decomposes it. Exact: torch's own definition.
"""

from __future__ import annotations

from typing import Any

from rewrites.torch.rule import DecompositionRule, TorchTarget, decomposed_module


def mish(input: Any, inplace: bool = False) -> Any:
    """x * tanh(softplus(x)); `inplace` is ignored (export only)."""
    import torch
    import torch.nn.functional as F

    return input * torch.tanh(F.softplus(input))


def _kinds() -> tuple[type, ...]:
    from torch import nn

    return (nn.Mish,)


def _functions() -> dict[Any, Any]:
    import torch.nn.functional as F

    return {F.mish: mish}


RULE = DecompositionRule(
    id="torch:decompose-mish",
    summary="Mish as x * tanh(softplus(x)) (ONNX Mish needs opset 18)",
    targets=(TorchTarget("aten::mish", "dynamo", (7, 17)),),
    ops=("aten::mish",),
    module_kinds=_kinds,
    swap=lambda m: decomposed_module(m, lambda self, x: mish(x)),
    functions=_functions,
)
