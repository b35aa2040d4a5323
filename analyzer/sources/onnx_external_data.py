"""External data of an ONNX model: where each tensor's bytes are, never what they hold.

onnx would follow a tensor's `location` anywhere (an absolute path, `..`, a symlink, a pipe)
and read whatever is there. `check_external_data` resolves each location inside the model's
folder, stats the file once however many tensors share it, and checks that offset and length
lie inside it and match the tensor's shape, so analysis stays cheap and touches nothing
outside the folder.
"""

from __future__ import annotations

import math
import ntpath
import os
import posixpath
import stat
from dataclasses import dataclass
from pathlib import Path

import onnx

from analyzer.error_codes import (
    EXTERNAL_DATA_HARD_LINK,
    EXTERNAL_DATA_INVALID,
    EXTERNAL_DATA_MISSING,
    EXTERNAL_DATA_NEEDS_PATH,
    EXTERNAL_DATA_NOT_A_FILE,
    EXTERNAL_DATA_OUT_OF_BOUNDS,
    EXTERNAL_DATA_OUTSIDE_FOLDER,
    EXTERNAL_DATA_SIZE_MISMATCH,
    EXTERNAL_DATA_UNREADABLE,
)
from analyzer.errors import InputError
from analyzer.sources.untrusted_file import special_file_kind

__all__ = ["ExternalTensorRef", "check_external_data"]


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


def check_external_data(
    path: Path | None, model_dir: Path | None, tensors: list[tuple[onnx.TensorProto, str]]
) -> list[ExternalTensorRef]:
    """Check every (tensor, where it sits) held in external data against the model's folder.

    `model_dir` is None for a model built in memory: it has no folder, so any external tensor
    is refused (EXTERNAL_DATA_NEEDS_PATH).
    """
    if not tensors:
        return []
    if model_dir is None:
        tensor, _ = tensors[0]
        raise InputError(
            path,
            EXTERNAL_DATA_NEEDS_PATH,
            f"in-memory model has {len(tensors)} tensor(s) in external data (e.g. "
            f"'{tensor.name}'), and external data needs the model's path; pass the file path",
        )
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
            EXTERNAL_DATA_INVALID,
            f"{label} is marked as external data but has no location",
        )
    if "\x00" in location:
        raise InputError(
            path,
            EXTERNAL_DATA_INVALID,
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
                EXTERNAL_DATA_INVALID,
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
            EXTERNAL_DATA_OUTSIDE_FOLDER,
            f"{where} is an absolute path; it must be relative to the model's folder",
        )
    if ".." in parts:
        raise InputError(path, EXTERNAL_DATA_OUTSIDE_FOLDER, f"{where} leaves the model's folder")
    resolved = os.path.realpath(os.path.join(model_dir, location))
    if os.path.commonpath([folder, resolved]) != folder:
        raise InputError(
            path,
            EXTERNAL_DATA_OUTSIDE_FOLDER,
            f"{where} resolves through a symlink to '{resolved}', outside the model's folder",
        )
    try:
        st = os.stat(resolved)
    except FileNotFoundError:
        raise InputError(
            path, EXTERNAL_DATA_MISSING, f"{where}: no such file next to the model"
        ) from None
    except OSError as exc:
        raise InputError(
            path, EXTERNAL_DATA_UNREADABLE, f"{where}: cannot access it ({exc.strerror or exc})"
        ) from None
    if not stat.S_ISREG(st.st_mode):
        kind = "directory" if stat.S_ISDIR(st.st_mode) else special_file_kind(st.st_mode)
        raise InputError(path, EXTERNAL_DATA_NOT_A_FILE, f"{where} is a {kind}, not a file")
    if st.st_nlink > 1:
        raise InputError(
            path,
            EXTERNAL_DATA_HARD_LINK,
            f"{where} is a file with {st.st_nlink} hard links; a hard link may share its data "
            "with a file outside the model's folder and cannot be told apart from it, so it is "
            "refused (copy the file instead)",
        )
    if not os.access(resolved, os.R_OK):
        raise InputError(path, EXTERNAL_DATA_UNREADABLE, f"{where}: permission denied")
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
            EXTERNAL_DATA_OUT_OF_BOUNDS,
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
            EXTERNAL_DATA_SIZE_MISMATCH,
            f"external data of {label} in '{location}' is {span_length} bytes, but a {dtype} "
            f"tensor of shape {dims} needs {expected}",
        )
    return span_length


def _expected_bytes(tensor: onnx.TensorProto) -> int | None:
    bits = _ELEMENT_BITS.get(tensor.data_type)
    if bits is None or any(d < 0 for d in tensor.dims):
        return None
    return (math.prod(tensor.dims) * bits + 7) // 8
