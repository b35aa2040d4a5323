"""Analyze many models in a process pool: one bad or crashing model never stops the others.

Each model is analyzed in a worker process, so a segfault in onnx's C++ (shape inference) or in
onnxruntime (--load-check) kills one worker, not the batch: the models that were in flight when
the pool broke are rerun one per fresh pool, and the one that crashes again becomes a row.
"""

from __future__ import annotations

import glob
import multiprocessing
import os
import time
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analyzer.error_codes import BATCH_NO_MODELS, INTERNAL, WORKER_CRASHED
from analyzer.errors import InputError
from analyzer.findings import SEVERITY_RANK
from analyzer.limits import DEFAULT_MAX_NODES, DEFAULT_MAX_SUBGRAPH_DEPTH
from analyzer.report.model import NodeDetailMode
from analyzer.runtime.session import check_loads_in_child, load_check_finding
from analyzer.workflows.onnx_preflight import analyze

_GLOB_CHARS = set("*?[")


def is_glob(text: str) -> bool:
    return any(c in _GLOB_CHARS for c in text)


def is_batch(args: Sequence[str]) -> bool:
    """Several arguments, a directory holding models or a glob pattern: the batch form of
    `analyze`. A lone directory without models keeps the one-file error (it is a directory)."""
    if len(args) > 1:
        return True
    if os.path.isdir(args[0]):
        return any(p.is_file() for p in Path(args[0]).rglob("*.onnx"))
    return is_glob(args[0]) and not os.path.exists(args[0])


@dataclass
class BatchRow:
    """One model's outcome: its report (as the JSON dict), or an input error or a crash."""

    path: str
    seconds: float = 0.0
    report: dict[str, Any] | None = None
    error_code: str | None = None
    error_message: str | None = None
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        return str(self.report["verdict"]) if self.report is not None else "error"

    def fails(self, fail_on: str) -> bool:
        if self.report is None:
            return False
        bad = ("error",) if fail_on == "error" else ("error", "warning")
        return any(f["severity"] in bad and f.get("status", "open") == "open"
                   for f in self.report["findings"])

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "seconds": round(self.seconds, 3)}
        if self.report is not None:
            out["report"] = self.report
        else:
            out["error"] = {"code": self.error_code, "message": self.error_message}
        return out


def expand(args: Sequence[str]) -> tuple[list[str], list[BatchRow]]:
    """The model paths the arguments name (directories recursively, globs expanded, sorted per
    argument, duplicates dropped), and rows for arguments that name no model."""
    paths: list[str] = []
    empty: list[BatchRow] = []
    for arg in args:
        if os.path.isdir(arg):
            found = sorted(str(p) for p in Path(arg).rglob("*.onnx") if p.is_file())
        elif is_glob(arg) and not os.path.exists(arg):
            found = sorted(p for p in glob.glob(arg, recursive=True) if os.path.isfile(p))
        else:
            found = [arg]
        if not found:
            empty.append(BatchRow(arg, error_code=BATCH_NO_MODELS.code,
                                  error_message="no .onnx file matches this argument"))
        paths += [p for p in found if p not in paths]
    return paths, empty


@dataclass(frozen=True)
class Options:
    """What each worker needs to analyze one model (picklable)."""

    opset: int | None
    providers: tuple[str, ...]
    max_file_bytes: int | None
    load_check: bool
    time_limit: float
    memory_limit_mb: int | None
    max_nodes: int | None = DEFAULT_MAX_NODES
    max_subgraph_depth: int = DEFAULT_MAX_SUBGRAPH_DEPTH
    strict: bool = False
    nodes: NodeDetailMode = "notable"  # per-node detail in each row's report (Report.to_dict)


