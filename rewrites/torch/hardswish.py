"""torch:decompose-hardswish: nn.Hardswish / F.hardswish as x * relu6(x + 3) / 6.

ONNX HardSwish exists from opset 14 only, and the dynamo exporter emits it as such, so below 14
the model cannot be delivered (onnx's converter: "No Previous Version of HardSwish"). The
TorchScript exporter already writes x * HardSigmoid(x) at every opset, so it needs no rule.
relu6 exports as Clip, which every opset has. Exact: the same formula as torch's kernel.
"""

from __future__ import annotations

from typing import Any

from rewrites.torch.rule import DecompositionRule, TorchTarget, decomposed_module


def hardswish(input: Any, inplace: bool = False) -> Any:
    """x * relu6(x + 3) / 6 (torch's own definition); `inplace` is ignored (export only)."""
    import torch.nn.functional as F

    return input * F.relu6(input + 3.0) / 6.0


def _kinds() -> tuple[type, ...]:
    from torch import nn

    return (nn.Hardswish,)


def _functions() -> dict[Any, Any]:
    import torch.nn.functional as F

    return {F.hardswish: hardswish}


RULE = DecompositionRule(
    id="torch:decompose-hardswish",
    summary="Hardswish as x * relu6(x + 3) / 6 (ONNX HardSwish needs opset 14)",
    targets=(TorchTarget("aten::hardswish", "dynamo", (7, 13)),),
    ops=("aten::hardswish",),
    module_kinds=_kinds,
    swap=lambda m: decomposed_module(m, lambda self, x: hardswish(x)),
    functions=_functions,
)
