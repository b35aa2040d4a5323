"""`scan --manifest FILE.toml`: the zoo as a file, each source with its inputs, weights, opsets,
exporters and tags.

    [defaults]                      # optional: the scan's axes unless the command line says
    opsets = [13, 17, 18]
    exporters = ["dynamo", "torchscript"]
    providers = ["cuda", "cpu"]

    [[source]]
    source = "mypkg.models:resnet"  # or a path, a folder or a glob (relative to this file)
    id = "resnet50"                 # optional, unique; default: the spec or the path
    inputs = ["x:float32[1,3,224,224]"]
    weights = "weights/resnet50.pt"
    opsets = [17, 18]               # optional, this source's own opsets / exporters
    tags = ["vision"]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analyzer.error_codes import SCAN_MANIFEST
from analyzer.errors import InputError
from analyzer.workflows.scan.sources import Source, SourceOptions, expand

try:  # the standard library's TOML reader from Python 3.11; tomli is the same on 3.10
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

_ENTRY_FIELDS = {"source", "id", "inputs", "weights", "opsets", "exporters", "tags"}
_DEFAULT_FIELDS = {"opsets", "exporters", "providers"}


@dataclass(frozen=True)
class Manifest:
    sources: list[Source]
    defaults: dict[str, list[Any]] = field(default_factory=dict)


def _strings(path: Path, where: str, key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(path, SCAN_MANIFEST, f"{where}: {key} must be a list of strings")
    return tuple(value)


def _ints(path: Path, where: str, key: str, value: Any) -> tuple[int, ...]:
    if not isinstance(value, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value) or not value:
        raise InputError(path, SCAN_MANIFEST,
                         f"{where}: {key} must be a non-empty list of positive integers")
    return tuple(value)


def load_manifest(path: str | Path) -> Manifest:
    """Parse and check the manifest; SCAN_MANIFEST names the first bad entry."""
    file = Path(path)
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(file, SCAN_MANIFEST, "no such file") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        raise InputError(file, SCAN_MANIFEST, f"not a readable TOML file: {first}") from None
    unknown = set(data) - {"defaults", "source"}
    if unknown:
        raise InputError(file, SCAN_MANIFEST, f"unknown table(s): {', '.join(sorted(unknown))} "
                         "(expected [defaults] and [[source]])")
    defaults_in = data.get("defaults", {})
    if not isinstance(defaults_in, dict) or set(defaults_in) - _DEFAULT_FIELDS:
        raise InputError(file, SCAN_MANIFEST, "[defaults] takes opsets, exporters, providers")
    defaults: dict[str, list[Any]] = {}
    for key, value in defaults_in.items():
        check = _ints if key == "opsets" else _strings
        defaults[key] = list(check(file, "[defaults]", key, value))
    entries = data.get("source", [])
    if not isinstance(entries, list) or not entries:
        raise InputError(file, SCAN_MANIFEST, "no [[source]] entries")
    sources: list[Source] = []
    for n, entry in enumerate(entries, 1):
        where = f"[[source]] #{n}"
        if not isinstance(entry.get("source"), str):
            raise InputError(file, SCAN_MANIFEST, f"{where}: needs source = \"path or "
                             "package.module:factory\"")
        extra = set(entry) - _ENTRY_FIELDS
        if extra:
            raise InputError(file, SCAN_MANIFEST, f"{where}: unknown field(s) "
                             f"{', '.join(sorted(extra))}")
        weights = entry.get("weights")
        if weights is not None and not isinstance(weights, str):
            raise InputError(file, SCAN_MANIFEST, f"{where}: weights must be a path")
        ident = entry.get("id")
        if ident is not None and (not isinstance(ident, str) or not ident):
            raise InputError(file, SCAN_MANIFEST, f"{where}: id must be a non-empty string")
        options = SourceOptions(
            inputs=_strings(file, where, "inputs", entry.get("inputs", [])),
            weights=weights,
            tags=_strings(file, where, "tags", entry.get("tags", [])),
            opsets=_ints(file, where, "opsets", entry["opsets"]) if "opsets" in entry else None,
            exporters=_strings(file, where, "exporters", entry["exporters"])
            if "exporters" in entry else None,
            id=ident, base=file.parent)
        sources += expand(entry["source"], options)
    return Manifest(sources, defaults)
