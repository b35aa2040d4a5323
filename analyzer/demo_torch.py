"""The demo's PyTorch model, written in code (no downloads): a small vision + attention network
built from the ops that break low-opset exports (hardswish, silu, gelu, layer_norm,
scaled_dot_product_attention), plus a CELU in the head, which exports as ONNX Celu: CUDA has no
kernel for it, so the placement shows a CPU fallback with its device copies."""

from __future__ import annotations

from typing import Any


def build_demo_torch(seed: int = 0) -> tuple[Any, tuple[Any, ...]]:
    """(module in eval mode, example inputs) for a 1x3x32x32 image."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    class Attention(nn.Module):
        def __init__(self, dim: int, heads: int) -> None:
            super().__init__()
            self.heads = heads
            self.qkv = nn.Linear(dim, 3 * dim)
            self.proj = nn.Linear(dim, dim)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            b, n, d = x.shape
            q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, d // self.heads).permute(
                2, 0, 3, 1, 4)
            out = F.scaled_dot_product_attention(q, k, v)
            return self.proj(out.transpose(1, 2).reshape(b, n, d))

    class Block(nn.Module):
        def __init__(self, dim: int) -> None:
            super().__init__()
            self.norm1 = nn.LayerNorm(dim)
            self.attn = Attention(dim, heads=4)
            self.norm2 = nn.LayerNorm(dim)
            self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = x + self.attn(self.norm1(x))
            return x + self.mlp(self.norm2(x))

    class DemoViT(nn.Module):
        def __init__(self, dim: int = 32, classes: int = 10) -> None:
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, dim, 4, stride=4), nn.Hardswish())
            self.blocks = nn.Sequential(Block(dim), Block(dim))
            self.head = nn.Sequential(nn.CELU(), nn.SiLU(), nn.Linear(dim, classes))

        def forward(self, image: torch.Tensor) -> torch.Tensor:
            tokens = self.stem(image).flatten(2).transpose(1, 2)
            return self.head(self.blocks(tokens).mean(dim=1))

    torch.manual_seed(seed)
    model = DemoViT().eval()
    return model, (torch.randn(1, 3, 32, 32),)
