"""A scan's plan: its sources and axes, the cells they make, and each cell's cache key.

The plan is saved as DIR/scan.json so that `scan -o DIR --resume` continues the same scan
without its arguments; the cache key of a cell is a hash of everything its result depends on
(docs/scan.md, "Cache key").
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from analyzer.environment import tool_version
from analyzer.error_codes import SCAN_NOT_RESUMABLE
from analyzer.errors import InputError
from analyzer.workflows.scan.sources import Source, with_hashes
from opsets.tables import DATA_DIR

SCHEMA = "onnx-preflight/scan/1"
PLAN_FILE = "scan.json"
TF_EXPORTER = "tf2onnx"
DEFAULT_OPSETS: tuple[int, ...] = (17, 18)
DEFAULT_EXPORTERS: tuple[str, ...] = ("dynamo",)
TORCH_EXPORTERS: tuple[str, ...] = ("dynamo", "torchscript")


@dataclass(frozen=True)
class ScanPlan:
    """What to scan and how; the cells follow from it (`cells`)."""

    sources: tuple[Source, ...]
    opsets: tuple[int, ...] = DEFAULT_OPSETS
    exporters: tuple[str, ...] = DEFAULT_EXPORTERS
    providers: tuple[str, ...] = ("CPUExecutionProvider",)
    time_limit: float = 600.0
    memory_limit_mb: int | None = 32768

    def to_dict(self) -> dict[str, Any]:
        return {"schema": SCHEMA, "sources": [s.plan_dict() for s in self.sources],
                "opsets": list(self.opsets), "exporters": list(self.exporters),
                "providers": list(self.providers), "time_limit": self.time_limit,
                "memory_limit_mb": self.memory_limit_mb}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScanPlan:
        return cls(tuple(Source.from_plan(s) for s in data["sources"]), tuple(data["opsets"]),
                   tuple(data["exporters"]), tuple(data["providers"]), data["time_limit"],
                   data["memory_limit_mb"])


def load_plan(out_dir: Path) -> ScanPlan:
    """The plan an earlier scan into `out_dir` saved (for --resume)."""
    path = out_dir / PLAN_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("schema") != SCHEMA:
            raise ValueError(f"schema {data.get('schema')!r}")
        plan = ScanPlan.from_dict(data)
    except FileNotFoundError:
        raise InputError(path, SCAN_NOT_RESUMABLE, "no scan to resume in this folder") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(path, SCAN_NOT_RESUMABLE,
                         f"not a scan plan this version reads ({exc})") from None
    # hashed again: a source that changed since is a new cell, not a stale cached one
    return replace(plan, sources=tuple(with_hashes(plan.sources)))


@dataclass(frozen=True)
class Cell:
    """One pre-flight run: a source at an opset with an exporter, for the providers."""

    source: Source
    opset: int | None
    exporter: str | None
    providers: tuple[str, ...]
    key: str


def table_versions() -> dict[str, dict[str, str]]:
    """Each shipped support table: its library and version, and a hash of the file (a table
    regenerated from the same version still changes the key)."""
    out: dict[str, dict[str, str]] = {}
    for path in sorted(DATA_DIR.glob("*.json")):
        raw = path.read_bytes()
        header = json.loads(raw).get("provenance", {})
        out[path.stem] = {"library": str(header.get("library", "")),
                          "version": str(header.get("version", "")),
                          "sha256": hashlib.sha256(raw).hexdigest()[:16]}
    return out


def cache_key(source: Source, opset: int | None, exporter: str | None,
              providers: tuple[str, ...], context: dict[str, Any]) -> str:
    """sha256 (20 hex digits) of the source (identity and content), tool and table versions,
    the cell's opset, exporter and providers, and the isolation limits."""
    material = {"schema": SCHEMA, "source": [source.kind, source.location, source.content_hash],
                "opset": opset, "exporter": exporter, "providers": list(providers), **context}
    text = json.dumps(material, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def key_context(plan: ScanPlan, tables: dict[str, dict[str, str]]) -> dict[str, Any]:
    return {"tool_version": tool_version(), "tables": tables, "time_limit": plan.time_limit,
            "memory_limit_mb": plan.memory_limit_mb}


def cells(plan: ScanPlan, tables: dict[str, dict[str, str]]) -> list[Cell]:
    """The plan's cells in a fixed order (source, opset, exporter). An ONNX file is one cell
    (it has its own opset and no exporter); a TensorFlow source one per opset (tf2onnx)."""
    context = key_context(plan, tables)
    out: list[Cell] = []
    for source in plan.sources:
        if source.kind == "onnx":
            axes: list[tuple[int | None, str | None]] = [(None, None)]
        else:
            opsets = source.opsets or plan.opsets
            exporters = ((TF_EXPORTER,) if source.kind != "torch"
                         else source.exporters or plan.exporters)
            axes = [(o, e) for o in opsets for e in exporters]
        for opset, exporter in axes:
            out.append(Cell(source, opset, exporter, plan.providers,
                            cache_key(source, opset, exporter, plan.providers, context)))
    return out
