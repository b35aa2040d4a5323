"""torch:decompose-silu: the same function as F.silu; both exporters already write
Mul(x, Sigmoid(x)) at opset 11, so it is never proposed and runs when named."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from rewrites.torch import silu
from rewrites.torch.rule import SourceModel
from rewrites.torch.testing import export, max_abs_error, op_types


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.act = nn.SiLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.silu(self.act(x) + 1.0)


def test_decomposition_is_torchs_function() -> None:
    x = torch.linspace(-20, 20, 401)
    torch.testing.assert_close(silu.silu(x), F.silu(x))


def test_not_proposed_and_named_it_exports_the_same_function() -> None:
    module, args = Net().eval(), (torch.randn(3, 8),)
    model, why, rewrite = export(module, args, "torchscript", 11, rules=None)
    assert why is None and model is not None and silu.RULE.id not in rewrite.applied
    assert {"Sigmoid", "Mul"} <= op_types(model)
    match = silu.RULE.check(SourceModel(module, "torchscript", 11, []))
    assert getattr(match.payload, "modules", None) == ("act",)
    model, why, rewrite = export(module, args, "torchscript", 11, rules=[silu.RULE.id])
    assert why is None and model is not None and rewrite.applied == [silu.RULE.id]
    assert max_abs_error(model, module, args) < 1e-5
