"""Load an ONNX model for analysis without trusting the file.

A model file may be truncated, of another format, from a newer onnx, or hostile (external data
that points outside its folder, nesting meant to exhaust the parser). `load_onnx` turns each of
these into one `InputError` with a stable code (see docs/errors.md) instead of a traceback, and
it never reads the weights held in external data: it only checks where they are and that they
fit in their files, so that analysis stays cheap and touches nothing outside the model's folder.

The steps live in modules named for their job: untrusted_file (stat, size limit, bounded read),
onnx_filetype (parse, or name the format the bytes really are), onnx_model_checks (versions,
opsets, limits, structure) and onnx_external_data (where the weights are).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import onnx

from analyzer.error_codes import FILE_TOO_LARGE, PROTOBUF_TOO_LARGE, WRONG_FORMAT
from analyzer.errors import InputError
from analyzer.limits import (
    DEFAULT_MAX_FILE_BYTES,
    DEFAULT_MAX_NODES,
    DEFAULT_MAX_SUBGRAPH_DEPTH,
    raise_hint,
)
from analyzer.sources.deferred import deferred_source
from analyzer.sources.onnx_external_data import ExternalTensorRef, check_external_data
from analyzer.sources.onnx_filetype import describe_directory, parse_model, recognise_by_magic
from analyzer.sources.onnx_model_checks import ModelLimits, vet_model
from analyzer.sources.untrusted_file import (
    check_not_empty,
    check_size,
    format_size,
    read_bounded,
    read_head,
    stat_regular_file,
)
from analyzer.sources.weightless import serialized_size

__all__ = [
    "MAX_SUBGRAPH_DEPTH",
    "PROTOBUF_LIMIT",
    "LoadedModel",
    "load_onnx",
]

#: Deepest subgraph (If/Loop/Scan body) nesting accepted by default; the main graph is depth 0.
#: Protobuf's own decoder gives up at about this depth, and no real model comes close.
MAX_SUBGRAPH_DEPTH = DEFAULT_MAX_SUBGRAPH_DEPTH
#: Protobuf cannot serialize or parse a message of 2 GiB or more.
PROTOBUF_LIMIT = 2**31
#: Shape inference adds value_info to the proto, so a model this close to the limit is treated
#: as over it: the analyzer then infers shapes from the path instead of in memory.
_PROTOBUF_HEADROOM = 64 * 2**20
#: What the file-level messages say a model file should be.
_WHAT = "an ONNX model"

Source = str | os.PathLike[str] | onnx.ModelProto


@dataclass
class LoadedModel:
    """A parsed model plus the facts about its files that later stages need.

    `model` holds no external weights (they are never loaded); `file_bytes` is the size of the
    .onnx file, or the serialized size of a model given in memory. `over_2gb` tells the analyzer
    to run shape inference from the path, as onnx cannot do it in memory past protobuf's limit.
    """

    model: onnx.ModelProto
    path: Path | None
    file_bytes: int
    external_data: list[ExternalTensorRef] = field(default_factory=list)
    over_2gb: bool = False
    #: a node whose op is known to crash onnx's shape inference on untyped inputs (the first
    #: one found), so that the analysis runs inference in a child (inference_guard); else None
    inference_risk: str | None = None


def load_onnx(
    source: Source,
    *,
    max_file_bytes: int | None = DEFAULT_MAX_FILE_BYTES,
    max_nodes: int | None = DEFAULT_MAX_NODES,
    max_subgraph_depth: int = DEFAULT_MAX_SUBGRAPH_DEPTH,
) -> LoadedModel:
    """Parse and vet an ONNX model from a path or an in-memory ModelProto.

    Raises `InputError` (one line, stable code) for anything that would make analysis wrong or
    unsafe. A ModelProto passed in is returned as is, not copied. The limits (None: no limit)
    bound the bytes read, the nodes in all graphs and the subgraph nesting (analyzer.limits).
    """
    limits = ModelLimits(max_nodes, max_subgraph_depth)
    if isinstance(source, onnx.ModelProto):
        return _load_in_memory(source, max_file_bytes, limits)
    return _load_file(Path(os.fsdecode(source)), max_file_bytes, limits)


def _load_file(path: Path, max_file_bytes: int | None, limits: ModelLimits) -> LoadedModel:
    """Check the path, read the bytes once, parse them, then vet the model."""
    identity = stat_regular_file(
        path, _WHAT, suggest_suffix=".onnx", describe_directory=describe_directory
    )
    check_size(path, identity.size, max_file_bytes)
    if identity.size >= PROTOBUF_LIMIT:
        # Protobuf could not parse it anyway; name its format from the head instead of reading it.
        other = recognise_by_magic(path, read_head(path, 16, identity))
        if other is not None:
            raise InputError(path, WRONG_FORMAT, other)
        raise InputError(path, PROTOBUF_TOO_LARGE, _too_large_message(identity.size))
    check_not_empty(path, identity.size, _WHAT)
    data = read_bounded(path, max_file_bytes, identity)
    model = parse_model(path, data, limits.depth)
    file_bytes = len(data)
    del data
    survey = vet_model(path, model, limits)
    refs = check_external_data(path, path.parent, survey.external)
    return LoadedModel(
        model=model,
        path=path,
        file_bytes=file_bytes,
        external_data=refs,
        over_2gb=_over_2gb(file_bytes, sum(ref.length for ref in refs)),
        inference_risk=survey.inference_risk,
    )


def _load_in_memory(
    model: onnx.ModelProto, max_file_bytes: int | None, limits: ModelLimits
) -> LoadedModel:
    """Vet a ModelProto built in memory; it has no folder, so external data cannot be checked
    (except deferred weights, whose files were checked when they were loaded)."""
    size = serialized_size(model)  # not ByteSize(): it serializes every weight to measure
    if max_file_bytes is not None and size > max_file_bytes:
        raise InputError(
            None,
            FILE_TOO_LARGE,
            f"in-memory model is {format_size(size)} serialized, over the limit of "
            f"{format_size(max_file_bytes)} (file size); {raise_hint('file size')}",
        )
    survey = vet_model(None, model, limits)
    # a deferred weight's location was checked when its file was loaded (analyzer.sources.
    # deferred): only the others have no folder to be checked against
    check_external_data(None, None, [(t, where) for t, where in survey.external
                                     if deferred_source(t) is None])
    return LoadedModel(model=model, path=None, file_bytes=size, over_2gb=_over_2gb(size, 0),
                       inference_risk=survey.inference_risk)


def _over_2gb(file_bytes: int, external_bytes: int) -> bool:
    near_limit = file_bytes >= PROTOBUF_LIMIT - _PROTOBUF_HEADROOM
    return near_limit or file_bytes + external_bytes > PROTOBUF_LIMIT


def _too_large_message(size: int) -> str:
    return (
        f"file is {format_size(size)}, over protobuf's 2 GiB limit for one message; save the "
        "model with external data (onnx.save_model(..., save_as_external_data=True))"
    )
