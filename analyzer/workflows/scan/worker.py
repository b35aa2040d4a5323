"""One cell, run in an isolated child process: the pre-flight of one source at one opset with
one exporter, its report files, and the cell's record for the matrix.

`evaluate(job)` is what every executor calls (a thread of the local pool, a Ray task): it runs
`run_cell` in a child with the job's time and memory limits (analyzer.isolation), so a crash,
a hang or an allocation without bound becomes the cell's verdict (crashed / timeout), never
the end of the scan.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analyzer.errors import InputError
from analyzer.finding_ids import EP301
from analyzer.isolation import IsolationResult, run_isolated
from analyzer.report.html import render_html
from analyzer.report.model import Report
from analyzer.safe_write import write_atomically
from analyzer.sources.torch_spec import load_torch_source
from analyzer.workflows.onnx_preflight import analyze
from analyzer.workflows.tf_preflight import analyze_tensorflow
from analyzer.workflows.torch_preflight import analyze_torch
from opsets.tables import load_schemas

REPORT_JSON = "report.json"
REPORT_HTML = "report.html"


@dataclass(frozen=True)
class CellJob:
    """Everything a child needs to run one cell (picklable; paths absolute)."""

    key: str
    kind: str
    location: str
    inputs: tuple[str, ...]
    weights: str | None
    opset: int | None
    exporter: str | None
    providers: tuple[str, ...]
    out_dir: str  # the cell's report files go here
    cwd: str  # factories are imported relative to it (as `analyze` does in the current folder)
    time_limit: float
    memory_limit_mb: int | None


def _one_line(text: str) -> str:
    return (text.strip().splitlines() or [""])[0][:300]


def _report(job: CellJob) -> Report:
    if job.kind == "onnx":
        return analyze(job.location, providers=job.providers, graph_source=True)
    if job.kind == "torch":
        module, example = load_torch_source(job.location, list(job.inputs), job.weights)
        return analyze_torch(module, example, opset=job.opset or 18,
                             exporter=job.exporter or "dynamo", name=job.location)
    return analyze_tensorflow(job.location, opset=job.opset, providers=job.providers)


def placement_summary(report: Report) -> dict[str, dict[str, int]]:
    """Per provider: the model's nodes, and how many run on that provider's own kernel, fall
    back to a later provider, or have no kernel anywhere (from the per-node prediction)."""
    out: dict[str, dict[str, int]] = {}
    for provider in report.target.providers:
        counts = {"nodes": 0, "own_kernel": 0, "fallback": 0, "no_kernel": 0}
        for entry in report.ops:
            for node in entry.nodes:
                status = node.providers.get(provider, {}).get("status")
                if status is None:
                    continue
                counts["nodes"] += 1
                key = {"ok": "own_kernel", "fallback": "fallback"}.get(status, "no_kernel")
                counts[key] += 1
        if counts["nodes"]:
            out[provider] = counts
    return out


def onnx_lowest_opset(report: Report) -> int | None:
    """An ONNX model's lowest workable default-domain opset: the highest of its ops' first
    versions (below it some op does not exist); None when the verdict fails or an op is
    unknown."""
    if report.verdict == "fail":
        return None
    schemas = load_schemas()
    lowest = 1
    for entry in report.ops:
        if entry.domain not in ("", "ai.onnx"):
            continue
        versions = schemas.versions("", entry.op)
        if not versions:
            return None
        lowest = max(lowest, versions[0].since_version)
    return lowest


def _lowest(report: Report, job: CellJob) -> int | None:
    if job.kind == "onnx":
        return onnx_lowest_opset(report)
    mins = report.extras.get("min_opset") or {}
    value = mins.get(job.exporter or "")
    return int(value) if isinstance(value, int) else None


def blocking(report: Report) -> list[dict[str, Any]]:
    """The open error findings: what stands between this cell and a working model.

    EP301 (no kernel on any requested provider) carries no provider of its own; its record
    names the last provider of the list, the CPU fallback that would have run it, so the
    blocking-ops summary files it as a runtime blocker there, not as an export blocker."""
    last = report.target.providers[-1] if report.target.providers else None
    return [{"id": f.id, "severity": f.severity, "op": f.op, "domain": f.domain or None,
             "provider": f.provider or (last if f.id == EP301.id else None),
             "message": _one_line(f.message)}
            for f in report.open_findings if f.severity == "error"]


def run_cell(job: CellJob) -> dict[str, Any]:
    """In the child: the pre-flight, its report files, the record's analysis fields. Bad input
    (a factory that does not import, a file that does not parse) is the verdict `error`."""
    os.chdir(job.cwd)
    if job.cwd not in sys.path:
        sys.path.insert(0, job.cwd)
    try:
        report = _report(job)
    except InputError as exc:
        return {"verdict": "error", "error": _one_line(exc.one_line())}
    out = Path(job.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_atomically(out / REPORT_JSON, report.to_json() + "\n")
    write_atomically(out / REPORT_HTML, render_html(report))
    opset = report.model.opset_imports.get("", report.model.opset_imports.get("ai.onnx"))
    return {"verdict": report.verdict, "blocking": blocking(report),
            "lowest_working_opset": _lowest(report, job),
            "model_opset": opset if job.kind == "onnx" else None,
            "placement": placement_summary(report),
            "report_html": REPORT_HTML, "report_json": REPORT_JSON, "error": None}


def failure_record(result: IsolationResult, job: CellJob) -> dict[str, Any]:
    """The record of a child that gave no result."""
    if result.status == "timed_out":
        verdict, error = "timeout", f"no result after {job.time_limit:g} s (--time-limit)"
    elif result.status in ("crashed", "out_of_memory"):
        verdict, error = "crashed", result.describe()
        if result.status == "out_of_memory":
            error += f" (--memory-limit {job.memory_limit_mb} MB)"
    else:
        verdict, error = "error", f"{result.error_type}: {result.message}"
    return {"verdict": verdict, "error": _one_line(error)}


EMPTY: dict[str, Any] = {"blocking": [], "lowest_working_opset": None, "model_opset": None,
                         "placement": {}, "report_html": None, "report_json": None,
                         "error": None}


def evaluate(job: CellJob) -> dict[str, Any]:
    """Run one cell in its isolated child; the record fields every outcome has."""
    start = time.perf_counter()
    result = run_isolated(run_cell, job, time_limit=job.time_limit,
                          memory_limit_mb=job.memory_limit_mb, start_method="forkserver")
    record: dict[str, Any] = dict(EMPTY)
    record.update(result.value if result.ok else failure_record(result, job))
    record["duration_s"] = round(time.perf_counter() - start, 3)
    return record
