"""PyTorch factories of the scan tests' small zoo (imported by the scan's children as
tests.scan.zoo_models:NAME, from the repository root)."""

from __future__ import annotations

import os

import torch


class _Mlp(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.fc(x))


class _Norm(torch.nn.Module):
    """LayerNormalization exists from opset 17: TorchScript decomposes it below."""

    def __init__(self) -> None:
        super().__init__()
        self.norm = torch.nn.LayerNorm(8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x) * 2.0


def mlp() -> tuple[torch.nn.Module, tuple[torch.Tensor]]:
    return _Mlp().eval(), (torch.randn(2, 8),)


def norm() -> tuple[torch.nn.Module, tuple[torch.Tensor]]:
    return _Norm().eval(), (torch.randn(2, 8),)


def aborts() -> torch.nn.Module:
    """A factory that takes its process down (a native crash): the cell is `crashed`."""
    os.abort()
