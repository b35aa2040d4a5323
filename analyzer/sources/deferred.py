"""Deferred weights: a large initializer of a model read from a file stays in the input's data file
(the ModelProto keeps its external reference, not its bytes), and each consumer reads it when it
needs it: one tensor at a time, or as a read-only memory map that onnxruntime reads in place.

Why: a rewrite whose rules touch no initializer needs the weights only to verify each step on
onnxruntime and to write them out again; holding them in the process (and the copies that every
serialization makes) cost several times the weights (docs/rewrites.md#peak-memory-with-external-
weights).

A deferred tensor is marked by `doc_string` = DEFERRED_PREFIX + a random token this process
registered when the loader had checked the tensor's location (inside the model's folder, a
regular file, in bounds: analyzer.sources.onnx_external_data). Bytes are read from the path
registered for the token, never from the location written in the proto, so a model built
elsewhere cannot forge a deferred tensor that reads an unchecked file. No project imports, so
every layer of the core can use it.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnx.helper
import onnx.numpy_helper

__all__ = ["DEFERRED_PREFIX", "DataFileChanged", "DeferredSource", "defer", "deferred_source",
           "has_deferred", "initializer_values", "iter_chunks", "mapped_array", "materialize",
           "materialize_all", "tensor_value"]

DEFERRED_PREFIX = "onnx-preflight-deferred:"
#: what streaming reads and writes at once
CHUNK_BYTES = 16 * 2**20


@dataclass(frozen=True)
class DeferredSource:
    """Where a deferred tensor's bytes are: a checked, resolved file and the span in it."""

    path: Path
    offset: int
    length: int
    #: the tensor's own doc_string, which the mark replaced
    doc: str = ""


_REGISTERED: dict[str, DeferredSource] = {}


class DataFileChanged(ValueError):
    """A deferred tensor's data file no longer holds its span (it changed since the load)."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(message)
        self.path = path


def defer(tensor: onnx.TensorProto, path: Path, offset: int, length: int) -> None:
    """Mark the external `tensor` as deferred, its bytes at `path` [offset, offset + length)
    (a location the caller has checked)."""
    token = secrets.token_hex(16)
    _REGISTERED[token] = DeferredSource(Path(path), int(offset), int(length), tensor.doc_string)
    tensor.doc_string = DEFERRED_PREFIX + token


def deferred_source(tensor: onnx.TensorProto) -> DeferredSource | None:
    """The registered source of a deferred tensor, or None for any other tensor (a forged or
    foreign mark included)."""
    if tensor.data_location != onnx.TensorProto.EXTERNAL:
        return None
    doc = tensor.doc_string
    if not doc.startswith(DEFERRED_PREFIX):
        return None
    return _REGISTERED.get(doc[len(DEFERRED_PREFIX):])


def has_deferred(model: onnx.ModelProto) -> bool:
    """Whether any main-graph initializer of `model` is deferred (only those are deferred)."""
    return any(deferred_source(t) is not None for t in model.graph.initializer)


def _check_span(source: DeferredSource) -> None:
    size = os.stat(source.path).st_size
    if source.offset + source.length > size:
        raise DataFileChanged(source.path, f"external data {source.path.name} is {size} bytes "
                              f"now, too short for bytes {source.offset}.."
                              f"{source.offset + source.length}: it changed since the model "
                              "was loaded")


def iter_chunks(source: DeferredSource, chunk: int = CHUNK_BYTES) -> Iterator[bytes]:
    """The tensor's bytes, `chunk` at a time (for streaming them to another file)."""
    _check_span(source)
    left = source.length
    with open(source.path, "rb") as f:
        f.seek(source.offset)
        while left > 0:
            data = f.read(min(chunk, left))
            if not data:
                raise DataFileChanged(source.path, f"external data {source.path.name} ended "
                                      "early: it changed since the model was loaded")
            left -= len(data)
            yield data


def _read(source: DeferredSource) -> bytes:
    return b"".join(iter_chunks(source))


def _dtype(tensor: onnx.TensorProto) -> np.dtype[Any]:
    return np.dtype(onnx.helper.tensor_dtype_to_np_dtype(tensor.data_type)).newbyteorder("<")


