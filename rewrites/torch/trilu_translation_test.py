"""torch:translate-trilu against the real exporters: aten::tril / triu have no ONNX form below opset
14 (TorchScript raises, dynamo's Trilu cannot be converted down); the rule registers one for
the export, and the result equals torch on ORT at opsets 13 and 11, with a dynamic axis too."""

from __future__ import annotations

import onnx.checker
import pytest
import torch
from torch import nn

from rewrites.torch import trilu_translation
from rewrites.torch.testing import export, max_abs_error, op_types


class Net(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.tril() + x.triu(1) * 2.0 + torch.tril(x, -1) * 3.0 + x.triu(-2) * 5.0


@pytest.fixture(scope="module")
def net() -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    torch.manual_seed(0)
    return Net().eval(), (torch.randn(2, 4, 6),)


@pytest.mark.parametrize("exporter,opset", [("torchscript", 13), ("torchscript", 11),
                                            ("dynamo", 13)])
def test_missing_below_14_and_translated_with_it(  # type: ignore[no-untyped-def]
        net, exporter: str, opset: int) -> None:
    module, args = net
    shapes = ({1: "rows"},) if exporter == "dynamo" else None  # static ones would be folded
    model, why, _ = export(module, args, exporter, opset, rules=(), dynamic_shapes=shapes)
    assert model is None and ("tril" in (why or "").lower())
    model, why, rewrite = export(module, args, exporter, opset, rules=None,
                                 dynamic_shapes=shapes)
    assert why is None and model is not None, why
    assert rewrite.applied == [trilu_translation.RULE.id]
    assert "Trilu" not in op_types(model)
    onnx.checker.check_model(model, full_check=True)
    assert max_abs_error(model, module, args) < 1e-6
