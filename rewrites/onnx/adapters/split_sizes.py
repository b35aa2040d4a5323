"""Adapter: Split-18 with num_outputs, down to a target whose Split takes sizes (Split-13: a
`split` input; Split-11 / Split-2: a `split` attribute).

Exact: Split-18 cuts the axis into chunks of ceil(dim / num_outputs), the last one smaller;
with the axis' length known statically those sizes are written out. A Split-18 whose sizes are
a constant input also gets the attribute form below 13. Left alone: a dynamic split axis."""

from __future__ import annotations

import math

from rewrites.onnx.adapters.common import (
    ADAPTED_DOMAIN,
    adapted,
    attribute,
    constants,
    int64_constant,
    schema_at,
    types_allowed,
)
from rewrites.onnx.rule import RewriteModel

ID = "split-sizes"


def sizes_of(dim: int, parts: int) -> list[int] | None:
    """Split-18's chunk sizes for `parts` outputs over `dim` (None when some would be empty)."""
    chunk = math.ceil(dim / parts)
    last = dim - chunk * (parts - 1)
    return [chunk] * (parts - 1) + [last] if last > 0 else None


def adapt(model: RewriteModel, target: int) -> int:
    values = None
    count = 0
    for index, r in enumerate(model.records()):
        if r.op != "Split" or r.domain or r.proto is None or (r.since_version or 0) < 18:
            continue
        low = schema_at("Split", target)
        if low is None or target >= 18 or not types_allowed(r, low):
            continue
        node = model.node(index)
        axis = int(attribute(node, "axis", 0))
        parts = attribute(node, "num_outputs")
        if parts is not None:
            shape = model.shape(r.inputs[0])
            if shape is None:
                continue
            dim = shape[axis if axis >= 0 else axis + len(shape)]
            if dim is None or int(parts) != len(r.outputs):
                continue
            sizes = sizes_of(int(dim), int(parts))
        elif len(r.inputs) > 1 and r.inputs[1] and "split" in low.attributes:
            values = constants(model) if values is None else values
            found = values.get(r.inputs[1])
            sizes = [int(v) for v in found.reshape(-1).tolist()] if found is not None else None
        else:
            continue  # split input at a target that takes it as input: onnx converts it
        if sizes is None:
            continue
        if "split" in low.attributes:
            model.replace(index, [adapted("Split", [r.inputs[0]], list(r.outputs), node.name,
                                          axis=axis, split=sizes)], ID)
        else:
            const, name = int64_constant(model, f"{node.name or 'Split'}/split", sizes)
            model.replace(index, [const, adapted("Split", [r.inputs[0], name], list(r.outputs),
                                                 node.name, axis=axis)], ID)
        count += 1
    if count:
        model.ensure_import(ADAPTED_DOMAIN, 1)
        model.commit()
    return count
