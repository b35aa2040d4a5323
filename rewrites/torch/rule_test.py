"""The source-rule mechanisms: everything they change is back after the context, also when the
export inside raises; proposals and reasons (their fixes: tests/workflows/test_rule_fixes.py)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from rewrites.torch import gelu, layer_norm
from rewrites.torch.proposals import applied, propose
from rewrites.torch.rule import (
    FunctionOverride,
    SourceModel,
    SymbolicOverride,
    TranslationOverride,
    custom_symbolic_registered,
    swap_modules,
)
from rewrites.torch.testing import capture_ops


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(8)
        self.act = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.gelu(self.act(self.norm(x)))


def test_swap_restores_modules_even_when_the_body_raises() -> None:
    net = Net()
    original = net.norm
    with pytest.raises(RuntimeError), swap_modules(net, ["norm", "act"], lambda m: nn.Identity()):
        assert isinstance(net.norm, nn.Identity) and isinstance(net.act, nn.Identity)
        raise RuntimeError("export failed")
    assert net.norm is original and isinstance(net.act, nn.GELU)


def test_function_override_reroutes_only_inside_and_pops_on_error() -> None:
    calls: list[str] = []

    def fake(x: torch.Tensor, approximate: str = "none") -> torch.Tensor:
        calls.append(approximate)
        return x * 0

    x = torch.ones(3)
    with pytest.raises(ValueError), FunctionOverride({F.gelu: fake}):
        assert torch.equal(F.gelu(x), torch.zeros(3))
        raise ValueError
    assert calls == ["none"]
    assert torch.allclose(F.gelu(x), torch.full((3,), 0.8413447))


def test_symbolic_override_is_unregistered_after_the_export() -> None:
    assert not custom_symbolic_registered("aten::celu", 11)
    with SymbolicOverride("aten::celu", lambda g, x, a: g.op("Elu", x), 11):
        assert custom_symbolic_registered("aten::celu", 11)
    assert not custom_symbolic_registered("aten::celu", 11)


def test_translation_override_leaves_the_table_as_it_found_it() -> None:
    source = SourceModel(Net(), "dynamo", 13)
    source.translations["keep"] = "theirs"
    with TranslationOverride(source, "keep", "ours"), TranslationOverride(source, "new", "x"):
        assert source.translations == {"keep": "ours", "new": "x"}
    assert source.translations == {"keep": "theirs"}


def test_applied_undoes_every_rule_when_the_export_raises() -> None:
    net = Net().eval()
    x = torch.randn(2, 8)
    source = SourceModel(net, "dynamo", 13, capture_ops(net, (x,), "torchscript", 13))
    proposals = propose(source, only=[layer_norm.RULE.id, gelu.RULE.id])
    assert [p.status for p in proposals if p.rule in (layer_norm.RULE.id, gelu.RULE.id)] == [
        "proposed", "proposed"]
    norm = net.norm
    with pytest.raises(RuntimeError), applied(source, proposals) as ids:
        assert ids == [layer_norm.RULE.id, gelu.RULE.id]
        assert type(net.norm).__name__ == "Decomposed"
        # the swapped LayerNorm keeps its parameters under their own names
        assert {n for n, _ in net.named_parameters()} == {"norm.weight", "norm.bias"}
        raise RuntimeError
    assert net.norm is norm and isinstance(net.act, nn.GELU)
    assert torch.allclose(net(x), F.gelu(F.gelu(F.layer_norm(x, (8,), norm.weight, norm.bias))))


def test_proposals_give_reasons_and_fixes_name_the_rules() -> None:
    net = Net().eval()
    x = torch.randn(2, 8)
    ops = capture_ops(net, (x,), "torchscript", 13)
    # functional F.gelu outside the swapped module is counted as a call site
    match = gelu.RULE.check(SourceModel(net, "torchscript", 13, ops))
    assert not isinstance(match, type(None)) and getattr(match.payload, "modules", None) == (
        "act",)
    assert len(getattr(match.payload, "calls", ())) == 1
    dyn = {p.rule: p for p in propose(SourceModel(net, "dynamo", 13, ops))}
    assert dyn["torch:decompose-layer-norm"].status == "proposed"
    assert dyn["torch:decompose-mish"].status == "skipped" and "no Mish module" in (
        dyn["torch:decompose-mish"].reason or "")
    assert dyn["torch:decompose-gelu"].status == "skipped" and "not needed" in (
        dyn["torch:decompose-gelu"].reason or "")
    ts = {p.rule: p for p in propose(SourceModel(net, "torchscript", 13, ops))}
    assert ts["torch:decompose-layer-norm"].status == "skipped"  # TorchScript decomposes it itself
    # the fixes these proposals add to findings: tests/workflows/test_rule_fixes.py
    with pytest.raises(ValueError, match="unknown source rule"):
        propose(SourceModel(net, "dynamo", 13, ops), only=["no-such-rule"])
