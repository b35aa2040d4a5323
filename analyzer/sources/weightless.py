"""A copy of a model without the bytes of its large weights, built field by field so the weights
are never copied: for the steps that need the graph but not the weights (shape inference, onnx's
version converter, an onnxruntime session fed the weights as arrays). No project imports, so
every layer of the core can use it (analyzer.onnx_weights re-exports it)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import onnx
import onnx.helper

__all__ = ["serialized_size", "tensor_bytes", "weightless_copy"]


def _copy_except(src: Any, dst: Any, skip: str) -> None:
    """Copy every set field of message `src` into `dst` except the field named `skip`."""
    for descriptor, value in src.ListFields():
        if descriptor.name == skip:
            continue
        repeated = (descriptor.is_repeated if hasattr(descriptor, "is_repeated")
                    else descriptor.label == descriptor.LABEL_REPEATED)  # protobuf < 5.28
        if repeated:
            getattr(dst, descriptor.name).extend(value)
        elif descriptor.message_type is not None:
            getattr(dst, descriptor.name).CopyFrom(value)
        else:
            setattr(dst, descriptor.name, value)


def tensor_bytes(tensor: onnx.TensorProto) -> int:
    """The size of a tensor's data from its dims and element type, without touching its bytes:
    protobuf's ByteSize() serializes the message to measure it (measured: 8.8 s of a 74 s
    rewrite of a model with 1 GiB of weights went to ByteSize() of its initializers)."""
    try:
        item = onnx.helper.tensor_dtype_to_np_dtype(tensor.data_type).itemsize
    except (KeyError, TypeError, ValueError):  # string, undefined or sub-byte types: measure
        return int(tensor.ByteSize())
    count = 1
    for dim in tensor.dims:
        count *= int(dim)
    return count * item


def weightless_copy(model: onnx.ModelProto, min_bytes: int,
                    types: Collection[int] | None = None
                    ) -> tuple[onnx.ModelProto, list[onnx.TensorProto]]:
    """A copy of `model` whose main-graph initializers of `min_bytes` or more (raw data, of
    `types` when given) keep their name, type and dims but no bytes, and those initializers
    (the originals, not copies). Built field by field, so the weights are never copied: for the
    steps that need the graph but not the weights (onnx's converter, an onnxruntime session fed
    the weights as arrays)."""
    big = [t for t in model.graph.initializer
           if t.HasField("raw_data") and (types is None or t.data_type in types)
           and tensor_bytes(t) >= min_bytes]
    names = {t.name for t in big}
    light = onnx.ModelProto()
    _copy_except(model, light, "graph")
    _copy_except(model.graph, light.graph, "initializer")
    for tensor in model.graph.initializer:
        if tensor.name not in names:
            light.graph.initializer.append(tensor)
            continue
        header = light.graph.initializer.add()
        header.name, header.data_type = tensor.name, tensor.data_type
        header.dims.extend(tensor.dims)
    return light, big


def serialized_size(model: onnx.ModelProto) -> int:
    """About model.ByteSize() (within a few bytes per large weight) without serializing the
    large weights: ByteSize() serializes the whole model to measure it, a second each per GiB,
    and raises past protobuf's 2 GiB."""
    if not any(t.HasField("raw_data") and tensor_bytes(t) >= 1 << 16
               for t in model.graph.initializer):
        return int(model.ByteSize())  # nothing large to leave out: the exact figure
    try:
        light, big = weightless_copy(model, 1 << 16)
    except Exception:  # noqa: BLE001 - e.g. nesting past protobuf's depth: measure it whole
        return int(model.ByteSize())
    # each weight's bytes field: its length plus a tag and a length varint (at most 11 bytes)
    return int(light.ByteSize()) + sum(tensor_bytes(t) + 11 for t in big)
