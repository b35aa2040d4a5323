"""torch:decompose-layer-norm against the real dynamo exporter: LayerNormalization (opset 17) blocks
opset 16 and below; the rule exports at 11 with module and functional forms, affine or not."""

from __future__ import annotations

import onnx.checker
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from rewrites.torch import layer_norm
from rewrites.torch.testing import export, max_abs_error, op_types


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(8, eps=1e-3)
        self.plain = nn.LayerNorm((4, 8), elementwise_affine=False)
        with torch.no_grad():
            self.norm.weight.uniform_(0.5, 1.5)
            self.norm.bias.uniform_(-1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(self.plain(self.norm(x)) * 3.0, (8,))


@pytest.fixture(scope="module")
def net() -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    torch.manual_seed(0)
    return Net().eval(), (torch.randn(2, 4, 8) * 5 + 1,)


@pytest.mark.parametrize("shape,normalized", [((3, 8), (8,)), ((2, 3, 4, 5), (4, 5))])
def test_decomposition_matches_torch(shape: tuple[int, ...], normalized: tuple[int, ...]) -> None:
    x = torch.randn(shape) * 10
    w, b = torch.randn(normalized), torch.randn(normalized)
    torch.testing.assert_close(layer_norm.layer_norm(x, normalized, w, b, 1e-5),
                               F.layer_norm(x, normalized, w, b, 1e-5), rtol=1e-5, atol=1e-5)


def test_dynamo_needs_it_below_17(net) -> None:  # type: ignore[no-untyped-def]
    module, args = net
    model, why, _ = export(module, args, "dynamo", 16, rules=())
    assert model is None and "LayerNormalization" in (why or "")
    model, why, rewrite = export(module, args, "dynamo", 11, rules=None)
    assert why is None and model is not None, why
    assert rewrite.applied == [layer_norm.RULE.id]
    assert "LayerNormalization" not in op_types(model)
    onnx.checker.check_model(model, full_check=True)
    assert max_abs_error(model, module, args) < 1e-4
    names = {i.name for i in model.graph.initializer}
    assert {"norm.weight", "norm.bias"} <= names  # swapped module kept its parameter names
