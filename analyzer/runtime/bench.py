"""`bench(model) -> BenchResult`: latency of a model on ONNX Runtime, per execution provider.

Per provider: session creation, first run, warm-up, then timed runs, each a bare
time.perf_counter_ns() around session.run (inputs are prepared before any timing, so the
harness measures the model, not numpy). On CUDA the inputs and outputs stay on the device
through IO binding, and the host<->device copy cost is measured apart. The actual placement
that ORT recorded is set beside the analyzer's prediction. With `compare`, two models run
alternately on the same inputs and the result gives p50_b / p50_a with a bootstrap interval.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from analyzer.error_codes import BENCH_SESSION, PROVIDER_UNAVAILABLE, USAGE
from analyzer.errors import InputError
from analyzer.limits import DEFAULT_MAX_INPUT_BYTES
from analyzer.runtime.bench_inputs import Feeds, InputSpec, make_inputs
from analyzer.runtime.bench_plot import write_plot
from analyzer.runtime.bench_stats import NS_PER_MS, LatencyStats, RatioEstimate, p50_ratio
from analyzer.runtime.placement_actual import PlacementCheck, actual_ops, compare_placement
from analyzer.runtime.session import (
    GUARD_MEMORY_LIMIT_MB,
    GUARD_TIME_LIMIT,
    SessionSpec,
    create_session,
    first_line,
    guard_session_creation,
    resolve_providers,
)
from analyzer.sources.onnx_loader import load_onnx

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"
COPY_REPEATS = 5
PROGRESS_AFTER_S = 2.0  # a progress bar only on runs expected to last longer than this
PROGRESS_EVERY = 32  # iterations between progress updates, outside the timed region

ModelArg = str | os.PathLike[str] | onnx.ModelProto


@dataclass
class SessionSettings:
    """What the session ran with: 0 threads means ORT's default (one per physical core)."""

    intra_op_threads: int
    inter_op_threads: int
    graph_optimization_level: str
    execution_mode: str
    io_binding: bool

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class CopyCost:
    """Host<->device copies on CUDA, median of COPY_REPEATS, outside the timed runs."""

    host_to_device_ms: float
    device_to_host_ms: float
    input_bytes: int
    output_bytes: int

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class ProviderRun:
    """One model on one provider: the session's cost, the first run, and the timed runs."""

    provider: str
    model: str
    session_create_ms: float
    first_run_ms: float
    warmup: int
    stats: LatencyStats
    settings: SessionSettings
    samples_ms: list[float] = field(default_factory=list)
    copy: CopyCost | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "model": self.model,
            "session_create_ms": self.session_create_ms,
            "first_run_ms": self.first_run_ms,
            "warmup": self.warmup,
            "stats": self.stats.to_dict(),
            "settings": self.settings.to_dict(),
            "copy": self.copy.to_dict() if self.copy else None,
            "samples_ms": list(self.samples_ms),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ProviderRun:
        return cls(
            provider=d["provider"],
            model=d["model"],
            session_create_ms=d["session_create_ms"],
            first_run_ms=d["first_run_ms"],
            warmup=d["warmup"],
            stats=LatencyStats.from_dict(d["stats"]),
            settings=SessionSettings(**d["settings"]),
            samples_ms=list(d.get("samples_ms", [])),
            copy=CopyCost(**d["copy"]) if d.get("copy") else None,
        )


@dataclass
class Comparison:
    """Model b against model a on one provider, from interleaved runs."""

    provider: str
    model_a: str
    model_b: str
    same_inputs: bool
    p50_ratio: RatioEstimate

    def to_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "model_a": self.model_a,
            "model_b": self.model_b,
            "same_inputs": self.same_inputs,
            "p50_ratio": self.p50_ratio.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Comparison:
        return cls(d["provider"], d["model_a"], d["model_b"], d["same_inputs"],
                   RatioEstimate.from_dict(d["p50_ratio"]))


