"""torch:decompose-hardswish against the real dynamo exporter: HardSwish blocks opset 13, the rule
removes it; the TorchScript exporter needs no rule."""

from __future__ import annotations

import onnx.checker
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from rewrites.torch import hardswish
from rewrites.torch.testing import export, max_abs_error, op_types


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 8)
        self.act = nn.Hardswish()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.hardswish(self.fc(self.act(x)))


@pytest.fixture(scope="module")
def net() -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    torch.manual_seed(0)
    return Net().eval(), (torch.linspace(-5, 5, 32).reshape(4, 8),)


def test_decomposition_is_torchs_function() -> None:
    x = torch.linspace(-6, 6, 241)
    torch.testing.assert_close(hardswish.hardswish(x), F.hardswish(x), rtol=0, atol=1e-7)


def test_dynamo_needs_it_below_14_and_exports_with_it(net) -> None:  # type: ignore[no-untyped-def]
    module, args = net
    model, why, _ = export(module, args, "dynamo", 13, rules=())
    assert model is None and "HardSwish" in (why or "")
    model, why, rewrite = export(module, args, "dynamo", 13, rules=None)
    assert why is None and model is not None
    assert rewrite.applied == [hardswish.RULE.id]
    assert "HardSwish" not in op_types(model)
    onnx.checker.check_model(model, full_check=True)
    assert max_abs_error(model, module, args) < 1e-5
    assert isinstance(module.act, nn.Hardswish)  # swapped back


def test_torchscript_needs_no_rule(net) -> None:  # type: ignore[no-untyped-def]
    module, args = net
    model, why, rewrite = export(module, args, "torchscript", 11, rules=None)
    assert why is None and model is not None and rewrite.applied == []
    assert max_abs_error(model, module, args) < 1e-5
