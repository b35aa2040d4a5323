"""torch:override-sdpa: F.scaled_dot_product_attention as explicit MatMul / Softmax.

The TorchScript exporter has a symbolic for aten::scaled_dot_product_attention from opset 14
only (below it the export raises). The dynamo exporter's translation is MatMul / Softmax once
its optimizer folded the shape arithmetic of static shapes, but with dynamic shapes a causal
mask stays a Trilu (opset 14) and the scale Shape / CastLike arithmetic (measured:
`export_test.py`), which no converter takes below 14. This override computes the same attention
from matmul, softmax and elementwise ops, with the causal mask built from arange comparisons
(Range / Greater / Where: every opset from 11, where Trilu would need 14).

Covered: attn_mask (bool: True attends; float: added), is_causal, scale (default
1/sqrt(head dim)), enable_gqa (key / value heads repeated), dropout_p (applied as sdpa does, so
pass 0.0 in eval, as models usually do). Exact up to rounding: torch's math kernel scales q and
k by sqrt(scale) each; here the scores are scaled once (float32 agrees to about 1e-6).
A fully masked row gives NaN here (softmax over -inf only).
"""

from __future__ import annotations

from typing import Any

from rewrites.torch.rule import DecompositionRule, TorchTarget


def scaled_dot_product_attention(query: Any, key: Any, value: Any, attn_mask: Any = None,
                                 dropout_p: float = 0.0, is_causal: bool = False,
                                 scale: float | None = None, enable_gqa: bool = False) -> Any:
    """softmax(q k^T * scale + mask) v, with F.scaled_dot_product_attention's arguments."""
    import torch

    if enable_gqa and key.shape[-3] != query.shape[-3]:
        repeat = query.shape[-3] // key.shape[-3]
        key = key.repeat_interleave(repeat, dim=-3)
        value = value.repeat_interleave(repeat, dim=-3)
    factor = scale if scale is not None else query.shape[-1] ** -0.5
    scores = torch.matmul(query, key.transpose(-2, -1)) * factor
    if is_causal:
        rows = torch.arange(query.shape[-2], device=query.device).unsqueeze(-1)
        cols = torch.arange(key.shape[-2], device=query.device)
        scores = scores.masked_fill(cols > rows, float("-inf"))
    if attn_mask is not None:
        if attn_mask.dtype == torch.bool:
            scores = scores.masked_fill(attn_mask.logical_not(), float("-inf"))
        else:
            scores = scores + attn_mask
    weights = torch.softmax(scores, dim=-1)
    if dropout_p > 0.0:
        weights = torch.dropout(weights, dropout_p, train=True)
    return torch.matmul(weights, value)


def _kinds() -> tuple[type, ...]:
    return ()


def _functions() -> dict[Any, Any]:
    import torch.nn.functional as F

    return {F.scaled_dot_product_attention: scaled_dot_product_attention}


RULE = DecompositionRule(
    id="torch:override-sdpa",
    summary="scaled_dot_product_attention as explicit MatMul/Softmax (exports at opset 11+)",
    targets=(TorchTarget("aten::scaled_dot_product_attention", "torchscript", (7, 13)),
             TorchTarget("aten::scaled_dot_product_attention", "dynamo", (7, 13))),
    ops=("aten::scaled_dot_product_attention",),
    module_kinds=_kinds,
    swap=lambda m: m,
    functions=_functions,
)
