"""Load an ONNX model for analysis without trusting the file.

A model file may be truncated, of another format, from a newer onnx, or hostile (external data
that points outside its folder, nesting meant to exhaust the parser). `load_onnx` turns each of
these into one `InputError` with a stable code (see docs/errors.md) instead of a traceback, and
it never reads the weights held in external data: it only checks where they are and that they
fit in their files, so that analysis stays cheap and touches nothing outside the model's folder.
"""

from __future__ import annotations

import functools
import math
import ntpath
import os
import posixpath
import stat
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import onnx
import onnx.defs
from google.protobuf.message import DecodeError

from analyzer.errors import InputError
from analyzer.limits import (
    DEFAULT_MAX_FILE_BYTES,
    DEFAULT_MAX_NODES,
    DEFAULT_MAX_SUBGRAPH_DEPTH,
    raise_hint,
)
from analyzer.sources.inference_guard import is_risky
from analyzer.sources.onnx_attr_guard import GUARDED_OPS, check_attributes
from analyzer.sources.onnx_graph_check import check_graph_structure

__all__ = [
    "MAX_SUBGRAPH_DEPTH",
    "PROTOBUF_LIMIT",
    "ExternalTensorRef",
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
#: How many directory entries to look at when guessing what a directory argument meant.
_DIR_SCAN_LIMIT = 1000

Source = str | os.PathLike[str] | onnx.ModelProto


@dataclass(frozen=True)
class ExternalTensorRef:
    """Where one tensor's data lives outside the model file (checked, never read).

    `length` is the byte count the tensor occupies: the recorded length, or up to the end of the
    file when the model records none (as the ONNX spec allows).
    """

    name: str
    location: str
    offset: int
    length: int
    path: Path
    file_size: int


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


@dataclass(frozen=True)
class _Limits:
    nodes: int | None
    depth: int


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
    limits = _Limits(max_nodes, max_subgraph_depth)
    if isinstance(source, onnx.ModelProto):
        return _load_in_memory(source, max_file_bytes, limits)
    return _load_file(Path(os.fsdecode(source)), max_file_bytes, limits)


# --------------------------------------------------------------------------------------------
# Reading the file


def _load_file(path: Path, max_file_bytes: int | None, limits: _Limits) -> LoadedModel:
    """Check the path, read the bytes once, parse them, then vet the model."""
    size = _stat_model_file(path)
    if max_file_bytes is not None and size > max_file_bytes:
        raise InputError(
            path,
            "FILE_TOO_LARGE",
            f"file is {_size(size)}, over the limit of {_size(max_file_bytes)} (file size); "
            f"{raise_hint('file size')}",
        )
    if size >= PROTOBUF_LIMIT:
        # Protobuf could not parse it anyway; name its format from the head instead of reading it.
        other = _recognise_by_magic(path, _read_bytes(path, 16, exact_limit=True))
        if other is not None:
            raise InputError(path, "WRONG_FORMAT", other)
        raise InputError(path, "PROTOBUF_TOO_LARGE", _too_large_message(size))
    data = _read_bytes(path, max_file_bytes)
    if not data:
        raise InputError(path, "EMPTY_FILE", "file is empty (0 bytes), not an ONNX model")
    model = _parse(path, data, limits.depth)
    file_bytes = len(data)
    del data
    external_bytes, refs, risk = _vet_model(path, model, path.parent, limits)
    return LoadedModel(
        model=model,
        path=path,
        file_bytes=file_bytes,
        external_data=refs,
        over_2gb=_over_2gb(file_bytes, external_bytes),
        inference_risk=risk,
    )


def _load_in_memory(
    model: onnx.ModelProto, max_file_bytes: int | None, limits: _Limits
) -> LoadedModel:
    """Vet a ModelProto built in memory; it has no folder, so external data cannot be checked."""
    size = model.ByteSize()
    if max_file_bytes is not None and size > max_file_bytes:
        raise InputError(
            None,
            "FILE_TOO_LARGE",
            f"in-memory model is {_size(size)} serialized, over the limit of "
            f"{_size(max_file_bytes)} (file size); {raise_hint('file size')}",
        )
    _, _, risk = _vet_model(None, model, None, limits)
    return LoadedModel(model=model, path=None, file_bytes=size, over_2gb=_over_2gb(size, 0),
                       inference_risk=risk)


def _stat_model_file(path: Path) -> int:
    """Return the file's size, or explain why it is not a readable regular file."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise InputError(path, "FILE_NOT_FOUND", _not_found_message(path)) from None
    except PermissionError as exc:
        raise InputError(
            path, "UNREADABLE", f"cannot access the file ({exc.strerror or 'permission denied'})"
        ) from None
    except OSError as exc:
        raise InputError(
            path, "UNREADABLE", f"cannot access the file ({exc.strerror or exc})"
        ) from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(path, "IS_DIRECTORY", _directory_message(path))
    if not stat.S_ISREG(st.st_mode):
        raise InputError(
            path,
            "NOT_A_FILE",
            f"is a {_file_kind(st.st_mode)}, not a regular file; an ONNX model must be a file",
        )
    return st.st_size


def _read_bytes(path: Path, limit: int | None, *, exact_limit: bool = False) -> bytes:
    """Read the file (or its first `limit` bytes), never more than the limit allows.

    Reading one byte past the limit tells a file that grew after stat from one that fits.
    """
    try:
        with path.open("rb") as handle:
            if limit is None:
                return handle.read()
            data = handle.read(limit if exact_limit else limit + 1)
    except OSError as exc:
        raise InputError(
            path, "UNREADABLE", f"cannot read the file ({exc.strerror or 'permission denied'})"
        ) from None
    if not exact_limit and len(data) > limit:
        raise InputError(
            path, "FILE_TOO_LARGE", f"file grew past the limit of {_size(limit)} while being read"
        )
    return data


def _not_found_message(path: Path) -> str:
    """Say the file is missing, and point at the likely intended one."""
    if path.is_symlink():
        return f"is a broken symlink to '{os.readlink(path)}'"
    if not path.suffix:
        guess = path.with_suffix(".onnx")
        if guess.is_file():
            return f"no such file; did you mean {guess}?"
    if not path.parent.exists():
        return f"no such file (its folder '{path.parent}' does not exist either)"
    return "no such file"


def _directory_message(path: Path) -> str:
    """Explain a directory argument, naming the one .onnx file it holds when there is one."""
    names: list[str] = []
    try:
        with os.scandir(path) as entries:
            for count, entry in enumerate(entries):
                if count >= _DIR_SCAN_LIMIT:
                    break
                names.append(entry.name)
    except OSError:
        return "is a directory, not an ONNX file"
    onnx_files = sorted(n for n in names if n.lower().endswith(".onnx"))
    if len(onnx_files) == 1:
        return f"is a directory; did you mean {path / onnx_files[0]}?"
    if "saved_model.pb" in names:
        return (
            "is a directory that looks like a TensorFlow SavedModel (saved_model.pb); "
            "analyze it as a TensorFlow source, or export it to ONNX first"
        )
    if onnx_files:
        shown = ", ".join(onnx_files[:5]) + (", ..." if len(onnx_files) > 5 else "")
        return f"is a directory holding {len(onnx_files)} .onnx files ({shown}); name one of them"
    return "is a directory with no .onnx file in it, not an ONNX file"


def _file_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device file"
    return "special file"


# --------------------------------------------------------------------------------------------
# Parsing, and naming what a file is when it is not ONNX


def _parse(path: Path, data: bytes, max_depth: int) -> onnx.ModelProto:
    """Parse the bytes as a ModelProto; on failure say what the file is, as concretely as can be."""
    other = _recognise_by_magic(path, data)
    if other is not None:
        raise InputError(path, "WRONG_FORMAT", other)
    try:
        model = onnx.load_model_from_string(data)
    except DecodeError as exc:
        raise _parse_failure(path, data, str(exc), max_depth) from None
    if not model.HasField("graph"):
        raise _no_graph(path, data, model)
    return model


def _parse_failure(path: Path, data: bytes, reason: str, max_depth: int) -> InputError:
    """Turn a protobuf decode error into the most specific error that the bytes support."""
    if "MaxDepth" in reason:
        depth = _deepest_subgraph(data)
        if depth > max_depth:
            return InputError(
                path,
                "NESTING_TOO_DEEP",
                f"subgraph nesting depth {depth} exceeds the limit {max_depth} (protobuf's "
                "decoder cannot read it either, so raising the limit does not help for a file)",
            )
        return InputError(
            path,
            "NESTING_TOO_DEEP",
            f"protobuf messages are nested deeper than the decoder allows (subgraph nesting "
            f"depth {depth}, limit {max_depth}); the file cannot be parsed",
        )
    guess = _recognise_loosely(path, data)
    if guess is not None:
        return InputError(path, "WRONG_FORMAT", guess)
    detail = _short(reason)
    truncation = _truncation_hint(data)
    message = f"truncated or corrupt ONNX protobuf ({detail})"
    if truncation:
        message += f"; {truncation}"
    return InputError(path, "CORRUPT_PROTOBUF", message)


def _no_graph(path: Path, data: bytes, model: onnx.ModelProto) -> InputError:
    """A protobuf that parses as ModelProto without a graph: usually another message or format."""
    guess = _recognise_loosely(path, data)
    if guess is not None:
        return InputError(path, "WRONG_FORMAT", guess)
    if model.ir_version == 0:
        return InputError(
            path,
            "NOT_A_MODEL",
            "parses as protobuf but has no graph and ir_version 0: not an ONNX model "
            "(another protobuf message, e.g. a serialized GraphProto or NodeProto?)",
        )
    return InputError(
        path,
        "NOT_A_MODEL",
        f"ONNX model (ir_version {model.ir_version}) has no graph; nothing to analyze",
    )


def _recognise_by_magic(path: Path, data: bytes) -> str | None:
    """Name formats whose leading bytes can never start a serialized ModelProto."""
    head = data[:16]
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return _describe_zip(path)
    if head.startswith(b"\x89HDF\r\n\x1a\n"):
        return (
            "looks like an HDF5 file (a Keras .h5 model?), not an ONNX model; analyze it as a "
            "Keras source (a file named *.h5)"
        )
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        if head.startswith(b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19"):
            return (
                "looks like a legacy PyTorch checkpoint (pickle), not an ONNX model; it is not "
                "unpickled; export the nn.Module to ONNX, or analyze it "
                "(onnx-preflight analyze package.module:factory)"
            )
        return "looks like a Python pickle, not an ONNX model; it is not unpickled"
    if head[4:8] == b"TFL3":
        return (
            "looks like a TensorFlow Lite flatbuffer, not an ONNX model; analyze it as a TFLite "
            "source (a file named *.tflite)"
        )
    if head[4:8] == b"ORTM":
        return (
            "looks like an ONNX Runtime format model (.ort), not an ONNX protobuf; analyze the "
            ".onnx file it was converted from"
        )
    if head.startswith(b"\x93NUMPY"):
        return "looks like a NumPy .npy array, not an ONNX model"
    if head.startswith(b"GGUF"):
        return "looks like a GGUF (llama.cpp) model, not an ONNX model"
    if head.startswith(b"\x1f\x8b"):
        return "looks like a gzip-compressed file; decompress it first"
    return None


def _describe_zip(path: Path) -> str:
    """Name the kind of zip archive from its member names (the archive is never extracted)."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        names = []
    torch_hint = (
        "export the nn.Module to ONNX first, or analyze the module "
        "(onnx-preflight analyze package.module:factory)"
    )
    if any(n.endswith("constants.pkl") or "/code/" in n for n in names):
        return f"looks like a TorchScript archive (zip), not an ONNX model; {torch_hint}"
    if any(n == "data.pkl" or n.endswith("/data.pkl") for n in names):
        return f"looks like a PyTorch checkpoint (zip, data.pkl), not an ONNX model; {torch_hint}"
    if any("serialized_exported_program" in n or "/models/" in n for n in names):
        return f"looks like a PyTorch ExportedProgram (.pt2 zip), not an ONNX model; {torch_hint}"
    if "config.json" in names and any(n.endswith(".weights.h5") for n in names):
        return (
            "looks like a Keras v3 archive (.keras zip), not an ONNX model; analyze it as a Keras "
            "source (a file named *.keras)"
        )
    if names and all(n.endswith(".npy") for n in names):
        return "looks like a NumPy .npz archive (arrays, no model), not an ONNX model"
    return "looks like a zip archive, not an ONNX model; unpack it and pass the .onnx file inside"


def _recognise_loosely(path: Path, data: bytes) -> str | None:
    """Name formats that are only recognisable once the bytes failed to be a ModelProto."""
    if path.name == "saved_model.pb":
        return (
            "looks like a TensorFlow SavedModel (saved_model.pb), not an ONNX model; analyze its "
            "folder as a TensorFlow source"
        )
    if _looks_like_safetensors(data):
        return "looks like a safetensors weights file, not an ONNX model"
    text = _as_text(data[:4096])
    if text is not None:
        return _describe_text(text)
    tensor = _as_tensor_proto(data)
    if tensor is not None:
        return (
            f"looks like a serialized ONNX TensorProto ({tensor}), not a model; "
            "pass the model.onnx it belongs to"
        )
    if path.suffix.lower() in (".pb", ".pbtxt"):
        return (
            "is not an ONNX model; a .pb file may be a TensorFlow GraphDef: analyze it as a "
            "TensorFlow source"
        )
    return None


def _looks_like_safetensors(data: bytes) -> bool:
    if len(data) < 10:
        return False
    header_len = int.from_bytes(data[:8], "little")
    return 0 < header_len <= len(data) - 8 and data[8:10] in (b'{"', b"{ ", b"{\n")


def _as_text(head: bytes) -> str | None:
    """Return the head as text when it is printable UTF-8 (binary protobuf never is)."""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        # A multi-byte character cut at the end of the head is still text.
        try:
            text = head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return None
    if not text.strip():
        return None
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
    return text if printable >= 0.95 * len(text) else None


def _describe_text(text: str) -> str:
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped.startswith("<") and ("ir_version" in text or "opset_import" in text):
        return (
            "looks like ONNX text syntax, not a binary ONNX model; convert it with "
            "onnx.parser.parse_model and onnx.save_model"
        )
    if "ir_version:" in text or "graph {" in text:
        return (
            "looks like a text-format ModelProto, not a binary ONNX model; convert it with "
            "google.protobuf.text_format.Parse(text, onnx.ModelProto()) and onnx.save_model"
        )
    if stripped.startswith("{") or (
        stripped.startswith("[") and stripped[1:].lstrip()[:1] in ("{", "[", '"', "]")
    ):
        return "looks like JSON text, not an ONNX model"
    if stripped.startswith("<"):
        return "looks like XML or HTML text (an OpenVINO IR .xml?), not an ONNX model"
    return "looks like a text file, not an ONNX model"


def _as_tensor_proto(data: bytes) -> str | None:
    """Return the tensor's name when the bytes parse cleanly as a plausible TensorProto."""
    tensor = onnx.TensorProto()
    try:
        tensor.ParseFromString(data)
    except DecodeError:
        return None
    valid_type = tensor.data_type in onnx.TensorProto.DataType.values() and tensor.data_type != 0
    has_payload = tensor.HasField("raw_data") or len(tensor.dims) > 0 or tensor.HasField("name")
    tensor.DiscardUnknownFields()  # bytes that are not TensorProto fields would be dropped here
    if not (valid_type and has_payload) or tensor.ByteSize() != len(data):
        return None
    return f"'{tensor.name}'" if tensor.name else "unnamed"


# Protobuf wire format, enough to walk the fields that nest graphs and to spot truncation when
# the real decoder has already refused the bytes.
_VARINT, _I64, _LEN, _I32 = 0, 1, 2, 5
# (message, field number) -> (child message, subgraph depth increment)
_NESTING_FIELDS: dict[tuple[str, int], tuple[str, int]] = {
    ("model", 7): ("graph", 0),
    ("model", 20): ("training_info", 0),
    ("model", 25): ("function", 0),
    ("training_info", 1): ("graph", 0),
    ("training_info", 2): ("graph", 0),
    ("function", 7): ("node", 0),
    ("graph", 1): ("node", 0),
    ("node", 5): ("attribute", 0),
    ("attribute", 6): ("graph", 1),
    ("attribute", 11): ("graph", 1),
}
_MODEL_FIELD_NAMES = {
    2: "producer_name",
    3: "producer_version",
    4: "domain",
    6: "doc_string",
    7: "graph",
    8: "opset_import",
    14: "metadata_props",
    20: "training_info",
    25: "functions",
}


def _read_varint(buf: memoryview, pos: int, end: int) -> tuple[int, int] | None:
    value = shift = 0
    while pos < end and shift < 64:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
    return None


def _fields(buf: memoryview, pos: int, end: int) -> Iterator[tuple[int, int, int, int]]:
    """Yield (field, wire type, start, stop) for each field; stop early at malformed bytes.

    For a length-delimited field start..stop is its payload and stop may exceed `end` when the
    bytes are truncated; the caller decides what that means.
    """
    while pos < end:
        tag = _read_varint(buf, pos, end)
        if tag is None:
            return
        key, pos = tag
        number, wire = key >> 3, key & 7
        if wire == _VARINT:
            value = _read_varint(buf, pos, end)
            if value is None:
                return
            start, pos = pos, value[1]
        elif wire in (_I64, _I32):
            start, pos = pos, pos + (8 if wire == _I64 else 4)
        elif wire == _LEN:
            length = _read_varint(buf, pos, end)
            if length is None:
                return
            start, pos = length[1], length[1] + length[0]
        else:
            return  # groups: onnx.proto has none, so these bytes are corrupt
        yield number, wire, start, pos


def _deepest_subgraph(data: bytes) -> int:
    """Deepest subgraph nesting in raw bytes, walked iteratively (the decoder refused them)."""
    buf = memoryview(data)
    deepest = 0
    stack: list[tuple[str, int, int, int]] = [("model", 0, len(data), 0)]
    while stack:
        kind, pos, end, depth = stack.pop()
        if kind == "graph":
            deepest = max(deepest, depth)
        for number, wire, start, stop in _fields(buf, pos, end):
            child = _NESTING_FIELDS.get((kind, number))
            if wire == _LEN and child is not None and stop <= end:
                stack.append((child[0], start, stop, depth + child[1]))
    return deepest


def _truncation_hint(data: bytes) -> str | None:
    """Name the top-level field that runs past the end of the file: the mark of a cut copy."""
    buf = memoryview(data)
    for number, wire, start, stop in _fields(buf, 0, len(data)):
        if stop > len(data):
            if wire != _LEN:
                return "the file ends inside a field: it looks truncated"
            name = _MODEL_FIELD_NAMES.get(number, f"field {number}")
            return (
                f"the {name} field needs {stop - start} bytes but only {len(data) - start} "
                "remain: the file looks truncated"
            )
    return None


# --------------------------------------------------------------------------------------------
# Vetting the parsed model


def _vet_model(
    path: Path | None, model: onnx.ModelProto, model_dir: Path | None, limits: _Limits
) -> tuple[int, list[ExternalTensorRef], str | None]:
    """Check versions, opset imports, limits, graph structure and external data; return the
    external bytes and refs, and the first node whose op makes shape inference risky."""
    if not model.HasField("graph"):
        raise InputError(path, "NOT_A_MODEL", "model has no graph; nothing to analyze")
    _check_ir_version(path, model)
    model_imports = _check_opset_imports(path, model.opset_import, "the model")
    function_imports = [
        _check_opset_imports(path, fn.opset_import, f"local function '{_function_id(fn)}'")
        for fn in model.functions
    ]
    survey = _survey(path, model, limits)
    _check_default_domain(path, model, model_imports, survey.default_uses.get(None))
    for index, fn in enumerate(model.functions):
        uses = survey.default_uses.get(index)
        if uses is not None and "" not in function_imports[index]:
            raise InputError(
                path,
                "OPSET_MISSING",
                f"local function '{_function_id(fn)}' has no opset import for the default "
                f"domain '' (ai.onnx) but {uses[0]} of its nodes use it (e.g. {uses[1]})",
            )
    check_graph_structure(path, model)
    if not survey.external:
        return 0, [], survey.inference_risk
    if model_dir is None:
        tensor, _ = survey.external[0]
        raise InputError(
            path,
            "EXTERNAL_DATA_NEEDS_PATH",
            f"in-memory model has {len(survey.external)} tensor(s) in external data (e.g. "
            f"'{tensor.name}'), and external data needs the model's path; pass the file path",
        )
    refs = _check_external_data(path, model_dir, survey.external)
    return sum(ref.length for ref in refs), refs, survey.inference_risk


def _check_ir_version(path: Path | None, model: onnx.ModelProto) -> None:
    if model.ir_version <= 0:
        shown = "missing (0)" if model.ir_version == 0 else str(model.ir_version)
        raise InputError(
            path,
            "IR_VERSION_INVALID",
            f"ir_version is {shown}; every ONNX model must record an IR version of 1 or more",
        )
    if model.ir_version > onnx.IR_VERSION:
        raise InputError(
            path,
            "IR_VERSION_TOO_NEW",
            f"ir_version {model.ir_version} is newer than the installed onnx {onnx.__version__} "
            f"supports (up to {onnx.IR_VERSION}); upgrade onnx or re-export with an older IR",
        )


@functools.cache
def _known_opset_max() -> dict[str, int]:
    """Highest opset version the installed onnx knows for each of its own domains."""
    known: dict[str, int] = {}
    for schema in onnx.defs.get_all_schemas_with_history():
        known[schema.domain] = max(known.get(schema.domain, 0), schema.since_version)
    known[""] = max(known.get("", 0), onnx.defs.onnx_opset_version())
    known["ai.onnx.ml"] = max(known.get("ai.onnx.ml", 0), onnx.defs.onnx_ml_opset_version())
    return known


def _check_opset_imports(
    path: Path | None, imports: Iterable[onnx.OperatorSetIdProto], owner: str
) -> dict[str, int]:
    """Validate one opset_import list; custom domains pass (later checks judge them)."""
    versions: dict[str, int] = {}
    for entry in imports:
        if entry.domain.__class__ is not str:
            raise _not_utf8(path, f"a domain that {owner} imports")
        domain = _normalise_domain(entry.domain)
        label = _domain_label(domain)
        if entry.version <= 0:
            raise InputError(
                path,
                "OPSET_INVALID",
                f"{owner} imports opset {entry.version} for domain {label}; opset versions "
                "start at 1",
            )
        if domain in versions and versions[domain] != entry.version:
            raise InputError(
                path,
                "OPSET_DUPLICATE",
                f"{owner} imports domain {label} twice, at versions {versions[domain]} and "
                f"{entry.version}",
            )
        newest = _known_opset_max().get(domain)
        if newest is not None and entry.version > newest:
            raise InputError(
                path,
                "OPSET_TOO_NEW",
                f"{owner} imports opset {entry.version} for domain {label}, newer than the "
                f"installed onnx {onnx.__version__} knows (up to {newest})",
            )
        versions[domain] = entry.version
    return versions


def _check_default_domain(
    path: Path | None,
    model: onnx.ModelProto,
    imports: dict[str, int],
    uses: tuple[int, str] | None,
) -> None:
    """Default-domain nodes need an import for it; an import list cannot be empty (IR >= 3)."""
    if uses is not None and "" not in imports:
        raise InputError(
            path,
            "OPSET_MISSING",
            f"no opset import for the default domain '' (ai.onnx) but {uses[0]} node(s) use it "
            f"(e.g. {uses[1]})",
        )
    if not imports and model.ir_version >= 3:
        raise InputError(
            path,
            "OPSET_MISSING",
            "model imports no opset at all; ONNX (IR version 3 and later) requires at least one",
        )


def _not_utf8(path: Path | None, what: str) -> InputError:
    """Protobuf hands back bytes for a string field that is not UTF-8: the file is damaged."""
    return InputError(path, "CORRUPT_PROTOBUF",
                      f"corrupt ONNX protobuf: {what} is not valid UTF-8 text")


def _node_label(node: onnx.NodeProto) -> str:
    return f"{node.op_type} '{node.name}'" if node.name else node.op_type


def _normalise_domain(domain: str) -> str:
    return "" if domain == "ai.onnx" else domain


def _domain_label(domain: str) -> str:
    return "'' (ai.onnx)" if domain == "" else f"'{domain}'"


def _function_id(fn: onnx.FunctionProto) -> str:
    return f"{fn.domain}:{fn.name}" if fn.domain else fn.name


@dataclass
class _Survey:
    """What one pass over every graph found: default-domain node uses and external tensors.

    `default_uses` maps a scope (None for the model, else the index of a local function) to the
    count of default-domain nodes there and one example.
    """

    default_uses: dict[int | None, tuple[int, str]] = field(default_factory=dict)
    external: list[tuple[onnx.TensorProto, str]] = field(default_factory=list)
    nodes: int = 0
    inference_risk: str | None = None


_Body = onnx.GraphProto | onnx.FunctionProto


def _survey(path: Path | None, model: onnx.ModelProto, limits: _Limits) -> _Survey:
    """Visit every graph and function body iteratively, enforcing the nesting and node limits."""
    survey = _Survey()
    deepest, deepest_at = 0, ""
    # Items: (body, subgraph depth, scope, where the body sits, for messages). The walk goes on
    # past the limit (being iterative, depth costs it no stack) so the error names the true depth.
    stack: list[tuple[_Body, int, int | None, str]] = [(model.graph, 0, None, "main graph")]
    for info in model.training_info:
        for graph in (info.initialization, info.algorithm):
            stack.append((graph, 0, None, f"training graph '{graph.name}'"))
    for index, fn in enumerate(model.functions):
        stack.append((fn, 0, index, f"local function '{_function_id(fn)}'"))
    while stack:
        body, depth, scope, where = stack.pop()
        survey.nodes += len(body.node)
        if limits.nodes is not None and survey.nodes > limits.nodes:
            raise InputError(
                path,
                "TOO_MANY_NODES",
                f"model has more than {limits.nodes} nodes (counting subgraphs and local "
                f"functions), over the node count limit; {raise_hint('node count')}",
            )
        if isinstance(body, onnx.GraphProto):
            _collect_graph_tensors(body, where, survey)
        # Once per node of models with 100k+ nodes: labels for messages are built only for nodes
        # that have attributes worth a look, and default-domain uses are counted per body.
        default_count, default_example = 0, ""
        for node in body.node:
            domain, op_type = node.domain, node.op_type
            if domain.__class__ is not str or op_type.__class__ is not str or (
                    node.name.__class__ is not str):
                raise _not_utf8(path, f"a node's op_type, domain or name in the {where}")
            if survey.inference_risk is None and is_risky(domain, op_type):
                survey.inference_risk = _node_label(node)
            if domain in ("", "ai.onnx"):
                if not default_count:
                    default_example = _node_label(node)
                default_count += 1
            if not len(node.attribute):
                continue
            if node.op_type in GUARDED_OPS:
                check_attributes(path, node, where)
            for attr in node.attribute:
                has_tensors = (attr.HasField("t") or len(attr.tensors)
                               or attr.HasField("sparse_tensor") or len(attr.sparse_tensors))
                has_graphs = attr.HasField("g") or len(attr.graphs)
                if not (has_tensors or has_graphs):
                    continue
                node_label = _node_label(node)
                if has_tensors:
                    _collect_attribute_tensors(
                        attr, f"attribute '{attr.name}' of {node_label}", survey
                    )
                if not has_graphs:
                    continue
                subgraphs = list(attr.graphs)
                if attr.HasField("g"):
                    subgraphs.insert(0, attr.g)
                for sub in subgraphs:
                    if depth + 1 > deepest:
                        deepest, deepest_at = depth + 1, f"attribute '{attr.name}' of {node_label}"
                    sub_where = f"subgraph '{sub.name}' of {node_label}"
                    stack.append((sub, depth + 1, scope, sub_where))
        if default_count:
            count, example = survey.default_uses.get(scope, (0, default_example))
            survey.default_uses[scope] = (count + default_count, example)
    if deepest > limits.depth:
        raise InputError(
            path,
            "NESTING_TOO_DEEP",
            f"subgraph nesting depth {deepest} exceeds the limit {limits.depth} "
            f"(deepest at {deepest_at}); {raise_hint('subgraph depth')}",
        )
    return survey


def _uses_external_data(tensor: onnx.TensorProto) -> bool:
    return tensor.HasField("data_location") and tensor.data_location == onnx.TensorProto.EXTERNAL


def _add_if_external(tensor: onnx.TensorProto, where: str, survey: _Survey) -> None:
    if _uses_external_data(tensor):
        survey.external.append((tensor, where))


def _collect_graph_tensors(graph: onnx.GraphProto, where: str, survey: _Survey) -> None:
    for tensor in graph.initializer:
        _add_if_external(tensor, f"initializer of the {where}", survey)
    for sparse in graph.sparse_initializer:
        _add_if_external(sparse.values, f"sparse initializer values of the {where}", survey)
        _add_if_external(sparse.indices, f"sparse initializer indices of the {where}", survey)


def _collect_attribute_tensors(attr: onnx.AttributeProto, where: str, survey: _Survey) -> None:
    """Constant-like attributes hold tensors too, and onnx would load their external data."""
    if attr.HasField("t"):
        _add_if_external(attr.t, where, survey)
    for tensor in attr.tensors:
        _add_if_external(tensor, where, survey)
    sparse_list = list(attr.sparse_tensors)
    if attr.HasField("sparse_tensor"):
        sparse_list.append(attr.sparse_tensor)
    for sparse in sparse_list:
        _add_if_external(sparse.values, where, survey)
        _add_if_external(sparse.indices, where, survey)


# --------------------------------------------------------------------------------------------
# External data: where it is, never what it holds

# Bits per element of the types whose storage size is certain; others skip the size check.
_ELEMENT_BITS: dict[int, int] = {
    getattr(onnx.TensorProto, name): bits
    for name, bits in (
        ("FLOAT", 32),
        ("UINT8", 8),
        ("INT8", 8),
        ("UINT16", 16),
        ("INT16", 16),
        ("INT32", 32),
        ("INT64", 64),
        ("BOOL", 8),
        ("FLOAT16", 16),
        ("DOUBLE", 64),
        ("UINT32", 32),
        ("UINT64", 64),
        ("COMPLEX64", 64),
        ("COMPLEX128", 128),
        ("BFLOAT16", 16),
        ("FLOAT8E4M3FN", 8),
        ("FLOAT8E4M3FNUZ", 8),
        ("FLOAT8E5M2", 8),
        ("FLOAT8E5M2FNUZ", 8),
        ("FLOAT8E8M0", 8),
        ("UINT4", 4),
        ("INT4", 4),
        ("FLOAT4E2M1", 4),
    )
    if hasattr(onnx.TensorProto, name)
}


@dataclass(frozen=True)
class _DataFile:
    """One external data file, resolved and stat'ed once however many tensors share it."""

    path: Path
    size: int


def _check_external_data(
    path: Path | None, model_dir: Path, tensors: list[tuple[onnx.TensorProto, str]]
) -> list[ExternalTensorRef]:
    folder = os.path.realpath(model_dir)
    files: dict[str, _DataFile] = {}
    refs: list[ExternalTensorRef] = []
    for tensor, where in tensors:
        label = f"tensor '{tensor.name}'" if tensor.name else f"unnamed tensor ({where})"
        location, offset, length = _external_entries(path, tensor, label)
        data_file = files.get(location)
        if data_file is None:
            data_file = _resolve_data_file(path, model_dir, folder, location, label)
            files[location] = data_file
        span = _check_bounds(path, tensor, label, location, offset, length, data_file.size)
        refs.append(
            ExternalTensorRef(
                name=tensor.name,
                location=location,
                offset=offset,
                length=span,
                path=data_file.path,
                file_size=data_file.size,
            )
        )
    return refs


def _external_entries(
    path: Path | None, tensor: onnx.TensorProto, label: str
) -> tuple[str, int, int | None]:
    """Read location, offset and length from the key/value entries (later keys win, as in onnx)."""
    values = {entry.key: entry.value for entry in tensor.external_data}
    location = values.get("location", "")
    if not location:
        raise InputError(
            path,
            "EXTERNAL_DATA_INVALID",
            f"{label} is marked as external data but has no location",
        )
    if "\x00" in location:
        raise InputError(
            path,
            "EXTERNAL_DATA_INVALID",
            f"external data location {location!r} of {label} contains a NUL byte",
        )
    numbers: dict[str, int | None] = {}
    for key in ("offset", "length"):
        raw = values.get(key)
        if raw is None:
            numbers[key] = None
            continue
        try:
            number = int(raw)
        except ValueError:
            number = -1
        if number < 0:
            raise InputError(
                path,
                "EXTERNAL_DATA_INVALID",
                f"external data {key} {raw!r} of {label} is not a non-negative integer",
            )
        numbers[key] = number
    return location, numbers["offset"] or 0, numbers["length"]


def _resolve_data_file(
    path: Path | None, model_dir: Path, folder: str, location: str, label: str
) -> _DataFile:
    """Resolve a location inside the model's folder and stat it; refuse anything that escapes."""
    where = f"external data location '{location}' of {label}"
    parts = location.replace("\\", "/").split("/")
    if posixpath.isabs(location) or ntpath.isabs(location) or ntpath.splitdrive(location)[0]:
        raise InputError(
            path,
            "EXTERNAL_DATA_OUTSIDE_FOLDER",
            f"{where} is an absolute path; it must be relative to the model's folder",
        )
    if ".." in parts:
        raise InputError(path, "EXTERNAL_DATA_OUTSIDE_FOLDER", f"{where} leaves the model's folder")
    resolved = os.path.realpath(os.path.join(model_dir, location))
    if os.path.commonpath([folder, resolved]) != folder:
        raise InputError(
            path,
            "EXTERNAL_DATA_OUTSIDE_FOLDER",
            f"{where} resolves through a symlink to '{resolved}', outside the model's folder",
        )
    try:
        st = os.stat(resolved)
    except FileNotFoundError:
        raise InputError(
            path, "EXTERNAL_DATA_MISSING", f"{where}: no such file next to the model"
        ) from None
    except OSError as exc:
        raise InputError(
            path, "EXTERNAL_DATA_UNREADABLE", f"{where}: cannot access it ({exc.strerror or exc})"
        ) from None
    if not stat.S_ISREG(st.st_mode):
        kind = "directory" if stat.S_ISDIR(st.st_mode) else _file_kind(st.st_mode)
        raise InputError(path, "EXTERNAL_DATA_NOT_A_FILE", f"{where} is a {kind}, not a file")
    if st.st_nlink > 1:
        raise InputError(
            path,
            "EXTERNAL_DATA_HARD_LINK",
            f"{where} is a file with {st.st_nlink} hard links; a hard link may share its data "
            "with a file outside the model's folder and cannot be told apart from it, so it is "
            "refused (copy the file instead)",
        )
    if not os.access(resolved, os.R_OK):
        raise InputError(path, "EXTERNAL_DATA_UNREADABLE", f"{where}: permission denied")
    return _DataFile(path=Path(resolved), size=st.st_size)


def _check_bounds(
    path: Path | None,
    tensor: onnx.TensorProto,
    label: str,
    location: str,
    offset: int,
    length: int | None,
    file_size: int,
) -> int:
    """Offset and length must lie inside the file and match the tensor's shape; return length."""
    if offset > file_size or (length is not None and offset + length > file_size):
        span = f"bytes {offset}..{offset + length}" if length is not None else f"offset {offset}"
        raise InputError(
            path,
            "EXTERNAL_DATA_OUT_OF_BOUNDS",
            f"external data of {label} at {span} lies past the end of '{location}' "
            f"({file_size} bytes)",
        )
    span_length = file_size - offset if length is None else length
    expected = _expected_bytes(tensor)
    if expected is not None and expected != span_length:
        dims = "x".join(str(d) for d in tensor.dims) or "scalar"
        dtype = onnx.TensorProto.DataType.Name(tensor.data_type)
        raise InputError(
            path,
            "EXTERNAL_DATA_SIZE_MISMATCH",
            f"external data of {label} in '{location}' is {span_length} bytes, but a {dtype} "
            f"tensor of shape {dims} needs {expected}",
        )
    return span_length


def _expected_bytes(tensor: onnx.TensorProto) -> int | None:
    bits = _ELEMENT_BITS.get(tensor.data_type)
    if bits is None or any(d < 0 for d in tensor.dims):
        return None
    return (math.prod(tensor.dims) * bits + 7) // 8


# --------------------------------------------------------------------------------------------
# Small helpers


def _over_2gb(file_bytes: int, external_bytes: int) -> bool:
    near_limit = file_bytes >= PROTOBUF_LIMIT - _PROTOBUF_HEADROOM
    return near_limit or file_bytes + external_bytes > PROTOBUF_LIMIT


def _size(size: int) -> str:
    """'100 bytes', or '1.2 KiB (1223 bytes)': readable, and exact for scripts."""
    if size < 1024:
        return f"{size} bytes"
    exponent = min(int(math.log(size, 1024)), 4)
    unit = ("bytes", "KiB", "MiB", "GiB", "TiB")[exponent]
    return f"{size / 1024**exponent:.1f} {unit} ({size} bytes)"


def _too_large_message(size: int) -> str:
    return (
        f"file is {_size(size)}, over protobuf's 2 GiB limit for one message; save the model "
        "with external data (onnx.save_model(..., save_as_external_data=True))"
    )


def _short(text: str, limit: int = 160) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= limit else one_line[: limit - 3] + "..."