@dataclass
class BenchResult:
    """Everything one bench call measured, plus what it assumed (notes) and where it ran."""

    model: str
    providers: list[str]
    warmup: int
    iterations: int | None
    duration_s: float | None
    seed: int
    inputs: list[InputSpec]
    runs: list[ProviderRun]
    placement: PlacementCheck | None
    comparisons: list[Comparison]
    environment: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    compare_model: str | None = None
    plot: str | None = None
    plot_note: str | None = None

    def run_for(self, provider: str, model: str | None = None) -> ProviderRun:
        """The run of `model` (default: the main one) on `provider` ("cpu" accepted)."""
        full = _normalize(provider)
        for r in self.runs:
            if r.provider == full and r.model == (model or self.model):
                return r
        raise KeyError(f"no run for {provider} / {model or self.model}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "compare_model": self.compare_model,
            "providers": list(self.providers),
            "warmup": self.warmup,
            "iterations": self.iterations,
            "duration_s": self.duration_s,
            "seed": self.seed,
            "inputs": [i.to_dict() for i in self.inputs],
            "notes": list(self.notes),
            "runs": [r.to_dict() for r in self.runs],
            "placement": self.placement.to_dict() if self.placement else None,
            "comparisons": [c.to_dict() for c in self.comparisons],
            "environment": dict(self.environment),
            "plot": self.plot,
            "plot_note": self.plot_note,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BenchResult:
        return cls(
            model=d["model"],
            providers=list(d["providers"]),
            warmup=d["warmup"],
            iterations=d["iterations"],
            duration_s=d["duration_s"],
            seed=d["seed"],
            inputs=[InputSpec.from_dict(i) for i in d["inputs"]],
            runs=[ProviderRun.from_dict(r) for r in d["runs"]],
            placement=PlacementCheck.from_dict(d["placement"]) if d.get("placement") else None,
            comparisons=[Comparison.from_dict(c) for c in d["comparisons"]],
            environment=dict(d["environment"]),
            notes=list(d.get("notes", [])),
            compare_model=d.get("compare_model"),
            plot=d.get("plot"),
            plot_note=d.get("plot_note"),
        )


# --------------------------------------------------------------------------------------------
# The API


def bench(
    model: ModelArg,
    providers: Sequence[str] = ("cpu",),
    warmup: int = 10,
    iterations: int = 100,
    duration: float | None = None,
    threads: int | None = None,
    compare: ModelArg | None = None,
    inputs: Feeds | str | os.PathLike[str] | None = None,
    seed: int = 0,
    *,
    placement: bool = True,
    plot: str | os.PathLike[str] | None = None,
    progress: bool | None = None,
    isolate: bool = False,
    time_limit: float = GUARD_TIME_LIMIT,
    memory_limit_mb: int = GUARD_MEMORY_LIMIT_MB,
    max_input_bytes: int | None = DEFAULT_MAX_INPUT_BYTES,
) -> BenchResult:
    """Benchmark `model` on each provider ("cpu", "cuda" or full names), in order.

    `duration` (seconds) replaces `iterations` when given. `progress=None` shows a bar only when
    stderr is a terminal and the run is expected to be long. `isolate`: create each model's
    session in a child process first (as the CLI does), so an onnxruntime crash or hang there is
    ORT_SESSION_CRASHED, not the end of this process. Raises InputError for bad input,
    generated inputs larger than `max_input_bytes` included (None: no limit), before they are
    allocated.
    """
    _check_counts(warmup, iterations, duration, threads)
    full = resolve_providers(providers, flag="providers") or [CPU]
    if isolate:
        for m in (model, compare):
            if m is not None:
                guard_session_creation(m, time_limit=time_limit, memory_limit_mb=memory_limit_mb)
    proto, source, label = _load(model)
    feeds, specs, notes = make_inputs(proto, inputs, seed, max_input_bytes=max_input_bytes,
                                      path=source if isinstance(source, str) else None)
    other: tuple[onnx.ModelProto, bytes | str, str] | None = None
    feeds_b = feeds
    same_inputs = True
    if compare is not None:
        other = _load(compare)
        if other[2] == label:
            other = (other[0], other[1], f"{label} (b)")
        feeds_b, specs_b, notes_b = make_inputs(
            other[0], None, seed, max_input_bytes=max_input_bytes,
            path=other[1] if isinstance(other[1], str) else None)
        same_inputs = _signature(specs_b) == _signature(specs) and inputs is None
        if same_inputs:
            feeds_b = feeds
        else:
            notes.append("the compared models' inputs differ: each got its own seeded inputs")
            notes += [f"{other[2]}: {n}" for n in notes_b]
    if duration is not None:
        notes.append(f"timed runs for {duration:g} s per provider instead of a fixed count")

    runs: list[ProviderRun] = []
    comparisons: list[Comparison] = []
    optimized_actual: dict[str, dict[str, int]] = {}
    for provider in full:
        session, create_ms, settings = _session(source, provider, threads)
        if provider == full[0]:
            optimized_actual = actual_ops(session)
        step, copy = _runner(session, provider, feeds)
        if other is None:
            runs.append(_measure(session, step, copy, provider, label, create_ms, settings,
                                 warmup, iterations, duration, progress))
            continue
        session_b, create_b, settings_b = _session(other[1], provider, threads)
        step_b, copy_b = _runner(session_b, provider, feeds_b)
        run_a, run_b, ratio = _measure_pair(
            (step, copy, label, create_ms, settings), (step_b, copy_b, other[2], create_b,
                                                       settings_b),
            provider, warmup, iterations, duration, progress, seed)
        runs += [run_a, run_b]
        comparisons.append(Comparison(provider, label, other[2], same_inputs, ratio))

    check: PlacementCheck | None = None
    if placement:
        check = compare_placement(proto, source, _with_cpu(full), optimized_actual)
    result = BenchResult(
        model=label,
        providers=full,
        warmup=warmup,
        iterations=None if duration is not None else iterations,
        duration_s=duration,
        seed=seed,
        inputs=specs,
        runs=runs,
        placement=check,
        comparisons=comparisons,
        environment=environment(full, threads),
        notes=notes,
        compare_model=other[2] if other else None,
    )
    if plot is not None:
        result.plot_note = write_plot(result, plot)
        result.plot = None if result.plot_note else os.fspath(plot)
    return result


def environment(providers: Sequence[str], threads: int | None) -> dict[str, Any]:
    """Where the numbers came from: CPU model, cores, ORT and onnx versions, providers."""
    import onnxruntime as ort

    return {
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "onnxruntime": ort.__version__,
        "onnx": onnx.__version__,
        "numpy": np.__version__,
        "available_providers": list(ort.get_available_providers()),
        "providers": list(providers),
        "threads_requested": threads,
    }


# --------------------------------------------------------------------------------------------
# Loading and sessions


def _normalize(name: str) -> str:
    return resolve_providers([name], available=False, flag="providers")[0]


def _check_counts(warmup: int, iterations: int, duration: float | None,
                  threads: int | None) -> None:
    if warmup < 0:
        raise InputError(None, USAGE, f"warmup must be >= 0, got {warmup}")
    if duration is None and iterations < 1:
        raise InputError(None, USAGE, f"iterations must be >= 1, got {iterations}")
    if duration is not None and not duration > 0:
        raise InputError(None, USAGE, f"duration must be > 0 seconds, got {duration}")
    if threads is not None and threads < 1:
        raise InputError(None, USAGE, f"threads must be >= 1, got {threads}")


def _with_cpu(providers: Sequence[str]) -> list[str]:
    return list(providers) if CPU in providers else [*providers, CPU]


def _load(model: ModelArg) -> tuple[onnx.ModelProto, bytes | str, str]:
    """The vetted proto, what ORT should load (the path keeps external data working), a label."""

    loaded = load_onnx(model)
    if loaded.path is not None:
        return loaded.model, str(loaded.path), loaded.path.name
    label = loaded.model.graph.name or "model"
    return loaded.model, loaded.model.SerializeToString(), label


def _session(source: bytes | str, provider: str, threads: int | None
             ) -> tuple[Any, float, SessionSettings]:
    """A session on `provider` (CPU behind it for what it lacks), its creation time in ms."""
    spec = SessionSpec(providers=(provider,), intra_op_threads=threads, log_severity=None,
                       record_assignment=True)
    t0 = time.perf_counter_ns()
    try:
        session = create_session(source, spec)
    except Exception as exc:  # noqa: BLE001 - ORT raises several types for a model it refuses
        raise InputError(source if isinstance(source, str) else None, BENCH_SESSION,
                         "onnxruntime cannot create a session on "
                         f"{provider}: {first_line(exc)}") from None
    create_ms = (time.perf_counter_ns() - t0) / NS_PER_MS
    if provider not in session.get_providers():
        raise InputError(None, PROVIDER_UNAVAILABLE,
                         f"{provider} failed to initialise (session fell back to CPU)")
    used = session.get_session_options()
    settings = SessionSettings(
        intra_op_threads=used.intra_op_num_threads,
        inter_op_threads=used.inter_op_num_threads,
        graph_optimization_level=used.graph_optimization_level.name,
        execution_mode=used.execution_mode.name,
        io_binding=provider == CUDA,
    )
    return session, create_ms, settings


def _runner(session: Any, provider: str, feeds: Feeds) -> tuple[Callable[[], object],
                                                                 CopyCost | None]:
    """The call to time: session.run on host buffers, or IO binding with device buffers."""
    if provider != CUDA:
        return partial(session.run, None, feeds), None
    return _cuda_runner(session, feeds)


def _cuda_runner(session: Any, feeds: Feeds) -> tuple[Callable[[], object], CopyCost]:
    """Inputs copied to the GPU once; outputs bound to the GPU; each timed step runs and waits
    for the outputs, so the time is the device's, not the launch's."""
    import onnxruntime as ort

    clock = time.perf_counter_ns
    h2d: list[int] = []
    device: dict[str, Any] = {}
    for _ in range(COPY_REPEATS):
        t0 = clock()
        device = {k: ort.OrtValue.ortvalue_from_numpy(v, "cuda", 0) for k, v in feeds.items()}
        h2d.append(clock() - t0)
    binding = session.io_binding()
    for name, value in device.items():
        binding.bind_ortvalue_input(name, value)
    for out in session.get_outputs():
        binding.bind_output(out.name, "cuda", 0)

    def step() -> None:
        session.run_with_iobinding(binding)
        binding.synchronize_outputs()

    step()  # outputs exist now, so the copy back can be measured
    d2h: list[int] = []
    host: list[np.ndarray] = []
    for _ in range(COPY_REPEATS):
        t0 = clock()
        host = binding.copy_outputs_to_cpu()
        d2h.append(clock() - t0)
    copy = CopyCost(
        host_to_device_ms=float(np.median(h2d)) / NS_PER_MS,
        device_to_host_ms=float(np.median(d2h)) / NS_PER_MS,
        input_bytes=int(sum(v.nbytes for v in feeds.values())),
        output_bytes=int(sum(np.asarray(h).nbytes for h in host)),
    )
    return step, copy


# --------------------------------------------------------------------------------------------
# Timing


def _first(step: Callable[[], object]) -> float:
    t0 = time.perf_counter_ns()
    step()
    return (time.perf_counter_ns() - t0) / NS_PER_MS


def _measure(session: Any, step: Callable[[], object], copy: CopyCost | None, provider: str,
             label: str, create_ms: float, settings: SessionSettings, warmup: int,
             iterations: int, duration: float | None, progress: bool | None) -> ProviderRun:
    first_ms = _first(step)
    for _ in range(warmup):
        step()
    with _progress(provider, label, first_ms, iterations, duration, progress) as tick:
        samples = _timed(step, iterations, duration, tick)
    return _run(provider, label, create_ms, first_ms, warmup, samples, settings, copy)


def _timed(step: Callable[[], object], iterations: int, duration: float | None,
           tick: Callable[[int], None] | None) -> list[int]:
    """The timed loop: nothing but the step between the two clock reads."""
    clock = time.perf_counter_ns
    samples: list[int] = []
    append = samples.append
    if duration is None and tick is None:
        for _ in range(iterations):
            t0 = clock()
            step()
            append(clock() - t0)
        return samples
    if duration is None:
        for i in range(iterations):
            t0 = clock()
            step()
            append(clock() - t0)
            if tick is not None and i % PROGRESS_EVERY == 0:
                tick(i)
        return samples
    deadline = clock() + int(duration * 1e9)
    t1 = 0
    while t1 < deadline:
        t0 = clock()
        step()
        t1 = clock()
        append(t1 - t0)
        if tick is not None and len(samples) % PROGRESS_EVERY == 0:
            tick(len(samples))
    return samples


def _measure_pair(a: tuple[Callable[[], object], CopyCost | None, str, float, SessionSettings],
                  b: tuple[Callable[[], object], CopyCost | None, str, float, SessionSettings],
                  provider: str, warmup: int, iterations: int, duration: float | None,
                  progress: bool | None, seed: int
                  ) -> tuple[ProviderRun, ProviderRun, RatioEstimate]:
    """Alternate a and b, swapping which goes first each iteration, so that drift (thermal,
    frequency, other load) hits both alike; the pairs feed a paired bootstrap."""
    step_a, step_b = a[0], b[0]
    first_a, first_b = _first(step_a), _first(step_b)
    for _ in range(warmup):
        step_a()
        step_b()
    clock = time.perf_counter_ns
    sa: list[int] = []
    sb: list[int] = []
    deadline = clock() + int(duration * 1e9) if duration is not None else None
    label = f"{a[2]} vs {b[2]}"
    with _progress(provider, label, first_a + first_b, iterations, duration, progress) as tick:
        i = 0
        while (i < iterations) if deadline is None else (clock() < deadline):
            for step, out in ((step_a, sa), (step_b, sb)) if i % 2 == 0 else \
                    ((step_b, sb), (step_a, sa)):
                t0 = clock()
                step()
                out.append(clock() - t0)
            if tick is not None and i % PROGRESS_EVERY == 0:
                tick(i)
            i += 1
    run_a = _run(provider, a[2], a[3], first_a, warmup, sa, a[4], a[1])
    run_b = _run(provider, b[2], b[3], first_b, warmup, sb, b[4], b[1])
    return run_a, run_b, p50_ratio(sa, sb, seed=seed)


def _run(provider: str, label: str, create_ms: float, first_ms: float, warmup: int,
         samples: list[int], settings: SessionSettings, copy: CopyCost | None) -> ProviderRun:
    return ProviderRun(
        provider=provider,
        model=label,
        session_create_ms=create_ms,
        first_run_ms=first_ms,
        warmup=warmup,
        stats=LatencyStats.from_ns(samples),
        settings=settings,
        samples_ms=[s / NS_PER_MS for s in samples],
        copy=copy,
    )


@contextmanager
def _progress(provider: str, label: str, first_ms: float, iterations: int,
              duration: float | None, enabled: bool | None
              ) -> Iterator[Callable[[int], None] | None]:
    """A rich progress bar on stderr, for long runs when stderr is a terminal."""
    expected_s = duration if duration is not None else first_ms * iterations / 1000.0
    if enabled is None:
        enabled = sys.stderr.isatty() and expected_s >= PROGRESS_AFTER_S
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    total = duration if duration is not None else float(iterations)
    with Progress(TextColumn("{task.description}"), BarColumn(), TimeRemainingColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(f"{provider.replace('ExecutionProvider', '')} {label}", total=total)
        start = time.perf_counter()

        def tick(i: int) -> None:
            done = time.perf_counter() - start if duration is not None else float(i)
            bar.update(task, completed=done)

        yield tick


def _signature(specs: Sequence[InputSpec]) -> list[tuple[str, str, tuple[int, ...]]]:
    return [(s.name, s.dtype, tuple(s.shape)) for s in specs]


def _cpu_model() -> str | None:
    """The "model name" line of /proc/cpuinfo (Linux), else platform.processor()."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None
