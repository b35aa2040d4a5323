"""Run a risky callable (onnxruntime session creation, an export) in a child process.

The session check itself is analyzer.runtime.session.check_loads_in_child.

onnxruntime can segfault on malformed models, or hang, or allocate without bound; run in our
process any of these ends the whole report. In a child with a time limit and an address-space
limit they become a structured result the caller turns into a finding.

The child is started with the "spawn" context: a fresh interpreter inherits no threads or locks
held by ORT or torch in the parent (fork would copy them mid-state), at a cost of ~0.3 s.
"""

from __future__ import annotations

import multiprocessing
import signal as _signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, Literal

Status = Literal["ok", "crashed", "timed_out", "out_of_memory", "raised"]

DEFAULT_TIME_LIMIT = 60.0
DEFAULT_MEMORY_LIMIT_MB = 4096

_OOM_MARKERS = ("bad_alloc", "failed to allocate", "out of memory", "cannot allocate")


@dataclass(frozen=True)
class IsolationResult:
    """How the child ended: its return value, or which way it failed."""

    status: Status
    value: Any = None
    seconds: float = 0.0
    signal: int | None = None
    error_type: str | None = None
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def describe(self) -> str:
        """One line for a finding or a table cell."""
        if self.status == "ok":
            return f"ok ({self.seconds:.2f} s)"
        if self.status == "crashed":
            name = _signal_name(self.signal)
            return f"crashed: signal {self.signal}" + (f" ({name})" if name else "")
        if self.status == "timed_out":
            return f"timed out after {self.seconds:.0f} s"
        if self.status == "out_of_memory":
            return f"ran out of memory: {self.message}" if self.message else "ran out of memory"
        return f"failed: {self.error_type}: {self.message}"


def _signal_name(number: int | None) -> str | None:
    try:
        return _signal.Signals(number).name if number is not None else None
    except ValueError:
        return None


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [""])[0][:300]


def _child(conn: Connection, fn: Callable[..., Any], args: tuple[Any, ...],
           memory_limit_mb: int | None) -> None:
    """Child entry point: set the memory limit, run, send ("ok", value) or the failure."""
    if memory_limit_mb is not None:
        import resource

        limit = memory_limit_mb * 1024 * 1024
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        value = fn(*args)
    except MemoryError as exc:
        conn.send(("out_of_memory", "MemoryError", _first_line(exc)))
    except BaseException as exc:  # noqa: BLE001 - every failure is reported, not raised
        line = _first_line(exc)
        kind = "out_of_memory" if any(m in line.lower() for m in _OOM_MARKERS) else "raised"
        conn.send((kind, type(exc).__name__, line))
    else:
        conn.send(("ok", value))
    finally:
        conn.close()


def run_isolated(
    fn: Callable[..., Any],
    *args: Any,
    time_limit: float = DEFAULT_TIME_LIMIT,
    memory_limit_mb: int | None = DEFAULT_MEMORY_LIMIT_MB,
    start_method: Literal["spawn", "forkserver"] = "spawn",
) -> IsolationResult:
    """Call fn(*args) in a spawned child; fn and args must be picklable (module-level fn).
    `start_method="forkserver"` forks each child from a clean server process: as safe as spawn
    (nothing of this process is copied) and much faster once the server has its imports."""
    ctx: Any = multiprocessing.get_context(start_method)  # typeshed: no Process on BaseContext
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(send, fn, args, memory_limit_mb), daemon=True)
    start = time.perf_counter()
    proc.start()
    send.close()  # the child holds the only write end: its death reads as EOF here
    try:
        message: tuple[Any, ...] | None = None
        if recv.poll(time_limit):
            try:
                message = recv.recv()
            except EOFError:
                message = None
        else:
            proc.kill()
            proc.join()
            return IsolationResult("timed_out", seconds=time.perf_counter() - start)
        proc.join(timeout=10)
        if proc.is_alive():  # sent its result but hangs on exit: the result stands
            proc.kill()
            proc.join()
        seconds = time.perf_counter() - start
        if message is None:
            code = proc.exitcode
            if code is not None and code < 0:
                sig = -code
                if sig == _signal.SIGKILL and memory_limit_mb is not None:
                    return IsolationResult("crashed", seconds=seconds, signal=sig,
                                           message="killed (possibly by the OOM killer)")
                return IsolationResult("crashed", seconds=seconds, signal=sig)
            return IsolationResult("crashed", seconds=seconds,
                                   message=f"exited with status {code} without a result")
        if message[0] == "ok":
            return IsolationResult("ok", value=message[1], seconds=seconds)
        status: Status = "out_of_memory" if message[0] == "out_of_memory" else "raised"
        return IsolationResult(status, seconds=seconds, error_type=message[1],
                               message=message[2])
    finally:
        recv.close()
