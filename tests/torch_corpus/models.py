"""Small PyTorch models that cover what breaks ONNX exports in practice.

Each `CorpusModel` builds, on the CPU and from a fixed seed, a tiny module (in eval mode, unless
the case is about training mode) with example positional and keyword arguments. `CORPUS` holds
them all; tests/torch_corpus/reality.py exports each with the real `torch.onnx.export` (dynamo
and TorchScript exporters) and records what happens.

Tags name the feature a model exercises (``attention``, ``fft``, ``data_dependent``, ...), so a
prediction can be compared with reality per feature. ``dynamic_shapes`` is given per positional
argument as ``{dim: name}`` (None for a static argument): the dynamo exporter takes it as
``dynamic_shapes`` (names become ``Dim.DYNAMIC``), the TorchScript exporter as ``dynamic_axes``
on inputs named ``input_0``, ``input_1``, ... (see `torchscript_dynamic_axes`).

Line numbers in this file matter to one test (a TracerWarning must point into this file), not
their values.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

#: (module, example positional args, example keyword args)
Built = tuple[nn.Module, tuple[Tensor, ...], dict[str, Any]]
#: per positional argument: {dim index: dim name}, or None when that argument is static
DynamicShapes = tuple[dict[int, str] | None, ...]

SEED = 20240601


@dataclass(frozen=True)
class CorpusModel:
    name: str
    build: Callable[[], Built]
    tags: frozenset[str]
    dynamic_shapes: DynamicShapes | None = None


def torchscript_dynamic_axes(
    dynamic_shapes: DynamicShapes | None,
) -> tuple[list[str] | None, dict[str, dict[int, str]] | None]:
    """``(input_names, dynamic_axes)`` for the TorchScript exporter from a corpus spec."""
    if dynamic_shapes is None:
        return None, None
    names = [f"input_{i}" for i in range(len(dynamic_shapes))]
    axes = {name: dict(spec) for name, spec in zip(names, dynamic_shapes, strict=True) if spec}
    return names, axes


def _seed() -> None:
    torch.manual_seed(SEED)


def _eval(module: nn.Module) -> nn.Module:
    return module.eval()


def _randn(*shape: int) -> Tensor:
    return torch.randn(*shape)


# --------------------------------------------------------------------------------------------
# Baselines
# --------------------------------------------------------------------------------------------


class Mlp(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(8, 16)
        self.fc2 = nn.Linear(16, 4)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(torch.relu(self.fc1(x)))


class ConvBnRelu(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)

    def forward(self, x: Tensor) -> Tensor:
        return torch.relu(self.bn(self.conv(x)))


def _mlp() -> Built:
    _seed()
    return _eval(Mlp()), (_randn(2, 8),), {}


def _conv_bn_relu() -> Built:
    _seed()
    return _eval(ConvBnRelu()), (_randn(2, 3, 8, 8),), {}


# --------------------------------------------------------------------------------------------
# Attention
# --------------------------------------------------------------------------------------------


class Sdpa(nn.Module):
    def __init__(self, mode: str) -> None:
        super().__init__()
        self.mode = mode
        self.qkv = nn.Linear(16, 48)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        b, t, _ = x.shape
        q, k, v = self.qkv(x).reshape(b, t, 3, 2, 8).permute(2, 0, 3, 1, 4)
        if self.mode == "causal":
            out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return out.transpose(1, 2).reshape(b, t, 16)


def _sdpa() -> Built:
    _seed()
    return _eval(Sdpa("plain")), (_randn(2, 5, 16),), {}


def _sdpa_mask() -> Built:
    _seed()
    mask = torch.ones(5, 5, dtype=torch.bool).tril()
    return _eval(Sdpa("mask")), (_randn(2, 5, 16), mask), {}


def _sdpa_causal() -> Built:
    _seed()
    return _eval(Sdpa("causal")), (_randn(2, 5, 16),), {}


class Mha(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(16, 2, batch_first=True)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        out, weights = self.attn(x, x, x)
        return out, weights


def _mha() -> Built:
    _seed()
    return _eval(Mha()), (_randn(2, 5, 16),), {}


def _transformer_encoder_layer() -> Built:
    _seed()
    layer = nn.TransformerEncoderLayer(16, 2, dim_feedforward=32, dropout=0.1, batch_first=True)
    return _eval(layer), (_randn(2, 5, 16),), {}


# --------------------------------------------------------------------------------------------
# Activations and normalization
# --------------------------------------------------------------------------------------------


class Activation(nn.Module):
    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.fc = nn.Linear(8, 8)

    def forward(self, x: Tensor) -> Tensor:
        y = self.fc(x)
        if self.kind == "hardswish":
            return F.hardswish(y)
        if self.kind == "silu":
            return F.silu(y)
        if self.kind == "gelu":
            return F.gelu(y)
        if self.kind == "gelu_tanh":
            return F.gelu(y, approximate="tanh")
        if self.kind == "mish":
            return F.mish(y)
        if self.kind == "hardsigmoid":
            return F.hardsigmoid(y)
        raise ValueError(self.kind)


def _activation(kind: str) -> Callable[[], Built]:
    def build() -> Built:
        _seed()
        return _eval(Activation(kind)), (_randn(2, 8),), {}

    return build


class Norm(nn.Module):
    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.norm: nn.Module
        if kind == "layer":
            self.norm = nn.LayerNorm([8, 6, 6])
        elif kind == "group":
            self.norm = nn.GroupNorm(2, 8)
        else:
            self.norm = nn.InstanceNorm2d(8, affine=True)

    def forward(self, x: Tensor) -> Tensor:
        return self.norm(x)


def _norm(kind: str) -> Callable[[], Built]:
    def build() -> Built:
        _seed()
        return _eval(Norm(kind)), (_randn(2, 8, 6, 6),), {}

    return build


# --------------------------------------------------------------------------------------------
# Complex numbers and FFT
# --------------------------------------------------------------------------------------------


class Rfft(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        return torch.fft.rfft(x, dim=-1).abs()


class Fft(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        spec = torch.fft.fft(x, dim=-1)
        return spec.real + spec.imag


class ComplexRope(nn.Module):
    """Rotary embedding done with complex numbers (as in the original LLaMA code)."""

    freqs_cis: Tensor

    def __init__(self) -> None:
        super().__init__()
        freqs = 1.0 / (10000 ** (torch.arange(0, 8, 2).float() / 8))
        angles = torch.outer(torch.arange(6).float(), freqs)
        self.register_buffer("freqs_cis", torch.polar(torch.ones_like(angles), angles))

    def forward(self, x: Tensor) -> Tensor:
        xc = torch.view_as_complex(x.float().reshape(*x.shape[:-1], -1, 2))
        rotated = xc * self.freqs_cis
        return torch.view_as_real(rotated).flatten(-2)


def _rfft() -> Built:
    _seed()
    return _eval(Rfft()), (_randn(2, 16),), {}


def _fft() -> Built:
    _seed()
    return _eval(Fft()), (_randn(2, 16),), {}


def _complex_rope() -> Built:
    _seed()
    return _eval(ComplexRope()), (_randn(2, 6, 8),), {}


# --------------------------------------------------------------------------------------------
# Linear algebra
# --------------------------------------------------------------------------------------------


class Linalg(nn.Module):
    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind

    def forward(self, a: Tensor, b: Tensor) -> Tensor:
        # a is well conditioned: a random matrix plus 4 * identity
        m = a + 4 * torch.eye(a.shape[-1])
        if self.kind == "inv":
            return torch.linalg.inv(m)
        if self.kind == "det":
            return torch.linalg.det(m)
        if self.kind == "svd":
            return torch.linalg.svd(m).S
        if self.kind == "qr":
            q, r = torch.linalg.qr(m)
            return q + r
        if self.kind == "norm":
            return torch.linalg.norm(m, dim=(-2, -1)) + torch.linalg.vector_norm(b, ord=2, dim=-1)
        if self.kind == "solve":
            return torch.linalg.solve(m, b)
        raise ValueError(self.kind)


def _linalg(kind: str) -> Callable[[], Built]:
    def build() -> Built:
        _seed()
        return _eval(Linalg(kind)), (_randn(2, 4, 4), _randn(2, 4)), {}

    return build


# --------------------------------------------------------------------------------------------
# Control flow and Python-level routing
# --------------------------------------------------------------------------------------------


class DataDependentIf(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        if x.sum() > 0:  # the TracerWarning of the TorchScript exporter points at this line
            return x * 2
        return x - 1


class ItemRouting(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.experts = nn.ModuleList([nn.Linear(8, 8) for _ in range(2)])

    def forward(self, x: Tensor) -> Tensor:
        idx = int(x.mean().item() > 0)
        return self.experts[idx](x)


class ItemScalar(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        scale = x.abs().max().item()
        return x / scale


class PythonNumberRouting(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x: Tensor, threshold: float = 0.5) -> Tensor:
        if threshold > 0.25:
            return torch.relu(self.fc(x))
        return self.fc(x) * threshold


def _data_dependent_if() -> Built:
    _seed()
    return _eval(DataDependentIf()), (_randn(2, 8),), {}


def _item_routing() -> Built:
    _seed()
    return _eval(ItemRouting()), (_randn(2, 8),), {}


def _item_scalar() -> Built:
    _seed()
    return _eval(ItemScalar()), (_randn(2, 8),), {}


def _python_number_routing() -> Built:
    _seed()
    return _eval(PythonNumberRouting()), (_randn(2, 8),), {"threshold": 0.75}


# --------------------------------------------------------------------------------------------
# In-place ops
# --------------------------------------------------------------------------------------------


class IndexPut(nn.Module):
    def forward(self, x: Tensor, idx: Tensor) -> Tensor:
        y = x.clone()
        y.index_put_((idx,), torch.zeros(idx.shape[0], x.shape[1]))
        return y


class MaskedFillInplace(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        y = x * 1.0
        y.masked_fill_(y < 0, 0.0)
        return y


class SliceAssign(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        y = x.clone()
        y[:, :2] = 0
        y[:, -1] = y[:, 0] + 1
        return y


def _index_put() -> Built:
    _seed()
    return _eval(IndexPut()), (_randn(4, 8), torch.tensor([0, 2])), {}


def _masked_fill() -> Built:
    _seed()
    return _eval(MaskedFillInplace()), (_randn(2, 8),), {}


def _slice_assign() -> Built:
    _seed()
    return _eval(SliceAssign()), (_randn(2, 8),), {}


# --------------------------------------------------------------------------------------------
# Dynamic shapes
# --------------------------------------------------------------------------------------------


class DynamicBatchCnn(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.fc = nn.Linear(4 * 8 * 8, 5)

    def forward(self, x: Tensor) -> Tensor:
        y = torch.relu(self.conv(x))
        return self.fc(y.view(y.size(0), -1))


class BatchSpecialized(nn.Module):
    """Branches on the batch size: a dynamic batch dimension gets specialized."""

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[0] == 3:
            return x * 2
        return x + 1


def _dynamic_batch_cnn() -> Built:
    _seed()
    return _eval(DynamicBatchCnn()), (_randn(3, 3, 8, 8),), {}


def _batch_specialized() -> Built:
    _seed()
    return _eval(BatchSpecialized()), (_randn(3, 8),), {}


# --------------------------------------------------------------------------------------------
# Output containers
# --------------------------------------------------------------------------------------------


@dataclass
class HeadOutput:
    logits: Tensor
    features: Tensor


class DictOutput(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 4)

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        y = self.fc(x)
        return {"logits": y, "probs": y.softmax(-1)}


class DataclassOutput(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 4)

    def forward(self, x: Tensor) -> HeadOutput:
        return HeadOutput(logits=self.fc(x), features=x * 2)


class TupleOutput(nn.Module):
    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        return x + 1, x * 2, x.mean(-1)


class NestedListOutput(nn.Module):
    def forward(self, x: Tensor) -> list[list[Tensor]]:
        return [[x + 1, x - 1], [x.sum(-1)]]


def _dict_output() -> Built:
    _seed()
    return _eval(DictOutput()), (_randn(2, 8),), {}


def _dataclass_output() -> Built:
    _seed()
    return _eval(DataclassOutput()), (_randn(2, 8),), {}


def _tuple_output() -> Built:
    _seed()
    return _eval(TupleOutput()), (_randn(2, 8),), {}


def _nested_list_output() -> Built:
    _seed()
    return _eval(NestedListOutput()), (_randn(2, 8),), {}


# --------------------------------------------------------------------------------------------
# Custom op (a fake impl, no ONNX translation)
# --------------------------------------------------------------------------------------------


@torch.library.custom_op("preflight_corpus::scaled_tanh", mutates_args=())
def scaled_tanh(x: Tensor, scale: float) -> Tensor:
    return torch.tanh(x) * scale


@scaled_tanh.register_fake
def _scaled_tanh_fake(x: Tensor, scale: float) -> Tensor:
    return torch.empty_like(x)


class CustomOpModel(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x: Tensor) -> Tensor:
        return scaled_tanh(self.fc(x), 1.5)


def _custom_op() -> Built:
    _seed()
    return _eval(CustomOpModel()), (_randn(2, 8),), {}


# --------------------------------------------------------------------------------------------
# Indexing, sorting, data-dependent shapes
# --------------------------------------------------------------------------------------------


class Einsum(nn.Module):
    def forward(self, q: Tensor, k: Tensor) -> Tensor:
        scores = torch.einsum("bhqd,bhkd->bhqk", q, k)
        return torch.einsum("bhqk->bqk", scores)


class GatherScatter(nn.Module):
    def forward(self, x: Tensor, idx: Tensor) -> Tensor:
        picked = torch.gather(x, 1, idx)
        spread = torch.zeros_like(x).scatter(1, idx, picked)
        return spread.scatter_add(1, idx, torch.ones_like(picked))


class TopkSort(nn.Module):
    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        values, indices = torch.topk(x, 3, dim=-1)
        sorted_x, _ = torch.sort(x, dim=-1, descending=True)
        return values, indices, sorted_x, torch.argsort(x, dim=-1)


class Nonzero(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        return torch.nonzero(x > 0)


class BoolMask(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        return x[x > 0] * 2


class Unique(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        return torch.unique(x)


def _einsum() -> Built:
    _seed()
    return _eval(Einsum()), (_randn(2, 2, 4, 8), _randn(2, 2, 5, 8)), {}


def _gather_scatter() -> Built:
    _seed()
    idx = torch.tensor([[0, 3], [1, 2]])
    return _eval(GatherScatter()), (_randn(2, 6), idx), {}


def _topk_sort() -> Built:
    _seed()
    return _eval(TopkSort()), (_randn(2, 8),), {}


def _nonzero() -> Built:
    _seed()
    return _eval(Nonzero()), (_randn(3, 4),), {}


def _bool_mask() -> Built:
    _seed()
    return _eval(BoolMask()), (_randn(3, 4),), {}


def _unique() -> Built:
    _seed()
    return _eval(Unique()), (torch.tensor([3, 1, 3, 2, 1, 5]),), {}


# --------------------------------------------------------------------------------------------
# Resampling and shuffling
# --------------------------------------------------------------------------------------------


class Interpolate(nn.Module):
    def __init__(self, mode: str, align_corners: bool | None) -> None:
        super().__init__()
        self.mode = mode
        self.align_corners = align_corners

    def forward(self, x: Tensor) -> Tensor:
        return F.interpolate(x, scale_factor=2, mode=self.mode, align_corners=self.align_corners)


class PixelShuffle(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 8, 1)
        self.shuffle = nn.PixelShuffle(2)

    def forward(self, x: Tensor) -> Tensor:
        return self.shuffle(self.conv(x))


class Roll(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        return torch.roll(x, shifts=(1, -2), dims=(1, 2))


class Cumsum(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        return torch.cumsum(x, dim=1)


class GridSample(nn.Module):
    def forward(self, x: Tensor, grid: Tensor) -> Tensor:
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


class FoldUnfold(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        cols = F.unfold(x, kernel_size=2, stride=2)
        return F.fold(cols * 2, output_size=x.shape[-2:], kernel_size=2, stride=2)


def _interpolate(mode: str, align_corners: bool | None) -> Callable[[], Built]:
    def build() -> Built:
        _seed()
        return _eval(Interpolate(mode, align_corners)), (_randn(1, 2, 4, 4),), {}

    return build


def _pixel_shuffle() -> Built:
    _seed()
    return _eval(PixelShuffle()), (_randn(1, 2, 4, 4),), {}


def _roll() -> Built:
    _seed()
    return _eval(Roll()), (_randn(2, 4, 5),), {}


def _cumsum() -> Built:
    _seed()
    return _eval(Cumsum()), (_randn(2, 6),), {}


def _grid_sample() -> Built:
    _seed()
    grid = torch.rand(1, 3, 3, 2) * 2 - 1
    return _eval(GridSample()), (_randn(1, 2, 5, 5), grid), {}


def _fold_unfold() -> Built:
    _seed()
    return _eval(FoldUnfold()), (_randn(1, 2, 4, 4),), {}


# --------------------------------------------------------------------------------------------
# Embeddings, recurrent, transposed conv
# --------------------------------------------------------------------------------------------


class Embeddings(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(20, 8)
        self.bag = nn.EmbeddingBag(20, 8, mode="mean")

    def forward(self, tokens: Tensor, bag_tokens: Tensor, offsets: Tensor) -> Tensor:
        return self.emb(tokens).mean(1) + self.bag(bag_tokens, offsets)


class Recurrent(nn.Module):
    def __init__(self, kind: str) -> None:
        super().__init__()
        self.rnn: nn.Module = (
            nn.LSTM(8, 12, batch_first=True) if kind == "lstm" else nn.GRU(8, 12, batch_first=True)
        )

    def forward(self, x: Tensor) -> Tensor:
        out, _ = self.rnn(x)
        return out


class ConvTranspose(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return self.up(x)


def _embeddings() -> Built:
    _seed()
    tokens = torch.tensor([[1, 4, 7], [2, 2, 19]])
    bag_tokens = torch.tensor([1, 2, 3, 4, 5])
    offsets = torch.tensor([0, 3])
    return _eval(Embeddings()), (tokens, bag_tokens, offsets), {}


def _recurrent(kind: str) -> Callable[[], Built]:
    def build() -> Built:
        _seed()
        return _eval(Recurrent(kind)), (_randn(2, 5, 8),), {}

    return build


def _conv_transpose() -> Built:
    _seed()
    return _eval(ConvTranspose()), (_randn(1, 4, 5, 5),), {}


# --------------------------------------------------------------------------------------------
# Training mode, timm-like constructor flag, keyword-only arguments
# --------------------------------------------------------------------------------------------


class DropoutBn(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.bn = nn.BatchNorm2d(4)
        self.drop = nn.Dropout(0.5)

    def forward(self, x: Tensor) -> Tensor:
        return self.drop(torch.relu(self.bn(self.conv(x))))


def _training_dropout_bn() -> Built:
    _seed()
    return DropoutBn().train(), (_randn(2, 3, 6, 6),), {}


class _SwishFn(torch.autograd.Function):
    """A memory-efficient swish as timm writes it (a custom autograd.Function)."""

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> Tensor:
        ctx.save_for_backward(x)
        return x * torch.sigmoid(x)

    @staticmethod
    def backward(ctx: Any, grad_output: Tensor) -> Tensor:
        (x,) = ctx.saved_tensors
        s = torch.sigmoid(x)
        return grad_output * (s * (1 + x * (1 - s)))


def _pad_same(x: Tensor, kernel: int, stride: int) -> Tensor:
    """TF "SAME" padding computed from the runtime shape (timm's pad_same)."""
    ih, iw = x.shape[-2:]
    pad_h = max((math.ceil(ih / stride) - 1) * stride + kernel - ih, 0)
    pad_w = max((math.ceil(iw / stride) - 1) * stride + kernel - iw, 0)
    return F.pad(x, [pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2])


class TimmLikeNet(nn.Module):
    """A block in the style of timm's EfficientNet with TF "SAME" padding.

    ``exportable=False`` (the default) uses the memory-efficient autograd.Function swish and
    dynamic "SAME" padding; ``exportable=True`` uses nn.SiLU and static padding, as timm's
    ``set_layer_config(exportable=True)`` does.
    """

    def __init__(self, exportable: bool = False) -> None:
        super().__init__()
        self.exportable = exportable
        self.conv = nn.Conv2d(3, 8, 3, stride=2)
        # static padding, right for the 9x9 example input (what pad_same computes for it)
        self.pad = nn.ZeroPad2d(1)
        self.bn = nn.BatchNorm2d(8)
        self.act = nn.SiLU()
        self.head = nn.Linear(8, 5)

    def forward(self, x: Tensor) -> Tensor:
        if self.exportable:
            y = self.act(self.bn(self.conv(self.pad(x))))
        else:
            y = _SwishFn.apply(self.bn(self.conv(_pad_same(x, 3, 2))))
        return self.head(y.mean((2, 3)))


def _timm_like(exportable: bool) -> Callable[[], Built]:
    def build() -> Built:
        _seed()
        return _eval(TimmLikeNet(exportable=exportable)), (_randn(2, 3, 9, 9),), {}

    return build


class KeywordOnly(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x: Tensor, *, scale: Tensor, bias: Tensor | None = None) -> Tensor:
        y = self.fc(x) * scale
        if bias is not None:
            y = y + bias
        return y


def _keyword_only() -> Built:
    _seed()
    return _eval(KeywordOnly()), (_randn(2, 8),), {"scale": _randn(8), "bias": _randn(8)}


# --------------------------------------------------------------------------------------------


def _m(
    name: str,
    build: Callable[[], Built],
    *tags: str,
    dynamic_shapes: DynamicShapes | None = None,
) -> CorpusModel:
    return CorpusModel(name, build, frozenset(tags), dynamic_shapes)


CORPUS: tuple[CorpusModel, ...] = (
    _m("mlp", _mlp, "baseline"),
    _m("conv_bn_relu", _conv_bn_relu, "baseline", "conv"),
    _m("sdpa", _sdpa, "attention", "sdpa"),
    _m("sdpa_mask", _sdpa_mask, "attention", "sdpa", "mask"),
    _m("sdpa_causal", _sdpa_causal, "attention", "sdpa", "causal"),
    _m("multihead_attention", _mha, "attention", "mha"),
    _m("transformer_encoder_layer", _transformer_encoder_layer, "attention", "transformer"),
    _m("hardswish", _activation("hardswish"), "activation"),
    _m("silu", _activation("silu"), "activation"),
    _m("gelu", _activation("gelu"), "activation"),
    _m("gelu_tanh", _activation("gelu_tanh"), "activation"),
    _m("mish", _activation("mish"), "activation"),
    _m("hardsigmoid", _activation("hardsigmoid"), "activation"),
    _m("layer_norm", _norm("layer"), "normalization"),
    _m("group_norm", _norm("group"), "normalization"),
    _m("instance_norm", _norm("instance"), "normalization"),
    _m("fft_rfft", _rfft, "fft", "complex"),
    _m("fft_fft", _fft, "fft", "complex"),
    _m("complex_rope", _complex_rope, "complex"),
    _m("linalg_inv", _linalg("inv"), "linalg"),
    _m("linalg_det", _linalg("det"), "linalg"),
    _m("linalg_svd", _linalg("svd"), "linalg"),
    _m("linalg_qr", _linalg("qr"), "linalg"),
    _m("linalg_norm", _linalg("norm"), "linalg"),
    _m("linalg_solve", _linalg("solve"), "linalg"),
    _m("data_dependent_if", _data_dependent_if, "control_flow", "data_dependent"),
    _m("item_routing", _item_routing, "control_flow", "item", "data_dependent"),
    _m("item_scalar", _item_scalar, "item"),
    _m("python_number_routing", _python_number_routing, "control_flow", "python_number"),
    _m("inplace_index_put", _index_put, "inplace"),
    _m("inplace_masked_fill", _masked_fill, "inplace"),
    _m("inplace_slice_assign", _slice_assign, "inplace"),
    _m(
        "dynamic_batch_cnn",
        _dynamic_batch_cnn,
        "dynamic_shapes",
        "conv",
        dynamic_shapes=({0: "batch"},),
    ),
    _m(
        "dynamic_batch_specialized",
        _batch_specialized,
        "dynamic_shapes",
        "control_flow",
        dynamic_shapes=({0: "batch"},),
    ),
    _m("output_dict", _dict_output, "output_container"),
    _m("output_dataclass", _dataclass_output, "output_container"),
    _m("output_tuple", _tuple_output, "output_container"),
    _m("output_nested_list", _nested_list_output, "output_container"),
    _m("custom_op", _custom_op, "custom_op"),
    _m("einsum", _einsum, "einsum"),
    _m("gather_scatter", _gather_scatter, "indexing"),
    _m("topk_sort", _topk_sort, "sorting"),
    _m("nonzero", _nonzero, "data_dependent_shape"),
    _m("bool_mask", _bool_mask, "data_dependent_shape", "indexing"),
    _m("unique", _unique, "data_dependent_shape"),
    _m("interpolate_bilinear_align", _interpolate("bilinear", True), "resize"),
    _m("interpolate_bilinear", _interpolate("bilinear", False), "resize"),
    _m("interpolate_nearest", _interpolate("nearest", None), "resize"),
    _m("pixel_shuffle", _pixel_shuffle, "resize"),
    _m("roll", _roll, "shuffle"),
    _m("cumsum", _cumsum, "scan"),
    _m("grid_sample", _grid_sample, "resize", "grid_sample"),
    _m("fold_unfold", _fold_unfold, "im2col"),
    _m("embedding_bag", _embeddings, "embedding"),
    _m("lstm", _recurrent("lstm"), "recurrent"),
    _m("gru", _recurrent("gru"), "recurrent"),
    _m("conv_transpose", _conv_transpose, "conv"),
    _m("training_dropout_bn", _training_dropout_bn, "training_mode", "dropout", "batchnorm"),
    _m("timm_like_default", _timm_like(False), "timm_like", "autograd_function"),
    _m("timm_like_exportable", _timm_like(True), "timm_like"),
    _m("keyword_only_args", _keyword_only, "kwargs"),
)

BY_NAME: dict[str, CorpusModel] = {m.name: m for m in CORPUS}
