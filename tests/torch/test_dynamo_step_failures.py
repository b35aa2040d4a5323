"""Issue 18: the default (table) dynamo pre-flight sees the exporter's step-2/3 decomposition
failures (MaxViT with fused attention) and step-3/3 translation failures (a translation that
rejects its arguments' ranks: Hiera's 5-D attention; a decomposition that declines its
arguments) that torch.export cannot, and agrees with the real export on architectures in the
style of public vision and language models."""

from __future__ import annotations

import contextlib
import io
import tempfile
from pathlib import Path

import onnx
import pytest
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from analyzer.finding_ids import EXP102, EXP111
from analyzer.workflows.torch_preflight import analyze_torch, analyze_torch_opsets
from opsets.torch_translation_limits import RANK_LIMITS
from tests.fixtures.torch_arch_corpus import ARCHITECTURES, DYNAMO_FAILS

FIXTURE = "torch_arch_corpus.py"


def _real_dynamo(module: nn.Module, args: tuple, opset: int) -> str | None:
    """None when torch.onnx.export(dynamo=True) writes the model at `opset`, else why not (the
    root cause, or the opset it silently delivered instead: below 18 a failed down-conversion
    keeps 18)."""
    try:
        with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()):
            path = Path(tmp) / "m.onnx"
            torch.onnx.export(module, args, str(path), dynamo=True, opset_version=opset)
            got = next(o.version for o in onnx.load(str(path)).opset_import
                       if o.domain in ("", "ai.onnx"))
            if got != opset:
                return f"delivered opset {got}"
    except Exception as exc:  # noqa: BLE001
        root: BaseException = exc
        while root.__cause__ is not None:
            root = root.__cause__
        return str(root)
    return None


class Sdpa5d(nn.Module):
    """Hiera-style mask-unit attention: (batch, heads, windows, tokens, dim)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q = x.view(1, 2, 3, 4, 8)
        return F.scaled_dot_product_attention(q, q, q).sum()


def test_maxvit_fused_attention_is_a_decompose_failure_by_default() -> None:
    module, args = ARCHITECTURES["maxvit_fused"]()
    report = analyze_torch(module, args, opset=18)
    found = [f for f in report.findings if f.id == EXP111.id]
    assert report.verdict == "fail" and len(found) == 1
    f = found[0]
    assert "step 2/3" in f.message and "Cannot view a tensor" in f.message
    # the user's line: the reshape of the attention output in FusedAttentionCl.forward
    assert f.location and FIXTURE in f.location
    line = int(f.location.rsplit(":", 1)[1])
    source = (Path(__file__).parents[1] / "fixtures" / FIXTURE).read_text().splitlines()
    assert "scaled_dot_product_attention" in source[line - 2] and ".reshape(" in source[line - 1]
    assert any("set_fused_attn(False)" in (x.hint or "") for x in f.fixes)
    real = _real_dynamo(module, args, 18)
    assert real is not None and "Cannot view a tensor" in real
    # the fix it proposes (matmul + softmax attention: the plain MaxViT block) exports
    plain, plain_args = ARCHITECTURES["maxvit"]()
    assert analyze_torch(plain, plain_args, opset=18).verdict != "fail"
    assert _real_dynamo(plain, plain_args, 18) is None


def test_t5_sdpa_attention_is_a_decompose_failure_at_18_and_20() -> None:
    """The issue's T5 encoder class: fails in step 2/3 at 18 and 20 alike."""
    module, args = ARCHITECTURES["t5_encoder_sdpa"]()
    reports = analyze_torch_opsets(module, args, [18, 20])
    for opset, report in reports.items():
        found = [f for f in report.findings if f.id == EXP111.id]
        assert report.verdict == "fail" and len(found) == 1, opset
        assert any("attn_implementation" in (x.hint or "") for x in found[0].fixes)
        line = int((found[0].location or ":0").rsplit(":", 1)[1])
        source = (Path(__file__).parents[1] / "fixtures" / FIXTURE).read_text().splitlines()
        assert ".contiguous().view(" in source[line - 1]
        real = _real_dynamo(module, args, opset)
        assert real is not None and "Cannot view a tensor" in real


def test_hiera_5d_attention_is_a_translate_failure_by_default() -> None:
    module, args = ARCHITECTURES["hiera"]()
    report = analyze_torch(module, args, opset=18)
    found = [f for f in report.findings if f.id == EXP102.id]
    assert report.verdict == "fail" and len(found) == 1  # one finding for the three blocks
    f = found[0]
    assert len(f.nodes) == 3
    assert f.op == "aten::scaled_dot_product_attention"
    assert "step 3/3" in f.message and "rank 5" in f.message
    assert f.location and FIXTURE in f.location and "attn" in f.location
    assert any("custom_translation_table" in (x.hint or "") for x in f.fixes)
    # and the real export does fail there, with the message the finding quotes
    real = _real_dynamo(module, args, 18)
    assert real is not None and "only 4D query, key, and value" in real


@pytest.mark.parametrize("limit", RANK_LIMITS, ids=lambda lim: lim.overload)
def test_every_rank_limit_matches_the_real_translation(limit) -> None:
    """Each table entry is re-checked against the installed exporter: a call with a rejected
    rank fails for real with the quoted message, and the pre-flight says so."""
    assert limit.overload == "aten::scaled_dot_product_attention"  # the module below exercises it
    module, args = Sdpa5d().eval(), (torch.randn(1, 2, 3, 4, 8),)
    real = _real_dynamo(module, args, 18)
    assert real is not None and limit.raises in real
    report = analyze_torch(module, args, opset=18)
    assert [f.op for f in report.findings if f.id == EXP102.id] == [limit.overload]


