"""torch:translate-celu against the real exporters: aten::celu has no ONNX form below opset 12 in
either exporter; the rule registers one (TorchScript symbolic, dynamo custom translation) for
the duration of the export, and the result equals torch's CELU on ORT."""

from __future__ import annotations

import onnx.checker
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from rewrites.torch import celu_translation
from rewrites.torch.testing import export, max_abs_error, op_types


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.act = nn.CELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.celu(self.act(x), alpha=2.5)


@pytest.fixture(scope="module")
def net() -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    return Net().eval(), (torch.linspace(-8, 8, 48).reshape(6, 8),)


@pytest.mark.parametrize("exporter", ["torchscript", "dynamo"])
def test_missing_at_11_and_translated_with_it(net, exporter: str) -> None:  # type: ignore[no-untyped-def]
    module, args = net
    model, why, _ = export(module, args, exporter, 11, rules=())
    assert model is None and ("celu" in (why or "").lower())
    model, why, rewrite = export(module, args, exporter, 11, rules=None)
    assert why is None and model is not None, why
    assert rewrite.applied == [celu_translation.RULE.id]
    assert "Celu" not in op_types(model) and "Elu" in op_types(model)
    onnx.checker.check_model(model, full_check=True)
    assert max_abs_error(model, module, args) < 1e-5
    # the registration is gone: the same export fails again
    model, why, _ = export(module, args, exporter, 11, rules=())
    assert model is None


def test_not_proposed_where_celu_exists(net) -> None:  # type: ignore[no-untyped-def]
    module, args = net
    model, why, rewrite = export(module, args, "torchscript", 12, rules=None)
    assert why is None and model is not None and rewrite.applied == []
    assert "Celu" in op_types(model)
