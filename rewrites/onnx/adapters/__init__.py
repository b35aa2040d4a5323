"""Exact-lower-form adapters that onnx:version-convert runs before onnx.version_converter:
each rewrites nodes whose form at the source opset onnx cannot lower into the same computation
written for the target opset (see each module; rewrites.onnx.version_convert calls `adapt`)."""

from __future__ import annotations

from rewrites.onnx.adapters import (
    attribute_forms,
    pad_axes,
    reduce_axes,
    resize_defaults,
    split_sizes,
    trilu_mask,
)
from rewrites.onnx.adapters.common import ADAPTED_DOMAIN, restore
from rewrites.onnx.rule import RewriteModel

ADAPTERS = (pad_axes, reduce_axes, split_sizes, resize_defaults, attribute_forms, trilu_mask)

__all__ = ["ADAPTED_DOMAIN", "ADAPTERS", "adapt", "restore"]


def adapt(model: RewriteModel, target: int) -> dict[str, int]:
    """Run every adapter on `model` (edited in place); adapter id -> nodes rewritten."""
    done = {}
    for adapter in ADAPTERS:
        n = adapter.adapt(model, target)
        if n:
            done[adapter.ID] = n
    return done
