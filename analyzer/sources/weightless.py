"""A copy of a model without the bytes of its large weights, built field by field so the weights
are never copied: for the steps that need the graph but not the weights (shape inference, onnx's
version converter, an onnxruntime session fed the weights as arrays). Only project import:
analyzer.sources.deferred (which has none), so
every layer of the core can use it (analyzer.onnx_weights re-exports it)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Collection
from typing import Any

import onnx
import onnx.checker
import onnx.helper

from analyzer.sources.deferred import deferred_source, has_deferred

__all__ = ["check_model_weightless", "for_inference", "serialized_size", "tensor_bytes",
           "weightless_copy"]


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
    the weights as arrays). A deferred initializer (analyzer.sources.deferred: its bytes still
    in the input's data file) is always one of those, however small: its header is a plain
    tensor without data."""
    big = [t for t in model.graph.initializer
           if deferred_source(t) is not None
           or (t.HasField("raw_data") and (types is None or t.data_type in types)
               and tensor_bytes(t) >= min_bytes)]
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
    # a deferred weight is not in the model (it stays in its data file): its header counts
    return int(light.ByteSize()) + sum(tensor_bytes(t) + 11 for t in big
                                       if deferred_source(t) is None)


#: A model whose large weights add up to this is checked without them (check_model_weightless)
CHECK_WEIGHTLESS_BYTES = 16 * 2**20


def check_model_weightless(model: onnx.ModelProto, *, full_check: bool = False) -> bool:
    """onnx.checker.check_model on `model` without serializing its large weights, when they add
    up to CHECK_WEIGHTLESS_BYTES; False (nothing checked) when they do not, so the caller checks
    the model itself. The checker on a ModelProto serializes it (a copy of the weights, parsed
    again in C++: two more) and refuses one past 2 GiB; here the weights become external
    tensors in a sparse scratch file of their size (no disk used, no byte copied), and the
    checker runs on the scratch model's path, which reads only their headers: it checks
    everything it checks on the proto (each tensor's size against its shape, the graph, full
    inference) except the weights' values, which it does not check either. Raises what
    onnx.checker raises."""
    light, big = weightless_copy(model, 1 << 16)
    if sum(tensor_bytes(t) for t in big) < CHECK_WEIGHTLESS_BYTES and not has_deferred(model):
        return False
    # the bytes' real lengths (read one tensor at a time; a deferred one's span in its file),
    # compared with their shapes as the checker compares them on a proto
    sizes = {t.name: _data_length(t) for t in big}
    for t in big:  # the checker compares an external tensor's length with nothing: do it here
        if sizes[t.name] < tensor_bytes(t):
            raise onnx.checker.ValidationError(
                f"TensorProto (tensor name: {t.name}) raw_data size ({sizes[t.name]} bytes) is "
                f"too small for the declared shape and type ({tensor_bytes(t)} bytes required).")
    with tempfile.TemporaryDirectory(prefix="onnx-preflight-check-") as tmp:
        offset = 0
        for tensor in light.graph.initializer:
            if tensor.name not in sizes or tensor.HasField("raw_data"):
                continue
            tensor.data_location = onnx.TensorProto.EXTERNAL
            for key, value in (("location", "weights.bin"), ("offset", str(offset)),
                               ("length", str(sizes[tensor.name]))):
                entry = tensor.external_data.add()
                entry.key, entry.value = key, value
            offset += sizes[tensor.name]
        with open(os.path.join(tmp, "weights.bin"), "wb") as f:
            f.truncate(offset)  # sparse: its size, no data
        path = os.path.join(tmp, "model.onnx")
        with open(path, "wb") as f:
            f.write(light.SerializeToString())
        onnx.checker.check_model(path, full_check=full_check)
    return True


def _data_length(tensor: onnx.TensorProto) -> int:
    source = deferred_source(tensor)
    return len(tensor.raw_data) if source is None else source.length


#: Shape inference serializes the model, parses it in C++, infers, serializes and parses back:
#: four copies of the weights at once. Float initializers of 64 KiB or more are left out of what
#: it sees (their name, type and dims stay: all inference reads from them) when they add up to
#: INFERENCE_WEIGHTLESS_BYTES: the bytes of float weights feed no shape computation (shape
#: tensors are integers and small).
INFERENCE_WEIGHTLESS_BYTES = 16 * 2**20
_FLOAT_TYPES = frozenset(getattr(onnx.TensorProto, n) for n in (
    "FLOAT", "DOUBLE", "FLOAT16", "BFLOAT16"))


def for_inference(model: onnx.ModelProto) -> onnx.ModelProto:
    """`model`, or a copy without the bytes of its large float weights (see
    INFERENCE_WEIGHTLESS_BYTES), for onnx.shape_inference.infer_shapes: what it infers does not
    change, what it copies does."""
    light, big = weightless_copy(model, 1 << 16, _FLOAT_TYPES)
    if sum(tensor_bytes(t) for t in big) < INFERENCE_WEIGHTLESS_BYTES and not has_deferred(model):
        return model
    return light
