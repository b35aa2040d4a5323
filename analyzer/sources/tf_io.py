"""TensorFlow sources: which kind a path is, and the plain data every TF reader returns.

This module never imports tensorflow: `detect_tf_kind` looks at the path only, so the CLI can
route a path without paying TF's import (seconds). The readers (tf_graph, tflite_graph,
keras_source) import tensorflow through `import_tensorflow`, which silences its C++ logging first.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from analyzer.error_codes import TF_NOT_INSTALLED
from analyzer.errors import InputError

TfKind = Literal["saved_model", "graphdef", "checkpoint", "tflite", "keras"]

#: The report's model.format for each kind (the JSON contract's format names).
REPORT_FORMAT: dict[str, str] = {
    "saved_model": "tensorflow", "graphdef": "tensorflow", "checkpoint": "tensorflow",
    "tflite": "tflite", "keras": "keras",
}
_SUFFIX_KIND: dict[str, TfKind] = {
    ".pb": "graphdef", ".meta": "checkpoint", ".tflite": "tflite", ".keras": "keras",
    ".h5": "keras", ".hdf5": "keras",
}


def detect_tf_kind(path: str | os.PathLike[str]) -> TfKind | None:
    """The TF source kind by path shape (a folder holding saved_model.pb, or the suffix);
    None when the path is not a TF source (an .onnx file, a torch spec, ...)."""
    p = Path(path)
    if p.is_dir():
        return "saved_model" if (p / "saved_model.pb").is_file() or (
            p / "saved_model.pbtxt").is_file() else None
    if p.name == "saved_model.pb":
        return "saved_model"
    return _SUFFIX_KIND.get(p.suffix.lower())


def is_tf_source(path: str) -> bool:
    """True for a path `analyze` / `export` should hand to the TensorFlow pre-flight."""
    return detect_tf_kind(path) is not None


@dataclass
class TfTensor:
    """A graph input or output: its tensor name (`node:0`), dtype and shape (None = unknown)."""

    name: str
    dtype: str | None
    shape: list[int | str | None] | None


@dataclass
class TfNode:
    """One op occurrence: its name, type, and the graph it lives in ('' main, else a function
    or TFLite subgraph name)."""

    name: str
    op: str
    graph: str = ""
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass
class Signature:
    """A SavedModel signature: its key, and its inputs and outputs by tensor name."""

    key: str
    inputs: dict[str, TfTensor]
    outputs: dict[str, TfTensor]


@dataclass
class TfGraph:
    """What the pre-flight knows about a TF / TFLite / Keras source, read as data.

    nodes: the ops that reach the chosen outputs, function bodies included (a tf.function's
    StatefulPartitionedCall is replaced by the ops of the function it calls).
    tensor_names: every node/tensor name of the main graph (to check --inputs / --outputs).
    unreached_training_ops: training-only ops present in the graph but not on the path to the
    outputs (reported as info: tf2onnx prunes them).
    """

    kind: TfKind
    path: str
    nodes: list[TfNode]
    inputs: list[TfTensor]
    outputs: list[TfTensor]
    tensor_names: set[str] = field(default_factory=set)
    signatures: dict[str, Signature] = field(default_factory=dict)
    signature: str | None = None
    functions: list[str] = field(default_factory=list)
    parameters: int = 0
    frozen: bool = True
    missing_inputs: list[str] = field(default_factory=list)
    missing_outputs: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def import_tensorflow() -> Any:
    """tensorflow, imported with its C++ logging silenced (TF reads the variable at import)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import sys

    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    try:
        with _quiet_stderr():
            import tensorflow as tf
    except ImportError as exc:  # pragma: no cover - the tensorflow extra is not installed
        raise InputError(None, TF_NOT_INSTALLED,
                         f"reading TensorFlow models needs tensorflow ({exc}); install the "
                         "'tensorflow' extra") from None
    return tf


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """File descriptor 2 to /dev/null while TF imports: its C++ startup lines (absl, oneDNN)
    ignore TF_CPP_MIN_LOG_LEVEL and would land in the middle of the report."""
    import sys

    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real stderr (embedded, captured): nothing to silence
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def tensor_name(name: str) -> str:
    """'x' -> 'x:0'; 'x:1' stays; '^x' (a control input) -> 'x:0'."""
    name = name.lstrip("^")
    head, sep, tail = name.rpartition(":")
    return name if sep and tail.isdigit() and head else f"{name}:0"


def node_of(name: str) -> str:
    """The node name of a tensor or input reference: 'x:0' -> 'x', '^x' -> 'x'."""
    name = name.lstrip("^")
    head, sep, tail = name.rpartition(":")
    return head if sep and tail.isdigit() and head else name


def parse_names(text: str | list[str] | tuple[str, ...] | None) -> list[str] | None:
    """'a:0,b:0' or ['a:0', 'b:0'] -> ['a:0', 'b:0']; None stays None."""
    if text is None:
        return None
    items = text.split(",") if isinstance(text, str) else list(text)
    names = [n.strip() for n in items if n and n.strip()]
    return names or None

