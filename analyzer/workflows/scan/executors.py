"""Where the cells run: `local` (a pool on this machine) or `ray` (a Ray cluster, or a local Ray
instance). Both call worker.evaluate per cell, which runs the cell in its own isolated child
with the job's limits, so both give the same records; they differ only in where and when.

Local: a pool of threads, each waiting on one cell's child process. The child is the process
that does the work and that a crash takes down; a process pool around it would add a second
process per cell and nothing else. The children are forked from a forkserver that has the
analyzer imported (analyzer.isolation), which saves the interpreter start of `spawn` per cell.

Ray: one task per cell (1 CPU each) whose body is the same `evaluate`. A task whose worker
process dies (the node is lost, the OOM killer picks the worker) is retried once by Ray
(max_retries=1), then recorded as crashed.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Any

from analyzer.error_codes import RAY_NOT_INSTALLED
from analyzer.errors import InputError
from analyzer.workflows.scan.worker import EMPTY, CellJob, evaluate

EXECUTORS = ("local", "ray")
#: imported once by the forkserver, inherited by every cell's child
_PRELOAD = ["analyzer.workflows.scan.worker"]


def preload_for(jobs: Sequence[CellJob]) -> list[str]:
    """What the forkserver imports before it forks the cells' children: the analyzer, and torch
    when a PyTorch cell is among them (its import is most of a small model's pre-flight, and
    it starts no threads, so forking after it is safe). TensorFlow starts threads when it is
    imported, so each TensorFlow cell imports it itself."""
    return _PRELOAD + (["torch"] if any(j.kind == "torch" for j in jobs) else [])


def default_jobs() -> int:
    return os.cpu_count() or 1


def run_local(jobs: Sequence[CellJob], workers: int) -> Iterator[tuple[CellJob, dict[str, Any]]]:
    """Each job's record, in the order they finish."""
    multiprocessing.get_context("forkserver").set_forkserver_preload(preload_for(jobs))
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        pending = {pool.submit(evaluate, job): job for job in jobs}
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    job = pending.pop(future)
                    yield job, future.result()
        finally:
            for future in pending:
                future.cancel()


def _import_ray() -> Any:
    try:
        import ray  # optional (the `scale` extra): imported only when --executor ray runs
    except ImportError:
        raise InputError(None, RAY_NOT_INSTALLED, "--executor ray needs ray: pip install "
                         "'onnx-preflight[scale]'") from None
    return ray


def _ray_task(job: CellJob, preload: list[str]) -> dict[str, Any]:
    """The Ray task body: the forkserver preload is per process, so each worker sets it (it
    takes effect when the worker's forkserver starts, at its first cell)."""
    multiprocessing.get_context("forkserver").set_forkserver_preload(preload)
    return evaluate(job)


def _lost_record(job: CellJob, exc: BaseException, task_raised: bool) -> dict[str, Any]:
    """A task with no record: its worker died (retried once already: crashed), or the task
    body itself raised (the scan's own code failed there, e.g. an import error: error)."""
    first = (str(exc).strip().splitlines() or [""])[0][:200]
    record: dict[str, Any] = dict(EMPTY)
    if task_raised:
        cause = getattr(exc, "cause", None) or exc
        text = (str(cause).strip().splitlines() or [""])[0][:200]
        record.update(verdict="error", duration_s=0.0,
                      error=f"the Ray task failed: {type(cause).__name__}: {text}")
    else:
        record.update(verdict="crashed", duration_s=0.0,
                      error=f"the Ray worker died running this cell, also when retried "
                      f"({type(exc).__name__}: {first})")
    return record


def run_ray(jobs: Sequence[CellJob], workers: int,
            address: str | None) -> Iterator[tuple[CellJob, dict[str, Any]]]:
    """Each job's record as its Ray task finishes. With no address a local Ray instance with
    `workers` CPUs is started (and stopped at the end); with one, that cluster is joined."""
    ray = _import_ray()
    started = False
    if not ray.is_initialized():
        options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                   "logging_level": "ERROR"}
        if address:
            ray.init(address=address, **options)
        else:
            ray.init(num_cpus=max(1, workers), **options)
        started = True
    try:
        task = ray.remote(num_cpus=1, max_retries=1, retry_exceptions=False)(_ray_task)
        preload = preload_for(jobs)
        pending = {task.remote(job, preload): job for job in jobs}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                job = pending.pop(ref)
                try:
                    record = ray.get(ref)
                except ray.exceptions.RayTaskError as exc:
                    record = _lost_record(job, exc, task_raised=True)
                except ray.exceptions.RayError as exc:
                    record = _lost_record(job, exc, task_raised=False)
                yield job, record
    finally:
        if started:
            ray.shutdown()


def run_jobs(jobs: Sequence[CellJob], executor: str, workers: int,
             address: str | None = None) -> Iterator[tuple[CellJob, dict[str, Any]]]:
    if not jobs:
        return iter(())
    if executor == "ray":
        return run_ray(jobs, workers, address)
    return run_local(jobs, workers)


def check_executor(executor: str) -> None:
    """Before any cell runs: RAY_NOT_INSTALLED when Ray is asked for and missing."""
    if executor == "ray":
        _import_ray()
