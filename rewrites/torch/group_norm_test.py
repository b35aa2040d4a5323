"""torch:decompose-group-norm: the same function as F.group_norm; measured against the real
exporters it is never needed (GroupNorm exports at opset 11 with both), so it runs only when
named and then removes InstanceNormalization."""

from __future__ import annotations

import onnx.checker
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from rewrites.torch import group_norm
from rewrites.torch.testing import export, max_abs_error, op_types


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.norm = nn.GroupNorm(2, 6)
        with torch.no_grad():
            self.norm.weight.uniform_(0.5, 1.5)
            self.norm.bias.uniform_(-1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.group_norm(self.norm(x), 3)


@pytest.fixture(scope="module")
def net() -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    torch.manual_seed(0)
    return Net().eval(), (torch.randn(2, 6, 5, 4) * 3,)


@pytest.mark.parametrize("shape,groups", [((2, 6, 5), 3), ((1, 8, 4, 4), 2), ((3, 4, 2, 2, 2), 4)])
def test_decomposition_matches_torch(shape: tuple[int, ...], groups: int) -> None:
    x = torch.randn(shape) * 4
    w, b = torch.randn(shape[1]), torch.randn(shape[1])
    torch.testing.assert_close(group_norm.group_norm(x, groups, w, b, 1e-5),
                               F.group_norm(x, groups, w, b, 1e-5), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(group_norm.group_norm(x, groups), F.group_norm(x, groups),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("exporter", ["dynamo", "torchscript"])
def test_not_needed_at_opset_11(net, exporter: str) -> None:  # type: ignore[no-untyped-def]
    module, args = net
    model, why, rewrite = export(module, args, exporter, 11, rules=None)
    assert why is None and model is not None, why
    assert group_norm.RULE.id not in rewrite.applied
    assert max_abs_error(model, module, args) < 1e-4


def test_named_it_removes_instance_normalization(net) -> None:  # type: ignore[no-untyped-def]
    module, args = net
    model, why, rewrite = export(module, args, "torchscript", 11, rules=[group_norm.RULE.id])
    assert why is None and model is not None and rewrite.applied == [group_norm.RULE.id]
    assert "InstanceNormalization" not in op_types(model)
    onnx.checker.check_model(model, full_check=True)
    assert max_abs_error(model, module, args) < 1e-4
