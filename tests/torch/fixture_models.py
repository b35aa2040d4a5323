"""Small torch models for the PyTorch pre-flight tests; each factory is also importable as a
`package.module:factory` spec (e.g. tests.torch.fixture_models:norm_act)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class NormAct(nn.Module):
    """hardswish + layer_norm: LayerNormalization exists only from opset 17."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(8, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(F.hardswish(self.lin(x)), (8,))


def norm_act() -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    torch.manual_seed(0)
    return NormAct().eval(), (torch.randn(2, 8),)


class DataDependent(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.sum() > 0:  # DATA-DEPENDENT-LINE
            return x * 2
        return x - 1


def data_dependent() -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    return DataDependent().eval(), (torch.ones(2, 8),)


class Plain(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.lin(x))


def plain() -> nn.Module:
    torch.manual_seed(0)
    return Plain().eval()


class WithDropout(nn.Module):
    def __init__(self, exportable: bool = False) -> None:
        super().__init__()
        self.exportable = exportable
        self.drop = nn.Dropout(0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(x) + 1


def training_mode() -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    return WithDropout(), (torch.randn(2, 8),)  # not .eval()


@torch.library.custom_op("preflight_test::scale2", mutates_args=())
def scale2(x: torch.Tensor) -> torch.Tensor:
    return x * 2


@scale2.register_fake
def _(x: torch.Tensor) -> torch.Tensor:
    return torch.empty_like(x)


class UsesCustomOp(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return scale2(x) + 1


def custom_op() -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    return UsesCustomOp().eval(), (torch.randn(2, 8),)


def line_of(marker: str) -> int:
    """Line number of a marker comment in this file (so tests do not hard-code lines)."""
    with open(__file__, encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if marker in line and "def line_of" not in line and "marker in line" not in line:
                return number
    raise LookupError(marker)


class Attention3d(nn.Module):
    """scaled_dot_product_attention on 3-D inputs: torch runs it, torchlib's translation
    asserts 4-D inputs (a translation-time failure no table shows)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.scaled_dot_product_attention(x, x, x)


def attention_3d() -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    return Attention3d().eval(), (torch.randn(2, 4, 8),)
