"""Adapter: Softmax-13 / LogSoftmax-13 / Hardmax-13 (one axis) below 13, where the op coerces
its input to 2-D at `axis` (every dim from `axis` on is one row).

Exact: on the last axis both versions normalise the same elements, so the node is written at
the target with axis = rank - 1; on another axis, Transpose moves it last, the op runs there and
Transpose moves it back. Left alone: an input of unknown rank.

Why not onnx's own adapter (Softmax_13_12, onnx 1.23): it assumes any Flatten before the node
and any Reshape after it were inserted by its 12 -> 13 adapter and deletes them, which changes
the model (a Reshape the exporter wrote is dropped) or asserts in the converter when that
Reshape's output is still used ("eraseOutput: Assertion `outputs_[i]->uses().empty()`": the
torch MultiheadAttention export at 11)."""

from __future__ import annotations

from analyzer.inventory import NodeRecord
from rewrites.onnx.adapters.common import (
    ADAPTED_DOMAIN,
    adapted,
    attribute,
    schema_at,
    types_allowed,
)
from rewrites.onnx.rule import RewriteModel

ID = "softmax-axis"
OPS = frozenset({"Softmax", "LogSoftmax", "Hardmax"})


def _axis(model: RewriteModel, r: NodeRecord, target: int) -> tuple[int, int] | None:
    """(axis, rank) when `adapt` rewrites this node at `target`, else None."""
    if target >= 13 or r.op not in OPS or r.domain or r.proto is None or (
            r.since_version or 0) < 13:
        return None
    low = schema_at(r.op, target)
    rank = model.rank(r.inputs[0])
    if low is None or not rank or not types_allowed(r, low):
        return None
    axis = int(attribute(r.proto, "axis", -1))
    axis = axis + rank if axis < 0 else axis
    return (axis, rank) if 0 <= axis < rank else None


def lowers(model: RewriteModel, record: NodeRecord, target: int) -> bool:
    """Whether `adapt` rewrites this node at `target` (onnx:expand-function leaves it: the
    node stays one Softmax rather than its schema body)."""
    return _axis(model, record, target) is not None


def adapt(model: RewriteModel, target: int) -> int:
    if target >= 13:
        return 0
    count = 0
    for index, r in enumerate(model.records()):
        found = _axis(model, r, target)
        if found is None:
            continue
        axis, rank = found
        node = model.node(index)
        name = node.name or model.fresh_name(r.op)
        if axis == rank - 1:
            model.replace(index, [adapted(r.op, [r.inputs[0]], [r.outputs[0]], name,
                                          axis=rank - 1)], ID)
        else:
            perm = [d for d in range(rank) if d != axis] + [axis]
            back = sorted(range(rank), key=lambda d: perm[d])
            moved = model.fresh_name(f"{r.outputs[0]}/last")
            done = model.fresh_name(f"{r.outputs[0]}/{r.op}")
            model.replace(index, [
                adapted("Transpose", [r.inputs[0]], [moved],
                        model.fresh_name(f"{name}/Transpose"), perm=perm),
                adapted(r.op, [moved], [done], name, axis=rank - 1),
                adapted("Transpose", [done], [r.outputs[0]],
                        model.fresh_name(f"{name}/TransposeBack"), perm=back),
            ], ID)
        count += 1
    if count:
        model.ensure_import(ADAPTED_DOMAIN, 1)
        model.commit()
    return count
