"""What a scan runs over: SOURCE arguments (ONNX files, folders, globs, PyTorch factories,
TensorFlow / Keras / TFLite files) expanded into `Source`s, each with a content hash.

The content hash is what the results cache keys on (docs/scan.md): the file's bytes, every file
of a folder (a SavedModel), or for a PyTorch factory the source file(s) of its module, its
--input specs and its --weights file. A factory's imports from other modules are not hashed.
"""

from __future__ import annotations

import glob
import hashlib
import importlib.util
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from analyzer.error_codes import SCAN_NO_SOURCES
from analyzer.errors import InputError
from analyzer.sources.tf_io import detect_tf_kind
from analyzer.sources.torch_spec import is_torch_spec

Kind = Literal["onnx", "torch", "tensorflow", "keras", "tflite"]
KINDS: tuple[str, ...] = ("onnx", "torch", "tensorflow", "keras", "tflite")

_GLOB_CHARS = set("*?[")
_MODEL_SUFFIXES = (".onnx", ".tflite", ".keras", ".h5")
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Source:
    """One model of the zoo and how to build it; `opsets` / `exporters` override the scan's
    axes for this source (a manifest entry's own lists)."""

    id: str
    kind: Kind
    location: str
    tags: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()
    weights: str | None = None
    opsets: tuple[int, ...] | None = None
    exporters: tuple[str, ...] | None = None
    content_hash: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The matrix.json `sources` entry."""
        return {"id": self.id, "kind": self.kind, "location": self.location,
                "tags": list(self.tags), "content_hash": self.content_hash}

    def plan_dict(self) -> dict[str, Any]:
        """Everything needed to rebuild this source (scan.json, for --resume)."""
        return {"id": self.id, "kind": self.kind, "location": self.location,
                "tags": list(self.tags), "inputs": list(self.inputs), "weights": self.weights,
                "opsets": list(self.opsets) if self.opsets is not None else None,
                "exporters": list(self.exporters) if self.exporters is not None else None}

    @classmethod
    def from_plan(cls, data: dict[str, Any]) -> Source:
        return cls(data["id"], data["kind"], data["location"], tuple(data["tags"]),
                   tuple(data["inputs"]), data["weights"],
                   tuple(data["opsets"]) if data["opsets"] is not None else None,
                   tuple(data["exporters"]) if data["exporters"] is not None else None)


@dataclass(frozen=True)
class SourceOptions:
    """What a SOURCE argument (or a manifest entry) adds to the models it names."""

    inputs: tuple[str, ...] = ()
    weights: str | None = None
    tags: tuple[str, ...] = ()
    opsets: tuple[int, ...] | None = None
    exporters: tuple[str, ...] | None = None
    id: str | None = None
    base: Path = field(default_factory=Path)  # relative paths are relative to this folder


def _is_glob(text: str) -> bool:
    return any(c in _GLOB_CHARS for c in text)


def file_kind(path: Path) -> Kind | None:
    """The scan kind of a model path, by its shape (no framework is imported)."""
    if path.is_file() and path.suffix.lower() == ".onnx":
        return "onnx"
    tf = detect_tf_kind(path)
    if tf is None:
        return None
    if tf in ("tflite", "keras"):
        return tf  # type: ignore[return-value]
    return "tensorflow"


def _models_below(folder: Path) -> list[Path]:
    """Models in a folder tree: .onnx / .tflite / .keras / .h5 files and SavedModel folders."""
    found: list[Path] = []
    for root, dirs, files in os.walk(folder):
        here = Path(root)
        if file_kind(here) == "tensorflow":
            found.append(here)
            dirs[:] = []  # a SavedModel's variables/ and assets/ are part of it
            continue
        dirs.sort()
        found += [here / f for f in sorted(files) if f.lower().endswith(_MODEL_SUFFIXES)
                  and file_kind(here / f) is not None]
    return found


def _display(path: Path, base: Path) -> str:
    """A readable, stable id for a path: relative to the manifest's folder (a manifest entry),
    else to the current folder when below it, else the path as given."""
    for folder in ((base,) if str(base) not in ("", ".") else ()) + (Path.cwd(),):
        try:
            return str(path.resolve().relative_to(folder.resolve()))
        except ValueError:
            continue
    return str(path)


def expand(arg: str, options: SourceOptions = SourceOptions()) -> list[Source]:
    """The sources one SOURCE argument names; SCAN_NO_SOURCES when it names none."""
    if is_torch_spec(arg) and not (options.base / arg).exists():
        return [Source(options.id or arg, "torch", arg, options.tags, options.inputs,
                       _resolve(options.weights, options.base), options.opsets,
                       options.exporters)]
    path = options.base / arg
    if _is_glob(arg) and not path.exists():
        matched = sorted(Path(p) for p in glob.glob(str(path), recursive=True))
        paths = [p for m in matched for p in ([m] if file_kind(m) else _models_below(m)
                                              if m.is_dir() else [])]
        why = "no model file matches this pattern"
    elif path.is_dir() and file_kind(path) is None:
        paths, why = _models_below(path), "no .onnx, .tflite, .keras, .h5 or SavedModel below"
    elif not path.exists():
        paths, why = [], "no such file or directory"
    else:
        paths, why = ([path] if file_kind(path) else []), (
            "not a model the scan reads (.onnx, a SavedModel folder, .pb, .meta, .tflite, "
            ".keras, .h5, or package.module:factory)")
    if not paths:
        raise InputError(arg, SCAN_NO_SOURCES, why)
    single = len(paths) == 1
    return [Source(options.id if (options.id and single) else _display(p, options.base),
                   file_kind(p) or "onnx", str(p), options.tags, (), None, options.opsets,
                   options.exporters) for p in paths]


def _resolve(path: str | None, base: Path) -> str | None:
    return None if path is None else str(base / path)


def _shorten_absolute_ids(sources: list[Source]) -> list[Source]:
    """Ids that are absolute paths (files outside the current and the manifest's folder) lose
    the folder they all share: a zoo under /data/models/ reads `vision/resnet.onnx`, not a
    column of identical `/data/models/...` prefixes cut off in the page. The full path stays in
    `location`; the id keeps at least the file name."""
    absolute = [Path(s.id) for s in sources if s.kind != "torch" and os.path.isabs(s.id)]
    if not absolute:
        return sources
    common = Path(os.path.commonpath([str(p.parent) for p in absolute]))
    return [replace(s, id=str(Path(s.id).relative_to(common)))
            if s.kind != "torch" and os.path.isabs(s.id) else s for s in sources]


def dedupe(sources: Iterable[Source]) -> list[Source]:
    """Drop repeats of the same model (same kind, location, inputs, weights); make ids unique
    (a second source with an id already taken gets `#2`, `#3`)."""
    out: list[Source] = []
    seen: set[tuple[Any, ...]] = set()
    ids: set[str] = set()
    for s in _shorten_absolute_ids(list(sources)):
        ident = (s.kind, os.path.abspath(s.location) if s.kind != "torch" else s.location,
                 s.inputs, s.weights)
        if ident in seen:
            continue
        seen.add(ident)
        name, n = s.id, 1
        while name in ids:
            n += 1
            name = f"{s.id}#{n}"
        ids.add(name)
        out.append(replace(s, id=name))
    return out


def _hash_file(digest: Any, path: Path) -> None:
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)


def _hash_tree(digest: Any, folder: Path) -> None:
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            p = Path(root) / name
            digest.update(str(p.relative_to(folder)).encode() + b"\0")
            _hash_file(digest, p)


def _module_files(spec: str) -> list[Path]:
    """The source file(s) of a factory's module (a package: every .py file of it), found
    without importing the module itself."""
    module = spec.split(":", 1)[0]
    if "" not in sys.path and "." not in sys.path:
        sys.path.insert(0, "")  # as load_factory does: modules in the current folder
    try:
        found = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return []
    if found is None or not found.origin or not os.path.isfile(found.origin):
        return []
    origin = Path(found.origin)
    if found.submodule_search_locations:  # a package: all of its Python files
        return sorted(origin.parent.rglob("*.py"))
    return [origin]


def content_hash(source: Source) -> str:
    """sha256 over what the source's results depend on (see the module docstring)."""
    digest = hashlib.sha256(source.kind.encode() + b"\0")
    if source.kind == "torch":
        files = _module_files(source.location)
        digest.update(source.location.encode() + b"\0")
        for f in files:
            digest.update(f.name.encode() + b"\0")
            _hash_file(digest, f)
        if not files:
            digest.update(b"module not found\0")
        for spec in source.inputs:
            digest.update(spec.encode() + b"\0")
        if source.weights is not None:
            weights = Path(source.weights)
            if not weights.is_file():
                raise InputError(weights, SCAN_NO_SOURCES, "--weights: no such file")
            _hash_file(digest, weights)
    else:
        path = Path(source.location)
        if path.is_dir():
            _hash_tree(digest, path)
        else:
            _hash_file(digest, path)
    return digest.hexdigest()


def with_hashes(sources: Sequence[Source]) -> list[Source]:
    return [replace(s, content_hash=content_hash(s)) for s in sources]
