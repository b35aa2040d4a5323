"""Findings meet rules in one place (analyzer.workflows.rule_fixes): the PyTorch pre-flight's
proposals become fixes of the findings they answer (moved from rewrites/torch/rule_test.py,
which may not import the workflows above it)."""

from __future__ import annotations

import pytest

from analyzer.findings import Finding
from analyzer.workflows.rule_fixes import attach_source_fixes, attach_tf_fixes

torch = pytest.importorskip("torch")


def test_proposed_source_rules_answer_exp103() -> None:
    import torch.nn.functional as F  # noqa: N812
    from torch import nn

    from rewrites.torch.proposals import propose
    from rewrites.torch.rule import SourceModel
    from rewrites.torch.testing import capture_ops

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.norm = nn.LayerNorm(8)
            self.act = nn.GELU()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return F.gelu(self.act(self.norm(x)))

    net = Net().eval()
    ops = capture_ops(net, (torch.randn(2, 8),), "torchscript", 13)
    dyn = {p.rule: p for p in propose(SourceModel(net, "dynamo", 13, ops))}
    finding = Finding("EXP103", "error", "cannot convert down")
    attach_source_fixes([finding], list(dyn.values()))
    assert [f.rule for f in finding.fixes] == ["torch:decompose-layer-norm"]


def test_tf_rules_answer_by_op_and_opset_in_front() -> None:
    from analyzer.findings import Fix

    finding = Finding("TFC601", "error", "no handler", op="Erfc", fixes=[Fix("opset", min=9)])
    attach_tf_fixes([finding], 13)
    assert [f.kind for f in finding.fixes] == ["rewrite", "opset"]
    assert finding.fixes[0].rule == "tf:erfc"
