"""torch:decompose-group-norm: nn.GroupNorm / F.group_norm as a reshape to (N, groups, -1), mean /
variance over the last axis, a reshape back and the per-channel affine.

Measured with torch 2.13 (`group_norm_test.py`): with static shapes both exporters write
GroupNorm as Reshape + InstanceNormalization + affine at every opset from 11 (dynamo after its
optimizer folded the shape arithmetic, lowered by rewrites.torch.lowering), so the rule is
never proposed; it runs when named, e.g. where InstanceNormalization is unwanted. The
decomposition uses Reshape, ReduceMean, Sub, Mul, Sqrt, Div, Add (every opset). Exact up to
rounding (float32 about 1e-6 against torch's kernel).
"""

from __future__ import annotations

from typing import Any

from rewrites.torch.rule import DecompositionRule, decomposed_module


def group_norm(input: Any, num_groups: int, weight: Any = None, bias: Any = None,
               eps: float = 1e-5) -> Any:
    """F.group_norm from reshapes, means and elementwise ops."""
    import torch

    grouped = input.reshape(input.shape[0], num_groups, -1)
    centered = grouped - grouped.mean(-1, keepdim=True)
    variance = (centered * centered).mean(-1, keepdim=True)
    out = (centered / torch.sqrt(variance + eps)).reshape(input.shape)
    channel = (1, input.shape[1]) + (1,) * (input.dim() - 2)
    if weight is not None:
        out = out * weight.reshape(channel)
    if bias is not None:
        out = out + bias.reshape(channel)
    return out


def _kinds() -> tuple[type, ...]:
    from torch import nn

    return (nn.GroupNorm,)


def _functions() -> dict[Any, Any]:
    import torch
    import torch.nn.functional as F

    return {F.group_norm: group_norm, torch.group_norm: _torch_group_norm}


def _torch_group_norm(input: Any, num_groups: int, weight: Any = None, bias: Any = None,
                      eps: float = 1e-5, cudnn_enabled: bool = True) -> Any:
    return group_norm(input, num_groups, weight, bias, eps)


def _swap(m: Any) -> Any:
    groups, eps = m.num_groups, m.eps
    return decomposed_module(m, lambda self, x: group_norm(
        x, groups, getattr(self, "weight", None), getattr(self, "bias", None), eps))


RULE = DecompositionRule(
    id="torch:decompose-group-norm",
    summary="GroupNorm as reshape + mean/variance arithmetic (never needed for opset support)",
    targets=(),
    ops=("aten::group_norm", "aten::native_group_norm"),
    module_kinds=_kinds,
    swap=_swap,
    functions=_functions,
)