def test_4d_attention_and_vmap_programs_pass() -> None:
    """No false alarms: 4-D SDPA (Llama block) passes; a program with vmap levels (non-overload
    calls, which now trigger the real step 2/3) passes both in the pre-flight and for real."""

    class VmapMask(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            n = x.shape[-1]

            def causal(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
                return k <= q

            mask = torch.vmap(torch.vmap(causal, in_dims=(None, 0)), in_dims=(0, None))(
                torch.arange(n), torch.arange(n))
            return x.masked_fill(~mask, -1e9).softmax(-1)

    for module, args in (ARCHITECTURES["llama"](), (VmapMask().eval(), (torch.randn(2, 6, 6),))):
        report = analyze_torch(module, args, opset=18)
        assert report.verdict != "fail", [f.message for f in report.findings]
        assert not [f for f in report.findings if f.id in (EXP102.id, EXP111.id)]
        assert _real_dynamo(module, args, 18) is None


def _agreement(opset: int) -> list[str]:
    wrong = []
    for name, build in ARCHITECTURES.items():
        module, args = build()
        predicted_fail = analyze_torch(module, args, opset=opset).verdict == "fail"
        real_fail = _real_dynamo(module, args, opset) is not None
        assert real_fail == ((name, opset) in DYNAMO_FAILS), (name, opset)
        if predicted_fail != real_fail:
            wrong.append(name)
    return wrong


def test_architectures_agree_with_the_real_export_at_18() -> None:
    assert _agreement(18) == []


@pytest.mark.slow
@pytest.mark.parametrize("opset", [17, 20])
def test_architectures_agree_with_the_real_export(opset: int) -> None:
    assert _agreement(opset) == []


class AdaptiveMaxPool(nn.Module):
    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.adaptive_max_pool1d(x, self.size)


@pytest.mark.parametrize(("size", "fails"), [(4, False), (3, True)])
def test_a_decomposition_that_declines_its_arguments(size: int, fails: bool) -> None:
    """adaptive_max_pool1d has no translation; torch decomposes it to adaptive_max_pool2d, whose
    own decomposition only applies when the output size divides the input: 8 -> 3 leaves the op
    for the dispatcher, which has nothing for it (step 3/3). The tables list both as
    "decomposed"; the pre-flight runs the real decomposition and sees what it left."""
    module, args = AdaptiveMaxPool(size).eval(), (torch.randn(2, 6, 8),)
    real = _real_dynamo(module, args, 18)
    assert (real is not None) == fails
    report = analyze_torch(module, args, opset=18)
    assert (report.verdict == "fail") == fails
    if fails:
        assert "No ONNX function found" in (real or "")
        assert any(f.op == "aten::adaptive_max_pool2d" for f in report.findings)


class Isin(nn.Module):
    def forward(self, ids: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
        return torch.isin(ids, other)


@pytest.mark.parametrize(("dynamic", "fails"), [(False, False), (True, True)])
def test_isin_decomposes_differently_with_a_dynamic_batch(dynamic: bool, fails: bool) -> None:
    """With a symbolic batch torch's isin decomposition takes its sort + searchsorted branch, and
    searchsorted has no translation: only the real decomposition shows which branch runs."""
    args = (torch.randint(0, 9, (4, 5)), torch.tensor([1, 2, 3]))
    shapes = ({0: "batch"}, None) if dynamic else None
    report = analyze_torch(Isin(), args, opset=18, dynamic_shapes=shapes)
    assert (report.verdict == "fail") == fails
    try:
        with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()):
            torch.onnx.export(Isin(), args, str(Path(tmp) / "m.onnx"), dynamo=True,
                              opset_version=18, dynamic_shapes=shapes)
        real_fail = False
    except Exception:  # noqa: BLE001
        real_fail = True
    assert real_fail == fails
    if fails:
        assert any(f.op == "aten::searchsorted" for f in report.findings)


class MaskedAttentionReshape(nn.Module):
    """Attention with a float mask whose transposed output is reshaped (as MaxViT/Swin code does):
    for some masks the exporter's step 2/3 cannot take the view the reshape became (measured:
    a 2-D slice of a bias parameter fails, the 4-D bias itself and no mask export)."""

    def __init__(self, mask: str) -> None:
        super().__init__()
        self.kind = mask
        self.proj = nn.Linear(32, 32)
        self.bias = nn.Parameter(torch.randn(1, 4, 16, 16))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q = self.proj(x).view(x.shape[0], 16, 4, 8).transpose(1, 2)
        mask = {"none": None, "slice2d": self.bias[0, 0], "full4d": self.bias}[self.kind]
        out = F.scaled_dot_product_attention(q, q, q, attn_mask=mask)
        return out.transpose(1, 2).reshape(x.shape[0], 4, 4, -1)


@pytest.mark.parametrize(("mask", "fails"), [("none", False), ("slice2d", True),
                                             ("full4d", False)])
def test_masked_attention_reshape_agrees_with_step_2(mask: str, fails: bool) -> None:
    module, args = MaskedAttentionReshape(mask).eval(), (torch.randn(2, 16, 32),)
    real = _real_dynamo(module, args, 18)
    assert (real is not None) == fails
    report = analyze_torch(module, args, opset=18)
    assert (report.verdict == "fail") == fails
    assert any(f.id == EXP111.id for f in report.findings) == fails
