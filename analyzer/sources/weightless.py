"""A copy of a model without the bytes of its large weights, built field by field so the weights
are never copied: for the steps that need the graph but not the weights (shape inference, onnx's
version converter, an onnxruntime session fed the weights as arrays). No project imports, so
every layer of the core can use it (analyzer.onnx_weights re-exports it)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import onnx

__all__ = ["weightless_copy"]


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
           and t.ByteSize() >= min_bytes]
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