def mapped_array(tensor: onnx.TensorProto) -> np.ndarray | None:
    """A read-only memory map of a deferred tensor's bytes shaped as the tensor (None for any
    other tensor): the pages come from the file when read (onnxruntime reads a contiguous CPU
    input in place), and the process holds no copy."""
    source = deferred_source(tensor)
    if source is None:
        return None
    _check_span(source)
    shape = tuple(int(d) for d in tensor.dims)
    if source.length == 0:
        return np.zeros(shape, dtype=_dtype(tensor))
    return np.memmap(source.path, dtype=_dtype(tensor), mode="r", offset=source.offset,
                     shape=shape)


def tensor_value(tensor: onnx.TensorProto) -> np.ndarray:
    """numpy_helper.to_array for any tensor, a deferred one read from its file (a copy: for the
    rules that read one constant on demand)."""
    mapped = mapped_array(tensor)
    if mapped is not None:
        return np.array(mapped)
    return onnx.numpy_helper.to_array(tensor)


class _Values(dict):  # type: ignore[type-arg]
    """Initializer values by name; a deferred one is read from its file when first asked for."""

    def __init__(self, values: dict[str, np.ndarray], deferred: dict[str, onnx.TensorProto]):
        super().__init__(values)
        self._deferred = deferred

    def __missing__(self, key: str) -> np.ndarray:
        value = tensor_value(self._deferred.pop(key))  # KeyError when it is not one either
        self[key] = value
        return value

    def __contains__(self, key: object) -> bool:
        return dict.__contains__(self, key) or key in self._deferred

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return self[key] if key in self else default  # noqa: SIM401 - self.get is this


#: initializer_values reads a tensor this large only when it is looked up
_LAZY_BYTES = 1 << 16
_DATA_FIELDS = ("float_data", "int32_data", "string_data", "int64_data", "double_data",
                "uint64_data")


def _nbytes(tensor: onnx.TensorProto) -> int:
    count = 1
    for dim in tensor.dims:
        count *= int(dim)
    try:
        return count * np.dtype(onnx.helper.tensor_dtype_to_np_dtype(tensor.data_type)).itemsize
    except (KeyError, TypeError, ValueError):
        return count


def _is_header(tensor: onnx.TensorProto) -> bool:
    """A tensor with elements but no data at all (the header a weightless copy keeps of a
    weight: name, type, dims): it has no value to read."""
    if tensor.HasField("raw_data") or tensor.data_location == onnx.TensorProto.EXTERNAL:
        return False
    if any(len(getattr(tensor, f)) for f in _DATA_FIELDS):
        return False
    return all(int(d) != 0 for d in tensor.dims) and len(tensor.dims) > 0


def initializer_values(tensors: Iterable[onnx.TensorProto]) -> dict[str, np.ndarray]:
    """{name: value} of `tensors` (numpy_helper.to_array) for a rule looking for a constant: a
    large one (a deferred weight still in its file included) is read only when looked up (`[]`,
    `get`, `in` work; iterating gives the ones read so far), so looking for an axis never reads
    the weights; a weightless copy's header (no data) has no value and is left out."""
    values: dict[str, np.ndarray] = {}
    lazy: dict[str, onnx.TensorProto] = {}
    for tensor in tensors:
        values.pop(tensor.name, None)  # a later tensor of the same name wins, as in a dict
        lazy.pop(tensor.name, None)
        if _is_header(tensor):
            continue
        if deferred_source(tensor) is not None or _nbytes(tensor) >= _LAZY_BYTES:
            lazy[tensor.name] = tensor
        else:
            values[tensor.name] = onnx.numpy_helper.to_array(tensor)
    return _Values(values, lazy)


def materialize(tensor: onnx.TensorProto) -> None:
    """Read a deferred tensor's bytes into it (raw_data; no longer external or deferred)."""
    source = deferred_source(tensor)
    if source is None:
        return
    data = _read(source)
    del tensor.external_data[:]
    tensor.data_location = onnx.TensorProto.DEFAULT
    tensor.doc_string = source.doc
    tensor.raw_data = data


def materialize_all(model: onnx.ModelProto) -> None:
    """Every deferred tensor of `model` read into it: the model then holds all its weights (for a
    caller that hands it to code that reads bytes from the proto, e.g. onnx.save)."""
    for tensor in model.graph.initializer:
        materialize(tensor)