def analyze_one(path: str, options: Options) -> BatchRow:
    """Worker: analyze one model; input errors become a row, never an exception."""

    start = time.perf_counter()
    try:
        report = analyze(path, opset=options.opset, providers=options.providers,
                         max_file_bytes=options.max_file_bytes, max_nodes=options.max_nodes,
                         max_subgraph_depth=options.max_subgraph_depth, strict=options.strict)
        if options.load_check:
            add_load_check(report, path, options.time_limit, options.memory_limit_mb)
    except InputError as exc:
        return BatchRow(path, time.perf_counter() - start, error_code=exc.code,
                        error_message=exc.message)
    except Exception as exc:  # noqa: BLE001 - an internal error on one model is that model's row
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        return BatchRow(path, time.perf_counter() - start, error_code=INTERNAL.code,
                        error_message=f"{type(exc).__name__}: {first}")
    data = report.to_dict(options.nodes)
    counts = {s: sum(1 for f in report.open_findings if f.severity == s)
              for s in ("error", "warning", "info")}
    counts["nodes"] = report.model.nodes
    return BatchRow(path, time.perf_counter() - start, report=data, counts=counts)


def add_load_check(report: Any, path: str, time_limit: float,
                   memory_limit_mb: int | None) -> None:
    """Create a real ORT CPU session in an isolated child; add EP310 or EP311 to the report."""

    result = check_loads_in_child(path, ("CPUExecutionProvider",), time_limit=time_limit,
                                  memory_limit_mb=memory_limit_mb)
    report.findings.append(load_check_finding(result))
    report.findings.sort(key=lambda f: (-SEVERITY_RANK[f.severity], f.id, f.op or ""))


def _crash_row(path: str) -> BatchRow:
    return BatchRow(path, error_code=WORKER_CRASHED.code,
                    error_message="the worker process died analyzing this model (a crash in "
                    "onnx or onnxruntime native code, or the OS killed it)")


def _run_pool(paths: Sequence[str], options: Options,
              jobs: int) -> tuple[dict[str, BatchRow], list[str]]:
    """Rows for the models that finished, and the models lost when the pool broke."""
    done: dict[str, BatchRow] = {}
    lost: list[str] = []
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
        futures: dict[str, Future[BatchRow]] = {p: pool.submit(analyze_one, p, options)
                                                for p in paths}
        for path, future in futures.items():
            try:
                done[path] = future.result()
            except BrokenProcessPool:
                lost.append(path)
    return done, lost


def run_batch(args: Sequence[str], options: Options, jobs: int | None = None) -> list[BatchRow]:
    """Analyze every model the arguments name; rows in argument order."""
    paths, empty = expand(args)
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(paths) or 1))
    done, lost = _run_pool(paths, options, jobs) if paths else ({}, [])
    for path in lost:  # which model broke the pool is unknown: rerun each alone
        alone, still_lost = _run_pool([path], options, 1)
        done.update(alone)
        if still_lost:
            done[path] = _crash_row(path)
    return empty + [done[p] for p in paths]


def exit_status(rows: Sequence[BatchRow], fail_on: str = "error") -> int:
    """2 if any input error (or crash), else 1 if any verdict fails, else 0."""
    if any(r.report is None for r in rows):
        return 2
    return 1 if any(r.fails(fail_on) for r in rows) else 0


HEADERS = ("model", "verdict", "errors", "warnings", "nodes", "seconds")


def table_rows(rows: Sequence[BatchRow]) -> list[tuple[str, ...]]:
    """The summary table's cells; an error row shows its code and message."""
    out: list[tuple[str, ...]] = []
    for r in rows:
        if r.report is None:
            verdict = f"error {r.error_code}: {r.error_message}"
            out.append((r.path, verdict, "-", "-", "-", f"{r.seconds:.2f}"))
        else:
            out.append((r.path, r.verdict, str(r.counts["error"]), str(r.counts["warning"]),
                        str(r.counts["nodes"]), f"{r.seconds:.2f}"))
    return out


def common_folder(paths: Sequence[str]) -> str | None:
    """The folder all the model paths share (the table shows paths relative to it), if any."""
    try:
        folder = os.path.commonpath([os.path.abspath(os.path.dirname(p)) for p in paths])
    except ValueError:
        return None
    return folder if folder not in ("", os.sep) else None


def to_markdown(rows: Sequence[BatchRow]) -> str:
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    for cells in table_rows(rows):
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"
