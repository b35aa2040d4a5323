"""torch:override-sdpa: the same function as F.scaled_dot_product_attention (mask, causal, scale,
GQA); against the real TorchScript exporter it turns the failing opset 13 / 11 export of an
attention model into a working one, on ORT within float32 tolerance."""

from __future__ import annotations

from typing import Any

import onnx.checker
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from rewrites.torch import attention
from rewrites.torch.testing import export, max_abs_error, op_types


def _qkv(heads: int = 2, kv_heads: int = 2, tq: int = 5, tk: int = 5) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(0)
    return (torch.randn(2, heads, tq, 8, generator=g), torch.randn(2, kv_heads, tk, 8, generator=g),
            torch.randn(2, kv_heads, tk, 8, generator=g))


@pytest.mark.parametrize("kwargs,shape", [
    ({}, {}),
    ({"is_causal": True}, {}),
    ({"is_causal": True}, {"tq": 3, "tk": 6}),
    ({"scale": 0.3}, {}),
    ({"attn_mask": torch.rand(5, 5) > 0.3}, {}),
    ({"attn_mask": torch.randn(2, 1, 5, 5)}, {}),
    ({"enable_gqa": True}, {"heads": 4, "kv_heads": 2}),
])
def test_decomposition_matches_torch(kwargs: dict[str, Any], shape: dict[str, int]) -> None:
    q, k, v = _qkv(**shape)
    if "attn_mask" in kwargs and kwargs["attn_mask"].dtype == torch.bool:
        kwargs["attn_mask"][:, 0] = True  # no fully masked row
    torch.testing.assert_close(attention.scaled_dot_product_attention(q, k, v, **kwargs),
                               F.scaled_dot_product_attention(q, k, v, **kwargs),
                               rtol=1e-5, atol=1e-5)


class Attn(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.qkv = nn.Linear(8, 24)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, _ = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, 2, 4).permute(2, 0, 3, 1, 4)
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        future = torch.arange(n)[None, :] > torch.arange(n)[:, None]
        c = F.scaled_dot_product_attention(q, k, v, attn_mask=torch.where(future, -1.0, 0.0))
        return (a + c).transpose(1, 2).reshape(b, n, 8)


@pytest.fixture(scope="module")
def net() -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    torch.manual_seed(0)
    return Attn().eval(), (torch.randn(2, 6, 8),)


@pytest.mark.parametrize("opset", [13, 11])
def test_torchscript_fails_below_14_without_it_and_exports_with_it(  # type: ignore[no-untyped-def]
        net, opset: int) -> None:
    module, args = net
    model, why, _ = export(module, args, "torchscript", opset, rules=())
    assert model is None and "scaled_dot_product_attention" in (why or "")
    model, why, rewrite = export(module, args, "torchscript", opset, rules=None)
    assert why is None and model is not None, why
    assert rewrite.applied == [attention.RULE.id]
    assert {"MatMul", "Softmax"} <= op_types(model)
    onnx.checker.check_model(model, full_check=True)
    assert max_abs_error(model, module, args) < 1e-5
    assert F.scaled_dot_product_attention is torch._C._nn.scaled_dot_product_attention


def test_dynamo_with_dynamic_shapes_needs_it_below_14(net) -> None:  # type: ignore[no-untyped-def]
    module, args = net
    batch = ({0: "batch"},)
    model, why, _ = export(module, args, "dynamo", 13, rules=(), dynamic_shapes=batch)
    assert model is None and "Trilu" in (why or "")
    model, why, rewrite = export(module, args, "dynamo", 13, rules=None, dynamic_shapes=batch)
    assert why is None and model is not None, why
    assert rewrite.applied == [attention.RULE.id]
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param  # still dynamic
    onnx.checker.check_model(model, full_check=True)
    assert max_abs_error(model, module, args) < 1e-5
