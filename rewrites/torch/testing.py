"""Helpers the source-rule tests share: a real export with (or without) rules through the same
path `export --rewrite` takes, and the ONNX-vs-torch comparison on onnxruntime CPU."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from analyzer.runtime.session import create_session
from analyzer.sources.torch_capture import capture_dynamo, capture_torchscript
from analyzer.sources.torch_exporter import run_export
from rewrites.torch.export import SourceRewrite, export_with_rules, plan


def capture_ops(module: Any, args: tuple[Any, ...], exporter: str, opset: int) -> list[Any]:
    """The pre-flight's captured ATen ops (what `check` reads)."""

    capture = (capture_dynamo(module, args, opset=opset) if exporter == "dynamo"
               else capture_torchscript(module, args))
    return list(capture.ops)


def export(module: Any, args: tuple[Any, ...], exporter: str, opset: int,
           rules: Sequence[str] | None = (), ops: Sequence[Any] | None = None,
           dynamic_shapes: Any = None,
           ) -> tuple[onnx.ModelProto | None, str | None, SourceRewrite]:
    """Export as `export --rewrite` does (rules=None: the proposed ones; () : none; else the
    named ones). Returns (model at the requested opset, None) or (None, why not). `ops`
    defaults to a TorchScript trace's ops (a fraction of torch.export's cost; `check` reads only
    the op names and module paths, and finds modules on the module itself)."""

    if ops is None:
        ops = capture_ops(module, args, "torchscript", opset)
    only = None if rules is None else list(rules)
    source, rewrite = plan(module, exporter, opset, ops, only=only)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.onnx"
        error = export_with_rules(source, rewrite, run_export, args, None, path,
                                  dynamic_shapes)
        if error is not None:
            return None, error.message, rewrite
        model = onnx.load(str(path))
    if rewrite.lowering and rewrite.lowering.get("error"):
        return None, str(rewrite.lowering["error"]), rewrite
    delivered = next(i.version for i in model.opset_import if i.domain in ("", "ai.onnx"))
    if delivered != opset:
        return None, f"delivered opset {delivered}", rewrite
    return model, None, rewrite


def max_abs_error(model: onnx.ModelProto, module: Any, args: tuple[Any, ...]) -> float:
    """Largest |onnxruntime CPU - torch| over all outputs for `args` (the module as given)."""
    import torch

    session = create_session(model)
    feeds = {i.name: a.numpy() for i, a in zip(session.get_inputs(), args, strict=False)}
    got = session.run(None, feeds)
    with torch.no_grad():
        want = module(*args)
    want_list = list(want) if isinstance(want, (tuple, list)) else [want]
    return max(float(np.max(np.abs(g - w.numpy()))) for g, w in zip(got, want_list, strict=True))


def op_types(model: onnx.ModelProto) -> set[str]:
    return {n.op_type for n in model.graph.node}


def build_mixed_model(seed: int = 0) -> tuple[Any, tuple[Any, ...]]:
    """(module in eval mode, example inputs): a small conv + attention network with GroupNorm,
    HardSwish, Mish, LayerNorm, GELU (both forms, module and functional) and causal
    scaled_dot_product_attention: every op the source rules answer. Also a CLI source:
    `rewrites.torch.testing:build_mixed_model`."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    class Mixed(nn.Module):
        def __init__(self, dim: int = 16, heads: int = 2) -> None:
            super().__init__()
            self.heads = heads
            self.conv = nn.Conv2d(3, dim, 3, stride=2, padding=1)
            self.gn = nn.GroupNorm(4, dim)
            self.act = nn.Hardswish()
            self.mish = nn.Mish()
            self.ln = nn.LayerNorm(dim)
            self.qkv = nn.Linear(dim, 3 * dim)
            self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(approximate="tanh"),
                                     nn.Linear(2 * dim, dim))
            self.head = nn.Linear(dim, 4)

        def forward(self, image: torch.Tensor) -> torch.Tensor:
            x = self.mish(self.act(self.gn(self.conv(image))))
            tokens = x.flatten(2).transpose(1, 2)
            b, n, d = tokens.shape
            q, k, v = self.qkv(self.ln(tokens)).reshape(b, n, 3, self.heads,
                                                        d // self.heads).permute(2, 0, 3, 1, 4)
            attended = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            tokens = tokens + attended.transpose(1, 2).reshape(b, n, d)
            tokens = tokens + self.mlp(F.layer_norm(tokens, (d,)))
            return self.head(F.gelu(tokens).mean(dim=1))

    torch.manual_seed(seed)
    return Mixed().eval(), (torch.randn(1, 3, 16, 16),)
