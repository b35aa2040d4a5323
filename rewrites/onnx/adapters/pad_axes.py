"""Adapter: Pad-18/19 with an `axes` input, which Pad-13 and older lack: the same padding as a
full `pads` input over every axis (zeros where axes does not name one). Exact; the node stays a
Pad-18/19 without axes, which onnx:version-convert then carries down like any Pad. Below 11
(Pad-2: pads and value as attributes; onnx has no adapter from Pad-11 down) a Pad with constant
pads and constant value is written in that form. Left alone: pads, axes or value computed at
run time, an input of unknown rank, or a mode Pad-2 lacks (wrap)."""

from __future__ import annotations

import onnx.helper

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

ID = "pad-axes"


def full_pads(pads: list[int], axes: list[int], rank: int) -> list[int] | None:
    """Pads over `axes` -> pads over all `rank` axes (begins then ends); None when malformed."""
    if len(pads) != 2 * len(axes):
        return None
    out = [0] * (2 * rank)
    for i, axis in enumerate(axes):
        axis = axis + rank if axis < 0 else axis
        if not 0 <= axis < rank:
            return None
        out[axis] = pads[i]
        out[rank + axis] = pads[len(axes) + i]
    return out


def adapt(model: RewriteModel, target: int) -> int:
    if target >= 18:
        return 0
    values = None
    count = 0 if target >= 11 else _attribute_form(model, target)
    for index, r in enumerate(model.records()):
        if r.op != "Pad" or r.domain or len(r.inputs) < 4 or not r.inputs[3]:
            continue
        values = constants(model) if values is None else values
        pads, axes = values.get(r.inputs[1]), values.get(r.inputs[3])
        rank = model.rank(r.inputs[0])
        if pads is None or axes is None or rank is None:
            continue
        full = full_pads([int(v) for v in pads.reshape(-1)], [int(v) for v in axes.reshape(-1)],
                         rank)
        if full is None:
            continue
        node = model.node(index)
        const, name = int64_constant(model, f"{node.name or 'Pad'}/pads", full)
        inputs = [r.inputs[0], name, r.inputs[2]]
        while inputs and not inputs[-1]:
            inputs.pop()
        new = onnx.helper.make_node("Pad", inputs, list(r.outputs), name=node.name)
        new.attribute.extend(node.attribute)
        model.replace(index, [const, new], ID)
        count += 1
    if count:
        model.commit()
    return count


def _attribute_form(model: RewriteModel, target: int) -> int:
    """Pad-11 and later (pads as inputs) -> Pad-2 (attributes), for targets below 11."""
    low = schema_at("Pad", target)
    values = constants(model)
    count = 0
    for index, r in enumerate(model.records()):
        if r.op != "Pad" or r.domain or (r.since_version or 0) < 11 or len(r.inputs) < 2:
            continue
        if low is None or not types_allowed(r, low):
            continue
        node = model.node(index)
        mode = attribute(node, "mode", b"constant")
        pads = values.get(r.inputs[1])
        rank = model.rank(r.inputs[0])
        if mode not in (b"constant", b"reflect", b"edge") or pads is None or rank is None:
            continue
        flat = [int(v) for v in pads.reshape(-1)]
        if len(r.inputs) > 3 and r.inputs[3]:
            axes = values.get(r.inputs[3])
            full = None if axes is None else full_pads(flat, [int(v) for v in axes.reshape(-1)],
                                                       rank)
        else:
            full = flat if len(flat) == 2 * rank else None
        value = 0.0
        if len(r.inputs) > 2 and r.inputs[2]:
            given = values.get(r.inputs[2])
            if given is None or given.size != 1:
                continue
            value = float(given.reshape(-1)[0])
        if full is None or min(full) < 0:  # Pad-2 documents only padding, not cropping
            continue
        model.replace(index, [adapted("Pad", [r.inputs[0]], list(r.outputs), node.name,
                                      mode=mode.decode(), pads=full, value=value)], ID)
        count += 1
    if count:
        model.ensure_import(ADAPTED_DOMAIN, 1)
        model.commit()
    return count
