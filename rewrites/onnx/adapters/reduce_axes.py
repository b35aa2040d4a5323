"""Adapter: Reduce*-18 (and ReduceSum-13) with their axes as a constant input, down to a target
whose version takes axes as an attribute (ReduceMean-13, ReduceSum-11, ...).

Exact: the constant axes become the `axes` attribute; noop_with_empty_axes=0 (the exporters
write it) is dropped, and empty or absent axes stay absent, which means "all axes" in both
forms. Left alone (the conversion then says why): axes computed at run time, and empty axes
with noop_with_empty_axes=1 (an identity, which the attribute form cannot say)."""

from __future__ import annotations

from rewrites.onnx.adapters.common import (
    ADAPTED_DOMAIN,
    adapted,
    attribute,
    constants,
    schema_at,
    types_allowed,
)
from rewrites.onnx.rule import RewriteModel

REDUCE_OPS = frozenset({"ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax",
                        "ReduceMean", "ReduceMin", "ReduceProd", "ReduceSum",
                        "ReduceSumSquare"})
ID = "reduce-axes"


def adapt(model: RewriteModel, target: int) -> int:
    """Rewrite every fitting Reduce node into its attribute form at `target`; returns how many."""
    values = None
    count = 0
    for index, r in enumerate(model.records()):
        if r.op not in REDUCE_OPS or r.domain or r.proto is None:
            continue
        low = schema_at(r.op, target)
        high = schema_at(r.op, r.since_version or 0)
        if low is None or high is None or "axes" not in low.attributes:
            continue
        if "axes" in high.attributes:  # already the attribute form: onnx converts it
            continue
        if not types_allowed(r, low):
            continue
        node = model.node(index)
        axes_name = r.inputs[1] if len(r.inputs) > 1 else ""
        if axes_name:
            values = constants(model) if values is None else values
            if axes_name not in values:
                continue
            axes = [int(a) for a in values[axes_name].reshape(-1).tolist()]
        else:
            axes = []
        if not axes and attribute(node, "noop_with_empty_axes", 0) == 1:
            continue
        model.replace(index, [adapted(r.op, [r.inputs[0]], list(r.outputs), node.name,
                                      axes=axes or None,
                                      keepdims=attribute(node, "keepdims"))], ID)
        count += 1
    if count:
        model.ensure_import(ADAPTED_DOMAIN, 1)
        model.commit()
    return count
