"""External data in and out for the commands that write models (rewrite, the Python API).

In: `load_with_weights` reads a model through analyzer.sources.onnx_loader (whose location
checks refuse traversal, absolute paths, symlinks and hard links out of the model's folder) and
only then lets onnx.load_external_data_for_model read the weights, so a hostile location never
gets opened. A ModelProto given in memory whose tensors still point at files is refused: it has
no folder to resolve them against, and onnxruntime would resolve them against the working
directory. With `defer_weights`, the large float weights are not read at all: they stay in the
checked file, deferred (analyzer.sources.deferred), and each consumer reads them from there.

Out: `write_model` decides whether the weights stay external (`auto`: when the input kept them
external or the model would pass protobuf's 2 GiB limit; `always`; `never`), writes the pair
atomically beside the output only (analyzer.safe_write: `<output>.data`, staged under temporary
names, never a partial pair, never over an input), and reads the staged pair back (each external
tensor inside its file, onnx.checker on the path) before it is renamed into place. Deferred
weights are streamed from the input's data file into the output's, a chunk at a time.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import onnx
import onnx.checker
import onnx.external_data_helper

from analyzer.error_codes import EXTERNAL_DATA_NEEDS_PATH, EXTERNAL_DATA_OUT_OF_BOUNDS, OUTPUT_PATH
from analyzer.errors import InputError
from analyzer.safe_write import save_onnx_atomically, save_onnx_stream_atomically
from analyzer.sources.deferred import (
    DataFileChanged,
    defer,
    deferred_source,
    has_deferred,
    initializer_values,
    iter_chunks,
    materialize_all,
    tensor_value,
)
from analyzer.sources.onnx_loader import PROTOBUF_LIMIT, LoadedModel, load_onnx
from analyzer.sources.weightless import serialized_size, tensor_bytes, weightless_copy

__all__ = ["EXTERNAL_DATA_MODES", "ExternalDataMode", "LoadedWeights", "check_no_external",
           "external_tensors", "has_deferred", "initializer_values", "load_with_weights",
           "materialize_all", "tensor_bytes", "tensor_value", "wants_external",
           "weightless_copy", "write_model"]

ExternalDataMode = Literal["auto", "always", "never"]
EXTERNAL_DATA_MODES: tuple[ExternalDataMode, ...] = ("auto", "always", "never")
#: Past this serialized size a model is written with external data under `auto`: protobuf
#: cannot serialize 2 GiB, and the analyzer's headroom (value_info from shape inference) is kept.
EXTERNAL_THRESHOLD = PROTOBUF_LIMIT - 64 * 2**20
#: Tensors smaller than this stay in the model file under `auto` (onnx.save_model's default).
_SMALL_TENSOR = 1024


@dataclass
class LoadedWeights:
    """A model with every weight in memory, and where its weights came from: `external` is
    True when the file kept some of them in external data, `data_files` those files (so an
    output never overwrites them)."""

    model: onnx.ModelProto
    path: Path | None
    external: bool
    data_files: list[Path]


def _graph_tensors(graph: onnx.GraphProto) -> Iterator[onnx.TensorProto]:
    yield from graph.initializer
    for sparse in graph.sparse_initializer:
        yield sparse.values
        yield sparse.indices
    yield from _node_tensors(graph.node)


def _node_tensors(nodes: Iterable[onnx.NodeProto]) -> Iterator[onnx.TensorProto]:
    for node in nodes:
        for attr in node.attribute:
            if attr.HasField("t"):
                yield attr.t
            yield from attr.tensors
            if attr.HasField("g"):
                yield from _graph_tensors(attr.g)
            for sub in attr.graphs:
                yield from _graph_tensors(sub)


def external_tensors(model: onnx.ModelProto) -> list[onnx.TensorProto]:
    """The tensors (initializers, constants, subgraphs' and functions' too) whose data is still
    in a file."""
    tensors = [*_graph_tensors(model.graph),
               *(t for f in model.functions for t in _node_tensors(f.node))]
    return [t for t in tensors if t.data_location == onnx.TensorProto.EXTERNAL]


def check_no_external(model: onnx.ModelProto) -> None:
    """Refuse an in-memory model whose weights are still in files (EXTERNAL_DATA_NEEDS_PATH):
    onnxruntime would look for them in the working directory, not beside the model."""
    pending = [t for t in external_tensors(model) if deferred_source(t) is None]
    if pending:
        raise InputError(None, EXTERNAL_DATA_NEEDS_PATH,
                         f"in-memory model has {len(pending)} tensor(s) in external data (e.g. "
                         f"'{pending[0].name}') that are not loaded; pass the model's path, or "
                         "load it with onnx.load(path) first")


def load_with_weights(source: str | os.PathLike[str] | onnx.ModelProto, *,
                      defer_weights: bool = False) -> LoadedWeights:
    """The model with its weights in memory: a path is vetted by load_onnx (locations checked,
    nothing read) before onnx reads the external data; a ModelProto must hold its weights (or
    have them deferred).

    `defer_weights`: the large float initializers in external data (DEFER_TENSOR_BYTES each,
    DEFER_TOTAL_BYTES in all) stay in their file, deferred (analyzer.sources.deferred): every
    consumer of the project reads them from there when it needs them, and write_model streams
    them to the output's data file. Only for a caller that writes the result with write_model
    (onnx.save on such a model would write references to the input's file)."""
    if isinstance(source, onnx.ModelProto):
        check_no_external(source)
        return LoadedWeights(source, None, has_deferred(source), [])
    loaded = load_onnx(source)
    if loaded.external_data and loaded.path is not None:
        # the locations are checked (inside the folder, regular files, in bounds): read them now
        if defer_weights:
            _defer_large(loaded)
        folder = str(loaded.path.parent)
        for tensor in external_tensors(loaded.model):
            if deferred_source(tensor) is None:
                onnx.external_data_helper.load_external_data_for_tensor(tensor, folder)
                tensor.data_location = onnx.TensorProto.DEFAULT
                del tensor.external_data[:]
    files = sorted({ref.path for ref in loaded.external_data})
    return LoadedWeights(loaded.model, loaded.path, bool(loaded.external_data), files)


#: A weight stays in its file (load_with_weights(defer_weights=True)) from this size, when such
#: weights add up to DEFER_TOTAL_BYTES (below it, the copies cost little: the model is read whole)
DEFER_TENSOR_BYTES = 1 << 16
DEFER_TOTAL_BYTES = 16 * 2**20
#: float types only: shape inference and the rules' constants never read a float weight's values
_DEFERRABLE = frozenset({onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE,
                         onnx.TensorProto.FLOAT16})


def _defer_large(loaded: LoadedModel) -> None:
    """Defer the large float main-graph initializers of a model just loaded (locations checked)."""
    refs = {(ref.name, ref.location, ref.offset): ref for ref in loaded.external_data}
    chosen = []
    for tensor in loaded.model.graph.initializer:
        if (tensor.data_location != onnx.TensorProto.EXTERNAL
                or tensor.data_type not in _DEFERRABLE or tensor.HasField("raw_data")):
            continue
        entries = {e.key: e.value for e in tensor.external_data}  # as the loader read them
        ref = refs.get((tensor.name, entries.get("location", ""),
                        int(entries.get("offset") or 0)))
        if ref is None:
            continue
        size = tensor_bytes(tensor)
        if size >= DEFER_TENSOR_BYTES and ref.length == size:
            chosen.append((tensor, ref))
    if sum(ref.length for _, ref in chosen) < DEFER_TOTAL_BYTES:
        return
    for tensor, ref in chosen:
        defer(tensor, ref.path, ref.offset, ref.length)


def _serialized_size(model: onnx.ModelProto) -> int:
    try:
        return serialized_size(model)
    except (ValueError, OverflowError):  # past what protobuf can measure: certainly over
        return PROTOBUF_LIMIT


def wants_external(model: onnx.ModelProto, mode: ExternalDataMode, input_external: bool) -> bool:
    """Whether `write_model` writes the weights external: `always`, `never`, or (`auto`) when the
    input kept them external or the model would not fit in one protobuf message."""
    if mode not in EXTERNAL_DATA_MODES:
        raise InputError(None, OUTPUT_PATH, f"external data mode {mode!r} is not one of "
                         f"{', '.join(EXTERNAL_DATA_MODES)}")
    if mode != "auto":
        return mode == "always"
    return input_external or _serialized_size(model) >= EXTERNAL_THRESHOLD


def _read_back(staged: Path) -> None:
    """The staged pair loads and passes onnx.checker on the path (which resolves the data beside
    it and works past 2 GiB). The model file is parsed without its external data, whose every
    tensor is checked to lie inside its file (what onnx.load checks before it reads one): reading
    the weights back would hold a second copy of them next to the model just written."""
    model = onnx.load(str(staged), load_external_data=False)
    sizes: dict[str, int] = {}
    for tensor in external_tensors(model):
        info = onnx.external_data_helper.ExternalDataInfo(tensor)
        data = staged.parent / info.location
        if info.location not in sizes:
            sizes[info.location] = data.stat().st_size  # raises if it is not there
        end = (info.offset or 0) + (info.length if info.length is not None else 0)
        if end > sizes[info.location] or (info.offset or 0) > sizes[info.location]:
            raise ValueError(f"external tensor {tensor.name} does not lie inside {data.name}")
    onnx.checker.check_model(str(staged))


def write_model(model: onnx.ModelProto, path: str | os.PathLike[str], *,
               external_data: ExternalDataMode = "auto", input_external: bool = False,
               protect: Iterable[str | os.PathLike[str]] = ()) -> Path | None:
    """Write `model` to `path` (weights in `<path>.data` when external, see wants_external),
    atomically, read back before it lands; never over a file in `protect`. Returns the data
    file written, or None when every weight is in the model file.

    A model with deferred weights (load_with_weights(defer_weights=True)) is written without
    holding them: each is streamed from the input's data file to the output's, CHUNK_BYTES at a
    time (`never` reads them into `model` first: inline weights must be in memory)."""
    deferred = has_deferred(model)
    external = wants_external(model, external_data, input_external or deferred)
    threshold = 0 if external_data == "always" else _SMALL_TENSOR
    if deferred and not external:
        materialize_all(model)
    elif deferred:
        plan = _external_plan(model, threshold)
        data = _stream(plan) if plan else None
        try:
            return save_onnx_stream_atomically(
                path, lambda name: _header_model(model, plan, name), data, protect=protect,
                check=_read_back)
        except DataFileChanged as exc:  # nothing landed: say which input changed
            raise InputError(exc.path, EXTERNAL_DATA_OUT_OF_BOUNDS, str(exc)) from None
    return save_onnx_atomically(model, path, protect=protect, external_data=external,
                                size_threshold=threshold, check=_read_back)


#: fields of a tensor that say where its bytes are (the header of an external tensor drops them)
_DATA_FIELDS = frozenset({"raw_data", "external_data", "data_location", "doc_string"})


def _external_plan(model: onnx.ModelProto, threshold: int
                   ) -> dict[str, tuple[onnx.TensorProto, int, int]]:
    """{name: (tensor, offset, length)} of the main-graph initializers that go to the data file:
    every deferred one and those of `threshold` bytes or more (as onnx.save_model measures
    them), each placed at the end of the file, in order, as onnx.save_model places them."""
    plan: dict[str, tuple[onnx.TensorProto, int, int]] = {}
    offset = 0
    for tensor in model.graph.initializer:
        source = deferred_source(tensor)
        if source is not None:
            length = source.length
        elif tensor.HasField("raw_data") and sys.getsizeof(tensor.raw_data) >= threshold:
            length = len(tensor.raw_data)
        else:
            continue
        if tensor.name in plan:  # an invalid model: never write one name's bytes twice
            raise ValueError(f"two initializers are named {tensor.name!r}")
        plan[tensor.name] = (tensor, offset, length)
        offset += length
    return plan


def _stream(plan: dict[str, tuple[onnx.TensorProto, int, int]]) -> Iterator[bytes]:
    """The data file's bytes in plan order: a deferred tensor's copied from the input's data
    file a chunk at a time, the others' from memory."""
    for tensor, _, length in plan.values():
        source = deferred_source(tensor)
        if source is None:
            yield tensor.raw_data
            continue
        written = 0
        for chunk in iter_chunks(source):
            written += len(chunk)
            yield chunk
        if written != length:
            raise DataFileChanged(source.path, f"external data of {tensor.name} changed while "
                                  "it was written")


def _header_model(model: onnx.ModelProto, plan: dict[str, tuple[onnx.TensorProto, int, int]],
                  data_name: str) -> bytes:
    """`model` serialized with the planned tensors' data in `data_name` (their bytes left out);
    `model` itself is not changed."""
    light = onnx.ModelProto()
    for descriptor, value in model.ListFields():
        if descriptor.name != "graph":
            _set(light, descriptor, value)
    for descriptor, value in model.graph.ListFields():
        if descriptor.name != "initializer":
            _set(light.graph, descriptor, value)
    for tensor in model.graph.initializer:
        planned = plan.get(tensor.name)
        if planned is None:
            light.graph.initializer.append(tensor)
            continue
        _, offset, length = planned
        header = light.graph.initializer.add()
        for descriptor, value in tensor.ListFields():
            if descriptor.name not in _DATA_FIELDS:
                _set(header, descriptor, value)
        source = deferred_source(tensor)
        doc = tensor.doc_string if source is None else source.doc
        if doc:
            header.doc_string = doc
        header.data_location = onnx.TensorProto.EXTERNAL
        for key, value in (("location", data_name), ("offset", str(offset)),
                           ("length", str(length))):
            entry = header.external_data.add()
            entry.key, entry.value = key, value
    return light.SerializeToString()


def _repeated(descriptor: Any) -> bool:
    return bool(descriptor.is_repeated if hasattr(descriptor, "is_repeated")
                else descriptor.label == descriptor.LABEL_REPEATED)  # protobuf < 5.28


def _set(message: Any, descriptor: Any, value: Any) -> None:
    """Copy one set field's value into `message`."""
    if _repeated(descriptor):
        getattr(message, descriptor.name).extend(value)
    elif descriptor.message_type is not None:
        getattr(message, descriptor.name).CopyFrom(value)
    else:
        setattr(message, descriptor.name, value)
