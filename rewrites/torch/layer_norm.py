"""torch:decompose-layer-norm: nn.LayerNorm / F.layer_norm as mean / variance arithmetic.

ONNX LayerNormalization exists from opset 17; the dynamo exporter emits it, so below 17 the model
cannot be delivered ("No Previous Version of LayerNormalization"). The TorchScript exporter
decomposes it itself below 17. The decomposition uses ReduceMean, Sub, Mul, Sqrt, Div (every
opset); the variance is centered * centered, not a Pow (Pow-15 has no down-conversion).
Exact up to rounding: float32 inputs agree with torch's fused kernel to about 1e-6; float16
inputs are computed in float16 here (torch accumulates in float32).
"""

from __future__ import annotations

from typing import Any

from rewrites.torch.rule import DecompositionRule, TorchTarget, decomposed_module


def layer_norm(input: Any, normalized_shape: Any, weight: Any = None, bias: Any = None,
               eps: float = 1e-5) -> Any:
    """F.layer_norm from elementwise ops and means over the last len(normalized_shape) dims."""
    import torch

    dims = tuple(range(-len(tuple(normalized_shape)), 0))
    centered = input - input.mean(dims, keepdim=True)
    variance = (centered * centered).mean(dims, keepdim=True)
    out = centered / torch.sqrt(variance + eps)
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def _kinds() -> tuple[type, ...]:
    from torch import nn

    return (nn.LayerNorm,)


def _functions() -> dict[Any, Any]:
    import torch
    import torch.nn.functional as F

    return {F.layer_norm: layer_norm, torch.layer_norm: _torch_layer_norm}


def _torch_layer_norm(input: Any, normalized_shape: Any, weight: Any = None, bias: Any = None,
                      eps: float = 1e-5, cudnn_enable: bool = True) -> Any:
    return layer_norm(input, normalized_shape, weight, bias, eps)


def _swap(m: Any) -> Any:
    shape, eps = tuple(m.normalized_shape), m.eps
    return decomposed_module(m, lambda self, x: layer_norm(
        x, shape, getattr(self, "weight", None), getattr(self, "bias", None), eps))


RULE = DecompositionRule(
    id="torch:decompose-layer-norm",
    summary="LayerNorm as mean/variance arithmetic (ONNX LayerNormalization needs opset 17)",
    targets=(TorchTarget("aten::layer_norm", "dynamo", (7, 16)),),
    ops=("aten::layer_norm", "aten::native_layer_norm"),
    module_kinds=_kinds,
    swap=_swap,
    functions=_functions,
)
