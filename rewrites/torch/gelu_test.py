"""torch:decompose-gelu: the same function as F.gelu in both forms; measured against the real
exporters it is never needed, so it runs only when named (and then writes no Pow)."""

from __future__ import annotations

import onnx.checker
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from rewrites.torch import gelu
from rewrites.torch.testing import export, max_abs_error, op_types


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.act = nn.GELU(approximate="tanh")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.gelu(self.act(x)) - x


@pytest.fixture(scope="module")
def net() -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    return Net().eval(), (torch.linspace(-6, 6, 40).reshape(5, 8),)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_decomposition_is_torchs_function(approximate: str) -> None:
    x = torch.linspace(-10, 10, 401)
    torch.testing.assert_close(gelu.gelu(x, approximate), F.gelu(x, approximate=approximate))


def test_dynamo_exports_tanh_gelu_at_14_without_it(net) -> None:  # type: ignore[no-untyped-def]
    module, args = net
    model, why, rewrite = export(module, args, "dynamo", 14, rules=None)
    assert why is None and model is not None, why
    assert gelu.RULE.id not in rewrite.applied
    assert max_abs_error(model, module, args) < 1e-5


def test_named_it_writes_no_pow(net) -> None:  # type: ignore[no-untyped-def]
    module, args = net
    model, why, rewrite = export(module, args, "dynamo", 14, rules=[gelu.RULE.id])
    assert why is None and model is not None and rewrite.applied == [gelu.RULE.id]
    assert "Pow" not in op_types(model) and "Tanh" in op_types(model)
    onnx.checker.check_model(model, full_check=True)
    assert max_abs_error(model, module, args) < 1e-5
