"""Exact-lower-form adapters that onnx:version-convert runs before onnx.version_converter:
each rewrites nodes whose form at the source opset onnx cannot lower into the same computation
written for the target opset (see each module; rewrites.onnx.version_convert calls `adapt`)."""

from __future__ import annotations

from analyzer.inventory import NodeRecord
from rewrites.onnx.adapters import (
    affine_grid,
    attribute_forms,
    pad_axes,
    reduce_axes,
    resize_defaults,
    softmax_axis,
    split_sizes,
    trilu_mask,
)
from rewrites.onnx.adapters.common import ADAPTED_DOMAIN, restore
from rewrites.onnx.rule import RewriteModel

ADAPTERS = (pad_axes, reduce_axes, split_sizes, resize_defaults, attribute_forms, trilu_mask,
            affine_grid, softmax_axis)

__all__ = ["ADAPTED_DOMAIN", "ADAPTERS", "adapt", "lowered_by", "requirement", "restore"]


def adapt(model: RewriteModel, target: int) -> dict[str, int]:
    """Run every adapter on `model` (edited in place); adapter id -> nodes rewritten."""
    done = {}
    for adapter in ADAPTERS:
        n = adapter.adapt(model, target)
        if n:
            done[adapter.ID] = n
    return done


def requirement(op: str) -> str | None:
    """What an adapter needs to lower `op` when it exists nowhere below its version (e.g.
    AffineGrid: a constant size), for the reason given when a node of it stays."""
    return next((a.REQUIRES[op] for a in ADAPTERS if op in getattr(a, "REQUIRES", {})), None)


def lowered_by(model: RewriteModel, record: NodeRecord, target: int) -> str | None:
    """The id of the adapter that rewrites this node at `target` into a form of its own, for
    the node rules to leave it to (adapters whose `lowers` says so)."""
    return next((a.ID for a in ADAPTERS
                 if hasattr(a, "lowers") and a.lowers(model, record, target)), None)
