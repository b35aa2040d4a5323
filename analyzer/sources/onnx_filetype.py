"""What a file handed to the ONNX loader is: a ModelProto, or which other format, said concretely.

Users pass checkpoints, archives, Keras files, text dumps and folders where an .onnx file is
expected. `parse_model` parses the bytes as a ModelProto and, when they are not one, raises the
most specific error the bytes support (WRONG_FORMAT naming the format, NESTING_TOO_DEEP,
CORRUPT_PROTOBUF with a truncation hint, NOT_A_MODEL). Nothing is unpickled or extracted: zip
archives are named from their member list only.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import onnx
from google.protobuf.message import DecodeError

from analyzer.error_codes import CORRUPT_PROTOBUF, NESTING_TOO_DEEP, NOT_A_MODEL, WRONG_FORMAT
from analyzer.errors import InputError
from analyzer.sources.protobuf_wire import deepest_subgraph, truncation_hint

__all__ = ["describe_directory", "parse_model", "recognise_by_magic"]

#: How many directory entries to look at when guessing what a directory argument meant.
_DIR_SCAN_LIMIT = 1000


def parse_model(path: Path, data: bytes, max_depth: int) -> onnx.ModelProto:
    """Parse the bytes as a ModelProto; on failure say what the file is, as concretely as can be."""
    other = recognise_by_magic(path, data)
    if other is not None:
        raise InputError(path, WRONG_FORMAT, other)
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
        depth = deepest_subgraph(data)
        if depth > max_depth:
            return InputError(
                path,
                NESTING_TOO_DEEP,
                f"subgraph nesting depth {depth} exceeds the limit {max_depth} (protobuf's "
                "decoder cannot read it either, so raising the limit does not help for a file)",
            )
        return InputError(
            path,
            NESTING_TOO_DEEP,
            f"protobuf messages are nested deeper than the decoder allows (subgraph nesting "
            f"depth {depth}, limit {max_depth}); the file cannot be parsed",
        )
    guess = _recognise_loosely(path, data)
    if guess is not None:
        return InputError(path, WRONG_FORMAT, guess)
    detail = _short(reason)
    truncation = truncation_hint(data)
    message = f"truncated or corrupt ONNX protobuf ({detail})"
    if truncation:
        message += f"; {truncation}"
    return InputError(path, CORRUPT_PROTOBUF, message)


def _no_graph(path: Path, data: bytes, model: onnx.ModelProto) -> InputError:
    """A protobuf that parses as ModelProto without a graph: usually another message or format."""
    guess = _recognise_loosely(path, data)
    if guess is not None:
        return InputError(path, WRONG_FORMAT, guess)
    if model.ir_version == 0:
        return InputError(
            path,
            NOT_A_MODEL,
            "parses as protobuf but has no graph and ir_version 0: not an ONNX model "
            "(another protobuf message, e.g. a serialized GraphProto or NodeProto?)",
        )
    return InputError(
        path,
        NOT_A_MODEL,
        f"ONNX model (ir_version {model.ir_version}) has no graph; nothing to analyze",
    )


def recognise_by_magic(path: Path, data: bytes) -> str | None:
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


def describe_directory(path: Path) -> str:
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


def _short(text: str, limit: int = 160) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= limit else one_line[: limit - 3] + "..."
