"""`run_scan(plan, out_dir)`: run every cell of the plan that the cache does not already hold,
on the chosen executor, and write the matrix.

Each finished cell's record is stored in the cache at once, so an interrupted scan loses only
the cells that were in flight: `--resume` (or the same command again) runs only the rest.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analyzer.safe_write import write_atomically
from analyzer.workflows.scan import cache
from analyzer.workflows.scan.executors import run_jobs
from analyzer.workflows.scan.matrix import build_matrix, write_outputs
from analyzer.workflows.scan.plan import PLAN_FILE, Cell, ScanPlan, cells, table_versions
from analyzer.workflows.scan.worker import CellJob

#: verdicts that count as failed in the progress line and for `--fail-on fail`
FAILED = ("fail", "error", "crashed", "timeout")


@dataclass
class Progress:
    """What the progress display shows after each cell."""

    total: int
    done: int = 0
    failed: int = 0
    cached: int = 0
    last: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ScanOptions:
    executor: str = "local"
    jobs: int | None = None
    address: str | None = None
    cache_dir: Path | None = None


def _job(cell: Cell, cache_dir: Path, plan: ScanPlan) -> CellJob:
    s = cell.source
    location = s.location if s.kind == "torch" else os.path.abspath(s.location)
    return CellJob(cell.key, s.kind, location, s.inputs,
                   os.path.abspath(s.weights) if s.weights else None, cell.opset, cell.exporter,
                   cell.providers, str(cache.entry_dir(cache_dir, cell.key).resolve()),
                   os.getcwd(), plan.time_limit, plan.memory_limit_mb)


def _cell_record(cell: Cell, record: dict[str, Any], cached: bool) -> dict[str, Any]:
    """The matrix.json cell, fields in the contract's order."""
    folder = f"cells/{cell.key}/"
    return {
        "key": cell.key, "source": cell.source.id, "opset": cell.opset,
        "model_opset": record.get("model_opset"), "exporter": cell.exporter,
        "providers": list(cell.providers), "verdict": record["verdict"],
        "blocking": record.get("blocking", []),
        "lowest_working_opset": record.get("lowest_working_opset"),
        "placement": record.get("placement", {}),
        "report_html": folder + record["report_html"] if record.get("report_html") else None,
        "report_json": folder + record["report_json"] if record.get("report_json") else None,
        "duration_s": float(record.get("duration_s", 0.0)), "cached": cached,
        "error": record.get("error"),
    }


def save_plan(out_dir: Path, plan: ScanPlan) -> None:
    write_atomically(out_dir / PLAN_FILE, json.dumps(plan.to_dict(), indent=1) + "\n")


def run_scan(plan: ScanPlan, out_dir: Path, options: ScanOptions = ScanOptions(),
             on_cell: Callable[[Progress], None] | None = None) -> dict[str, Any]:
    """Run the plan into `out_dir` (created if absent); return the matrix it wrote."""
    out_dir.mkdir(parents=True, exist_ok=True)
    cache_dir = options.cache_dir or out_dir / "cache"
    cells_dir = out_dir / "cells"
    save_plan(out_dir, plan)
    tables = table_versions()
    planned = cells(plan, tables)
    progress = Progress(total=len(planned))
    records: dict[str, dict[str, Any]] = {}

    def finish(cell: Cell, record: dict[str, Any], cached: bool) -> None:
        cache.publish(cache_dir, cell.key, record, cells_dir)
        records[cell.key] = _cell_record(cell, record, cached)
        progress.done += 1
        progress.cached += cached
        progress.failed += record["verdict"] in FAILED
        progress.last = records[cell.key]
        if on_cell is not None:
            on_cell(progress)

    if on_cell is not None:
        on_cell(progress)  # the total, before the first cell finishes
    todo: list[Cell] = []
    for cell in planned:
        hit = cache.load(cache_dir, cell.key)
        if hit is not None:
            finish(cell, hit, True)
        else:
            todo.append(cell)
    by_key = {c.key: c for c in todo}
    jobs = [_job(c, cache_dir, plan) for c in todo]
    workers = options.jobs or os.cpu_count() or 1
    for job, record in run_jobs(jobs, options.executor, workers, options.address):
        cache.store(cache_dir, job.key, record)
        finish(by_key[job.key], record, False)
    cache.clear(cells_dir, {c.key for c in planned})
    matrix = build_matrix(plan, tables, [records[c.key] for c in planned])
    write_outputs(out_dir, matrix)
    return matrix
