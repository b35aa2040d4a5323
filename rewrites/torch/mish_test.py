"""torch:decompose-mish against the real dynamo exporter: ONNX Mish (opset 18) blocks every lower
opset; the rule exports at 17 and 11. The TorchScript exporter decomposes Mish itself."""

from __future__ import annotations

import onnx.checker
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from rewrites.torch import mish
from rewrites.torch.testing import export, max_abs_error, op_types


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.act = nn.Mish()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.mish(self.act(x) * 2.0)


@pytest.fixture(scope="module")
def net() -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    return Net().eval(), (torch.linspace(-8, 8, 48).reshape(6, 8),)


def test_decomposition_is_torchs_function() -> None:
    x = torch.linspace(-30, 30, 601)
    torch.testing.assert_close(mish.mish(x), F.mish(x))


def test_dynamo_needs_it_below_18(net) -> None:  # type: ignore[no-untyped-def]
    module, args = net
    model, why, _ = export(module, args, "dynamo", 17, rules=())
    assert model is None and "Mish" in (why or "")
    for opset in (17, 11):
        model, why, rewrite = export(module, args, "dynamo", opset, rules=None)
        assert why is None and model is not None, why
        assert mish.RULE.id in rewrite.applied and "Mish" not in op_types(model)
        onnx.checker.check_model(model, full_check=True)
        assert max_abs_error(model, module, args) < 1e-5


def test_torchscript_needs_no_rule(net) -> None:  # type: ignore[no-untyped-def]
    module, args = net
    model, why, rewrite = export(module, args, "torchscript", 11, rules=None)
    assert why is None and model is not None and rewrite.applied == []
    assert "Mish" not in op_types(model)
