"""The results cache: one folder per cell key holding the record and the cell's report files.

A cell whose key has a complete entry (record.json written last, and the report files it
names) is not run again: same source content, tool and table versions, opset, exporter,
providers and limits give the same result (docs/scan.md)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from analyzer.safe_write import write_atomically

RECORD = "record.json"


def entry_dir(cache_dir: Path, key: str) -> Path:
    return cache_dir / key


def load(cache_dir: Path, key: str) -> dict[str, Any] | None:
    """The cached record of `key`, or None when there is no complete entry."""
    folder = entry_dir(cache_dir, key)
    try:
        record: dict[str, Any] = json.loads((folder / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    for name in (record.get("report_html"), record.get("report_json")):
        if name is not None and not (folder / name).is_file():
            return None
    return record


def store(cache_dir: Path, key: str, record: dict[str, Any]) -> None:
    """Write the record last: its presence marks the entry complete."""
    folder = entry_dir(cache_dir, key)
    folder.mkdir(parents=True, exist_ok=True)
    write_atomically(folder / RECORD, json.dumps(record, indent=1) + "\n")


def publish(cache_dir: Path, key: str, record: dict[str, Any], cells_dir: Path) -> None:
    """Put the entry's report files in DIR/cells/<key>/: a hard link when the cache is on the
    same file system, else a copy (through a temporary file and a rename)."""
    source = entry_dir(cache_dir, key)
    target = cells_dir / key
    for name in (record.get("report_html"), record.get("report_json")):
        if name is None:
            continue
        src, dst = source / name, target / name
        if dst.exists() and os.path.samefile(src, dst):
            continue
        target.mkdir(parents=True, exist_ok=True)
        tmp = target / f".{name}.link"
        tmp.unlink(missing_ok=True)
        try:
            os.link(src, tmp)
            os.replace(tmp, dst)
        except OSError:
            tmp.unlink(missing_ok=True)
            write_atomically(dst, src.read_bytes())


def clear(cells_dir: Path, keep: set[str]) -> None:
    """Remove the per-cell folders of cells that are no longer in the matrix."""
    if not cells_dir.is_dir():
        return
    for child in cells_dir.iterdir():
        if child.is_dir() and child.name not in keep:
            shutil.rmtree(child, ignore_errors=True)
