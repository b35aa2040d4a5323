"""The one place that creates onnxruntime sessions: what a session runs with is a `SessionSpec`,
`create_session` builds it, `check_loads_in_child` tries it in an isolated child process first.

Why one module: verify, bench, the placement check, the rewrite pass and the load check each
need a session with slightly different options (assignment recording, optimizations off, one
thread, quiet logs); declared as data they can be compared and tested, and provider names are
checked once, with one error code (`PROVIDER_UNAVAILABLE`) for a provider this onnxruntime lacks.

onnxruntime is imported inside the functions that need it: a child process under an
address-space limit (`check_loads_in_child`) must map the library after the limit is set, and
importing this module must not pay for it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import onnx
import onnx.helper
import onnx.numpy_helper

from analyzer.error_codes import ORT_SESSION_CRASHED, PROVIDER_UNAVAILABLE, USAGE
from analyzer.errors import InputError
from analyzer.finding_ids import EP310, EP311
from analyzer.findings import Finding
from analyzer.isolation import (
    DEFAULT_MEMORY_LIMIT_MB,
    DEFAULT_TIME_LIMIT,
    IsolationResult,
    run_isolated,
)
from analyzer.onnx_weights import has_deferred, tensor_bytes, weightless_copy
from analyzer.sources.deferred import mapped_array
from opsets.tables import normalize_provider

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
#: session config entry that makes ORT record which provider got each node
ASSIGNMENT_CONFIG_KEY = "session.record_ep_graph_assignment_info"

ModelSource = str | os.PathLike[str] | bytes | onnx.ModelProto
Optimization = Literal["default", "disable", "basic", "extended", "all"]


@dataclass(frozen=True)
class SessionSpec:
    """Everything a session is created with; None leaves onnxruntime's own default.

    providers: full names in priority order; `cpu_fallback` appends CPU behind them (ORT's own
    fallback for the nodes a provider lacks, as deployed). provider_options: per provider name.
    record_assignment: ORT keeps the node-to-provider assignment (placement_actual reads it)."""

    providers: tuple[str, ...] = (CPU,)
    provider_options: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    cpu_fallback: bool = True
    graph_optimization: Optimization = "default"
    intra_op_threads: int | None = None
    inter_op_threads: int | None = None
    log_severity: int | None = 3
    record_assignment: bool = False
    profiling: bool = False
    config: Mapping[str, str] = field(default_factory=dict)

    def provider_list(self) -> list[str]:
        names = list(self.providers)
        if self.cpu_fallback and CPU not in names:
            names.append(CPU)
        return names


def session_options(spec: SessionSpec) -> Any:
    """The onnxruntime.SessionOptions for `spec`."""
    import onnxruntime as ort  # see the module docstring: not imported before it is needed

    opts = ort.SessionOptions()
    if spec.log_severity is not None:
        opts.log_severity_level = spec.log_severity
    if spec.intra_op_threads is not None:
        opts.intra_op_num_threads = spec.intra_op_threads
    if spec.inter_op_threads is not None:
        opts.inter_op_num_threads = spec.inter_op_threads
    if spec.graph_optimization != "default":
        opts.graph_optimization_level = {
            "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
            "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
            "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
            "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
        }[spec.graph_optimization]
    if spec.record_assignment:
        opts.add_session_config_entry(ASSIGNMENT_CONFIG_KEY, "1")
    if spec.profiling:
        opts.enable_profiling = True
    for key, value in spec.config.items():
        opts.add_session_config_entry(key, value)
    return opts


def model_source(model: ModelSource) -> str | bytes:
    """What ORT is given: a path (keeps external data next to it working) or the bytes."""
    if isinstance(model, onnx.ModelProto):
        return model.SerializeToString()
    if isinstance(model, bytes):
        return model
    return os.fspath(model)


#: A ModelProto whose large weights add up to this many bytes is handed to ORT without them in
#: its bytes: each weight goes in as an array ORT uses in place (add_external_initializers), so a
#: session holds one copy of the weights instead of the serialized bytes and ORT's own copy.
SHARE_WEIGHTS_BYTES = 16 * 2**20
_SHARED_TENSOR_BYTES = 1 << 16
_SHARED_LOCATION = "onnx-preflight-shared-weight"
#: element types numpy holds natively (ORT takes them as they are)
_SHAREABLE = frozenset(getattr(onnx.TensorProto, n) for n in (
    "FLOAT", "DOUBLE", "FLOAT16", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32",
    "UINT64", "BOOL"))


def _shared_weights(model: onnx.ModelProto) -> tuple[bytes, list[str], list[Any]] | None:
    """(bytes without the large main-graph weights, their names, their arrays), or None when the
    model's weights are too small to be worth it. The weights stay in the bytes as external
    tensors that the arrays replace (ORT reads no file for them)."""
    light, big = weightless_copy(model, _SHARED_TENSOR_BYTES, _SHAREABLE)
    if sum(tensor_bytes(t) for t in big) < SHARE_WEIGHTS_BYTES and not has_deferred(model):
        return None
    arrays = [_array(t) for t in big]
    headers = {t.name: t for t in light.graph.initializer}
    for tensor, array in zip(big, arrays, strict=True):
        header = headers[tensor.name]
        header.data_location = onnx.TensorProto.EXTERNAL
        for key, value in (("location", _SHARED_LOCATION), ("length", str(array.nbytes))):
            entry = header.external_data.add()
            entry.key, entry.value = key, value
    return light.SerializeToString(), [t.name for t in big], arrays


def _array(tensor: onnx.TensorProto) -> Any:
    """A weight's values: a deferred one (analyzer.sources.deferred) as a read-only map of its
    file (ORT reads a contiguous input in place: the process holds no copy), else from its bytes."""
    mapped = mapped_array(tensor)
    return onnx.numpy_helper.to_array(tensor) if mapped is None else mapped


def create_session(model: ModelSource, spec: SessionSpec | None = None) -> Any:
    """An onnxruntime.InferenceSession for `model` as `spec` says (default: CPU, quiet logs).
    ORT's own exception propagates; callers turn it into their InputError code. A ModelProto
    with large weights shares them with the session (SHARE_WEIGHTS_BYTES)."""
    import onnxruntime as ort  # see the module docstring

    spec = spec or SessionSpec()
    providers = spec.provider_list()
    options = [dict(spec.provider_options.get(p, {})) for p in providers]
    opts = session_options(spec)
    shared = _shared_weights(model) if isinstance(model, onnx.ModelProto) else None
    if shared is None:
        return ort.InferenceSession(model_source(model), opts, providers=providers,
                                    provider_options=options)
    data, names, arrays = shared
    values = [ort.OrtValue.ortvalue_from_numpy(a) for a in arrays]
    opts.add_external_initializers(names, values)
    try:
        session = ort.InferenceSession(data, opts, providers=providers,
                                       provider_options=options)
    except Exception:  # noqa: BLE001 - any refusal: the plain bytes give ORT's own answer
        del data, values, arrays
        return ort.InferenceSession(model_source(model), session_options(spec),
                                    providers=providers, provider_options=options)
    session.preflight_shared_weights = values  # ORT uses their buffers: keep them alive
    return session


@dataclass
class FedSession:
    """A session whose large weights are graph inputs fed by `run` from arrays that ORT reads in
    place: ORT copies weights handed to it as initializers (add_external_initializers: one more
    copy of the weights per session, measured with benchmarks/bench_rewrite_external_memory.py),
    but never copies a contiguous CPU input. For a reference run that needs no graph
    optimization (a weight that is an input is not a constant to fold or prepack); `session`
    is the plain session when the weights are small (nothing is fed then)."""

    session: Any
    weights: dict[str, Any]

    def run(self, names: Sequence[str] | None, feed: Mapping[str, Any]) -> list[Any]:
        return list(self.session.run(names, {**feed, **self.weights}))


def create_fed_session(model: onnx.ModelProto, spec: SessionSpec | None = None) -> FedSession:
    """create_session for a ModelProto whose large main-graph weights (SHARE_WEIGHTS_BYTES in
    all) become graph inputs fed from arrays over their bytes (FedSession)."""
    import onnxruntime as ort  # see the module docstring

    light, big = weightless_copy(model, _SHARED_TENSOR_BYTES, _SHAREABLE)
    names = {t.name for t in big}
    small = sum(tensor_bytes(t) for t in big) < SHARE_WEIGHTS_BYTES and not has_deferred(model)
    if (small or model.ir_version < 4
            or any(i.name in names for i in model.graph.input)):  # overridable: ORT's own way
        return FedSession(create_session(model, spec), {})
    keep = [t for t in light.graph.initializer if t.name not in names]
    del light.graph.initializer[:]
    light.graph.initializer.extend(keep)
    light.graph.input.extend(onnx.helper.make_tensor_value_info(t.name, t.data_type,
                                                                list(t.dims)) for t in big)
    spec = spec or SessionSpec()
    providers = spec.provider_list()
    options = [dict(spec.provider_options.get(p, {})) for p in providers]
    session = ort.InferenceSession(light.SerializeToString(), session_options(spec),
                                   providers=providers, provider_options=options)
    del light
    return FedSession(session, {t.name: _array(t) for t in big})


def first_line(exc: BaseException) -> str:
    """The first line of an ORT error (they run to pages), cut at 300 characters."""
    return (str(exc).strip().splitlines() or [""])[0][:300]


# --------------------------------------------------------------------------------------------
# Provider names


def available_providers() -> list[str]:
    import onnxruntime as ort  # see the module docstring

    return list(ort.get_available_providers())


def resolve_provider(name: str, *, available: bool = True, flag: str = "--providers") -> str:
    """'cuda' -> 'CUDAExecutionProvider'. An unknown name is a USAGE error; with `available`, a
    provider this onnxruntime build lacks is PROVIDER_UNAVAILABLE."""
    return resolve_providers([name], available=available, flag=flag)[0]


def resolve_providers(names: Sequence[str], *, available: bool = True,
                      flag: str = "--providers") -> list[str]:
    """Full provider names for `names`, in order; the errors of `resolve_provider`."""
    try:
        full = [normalize_provider(n) for n in names]
    except ValueError as exc:
        raise InputError(None, USAGE, f"{flag}: {exc}") from None
    if available:
        have = available_providers()
        missing = [p for p in full if p not in have]
        if missing:
            raise InputError(None, PROVIDER_UNAVAILABLE,
                             f"{', '.join(missing)} not available in this onnxruntime build "
                             f"(available: {', '.join(have)})")
    return full


# --------------------------------------------------------------------------------------------
# In a child process

#: what the load check and the CLI's session guard create in the child
CHILD_SPEC = SessionSpec(providers=(CPU,), cpu_fallback=False, intra_op_threads=1)


def _timed_create(model: str | bytes, spec: SessionSpec) -> float:
    """In the child: create the session; the milliseconds it took."""
    start = time.perf_counter()
    create_session(model, spec)
    return (time.perf_counter() - start) * 1000.0


def check_loads_in_child(
    path: str | os.PathLike[str] | onnx.ModelProto,
    providers: Sequence[str] = (CPU,),
    *,
    spec: SessionSpec | None = None,
    time_limit: float = DEFAULT_TIME_LIMIT,
    memory_limit_mb: int | None = DEFAULT_MEMORY_LIMIT_MB,
) -> IsolationResult:
    """Create a session for the model at `path` in an isolated child (analyzer.isolation), so
    a crash, hang or memory blow-up in ORT becomes a result; on success the value is the
    creation time in ms. `spec` overrides `providers` (default: CHILD_SPEC on `providers`). An
    in-memory ModelProto is sent to the child serialized."""
    if spec is None:
        spec = SessionSpec(providers=tuple(providers), cpu_fallback=False,
                           intra_op_threads=CHILD_SPEC.intra_op_threads)
    model = path.SerializeToString() if isinstance(path, onnx.ModelProto) else str(Path(path))
    return run_isolated(_timed_create, model, spec, time_limit=time_limit,
                        memory_limit_mb=memory_limit_mb)


#: limits of `guard_session_creation` (verify / bench `isolate`): a real model's session, not
#: the load check's quick try
GUARD_TIME_LIMIT = 300.0
GUARD_MEMORY_LIMIT_MB = 16384


def guard_session_creation(model: str | os.PathLike[str] | onnx.ModelProto, *,
                           time_limit: float = GUARD_TIME_LIMIT,
                           memory_limit_mb: int = GUARD_MEMORY_LIMIT_MB) -> None:
    """Create `model`'s session in an isolated child first (verify's and bench's `isolate`):
    raise ORT_SESSION_CRASHED when onnxruntime crashes, hangs or runs out of memory there, so
    this process never creates a session that would end it. A model that merely fails to load
    is left to the caller's own session, which says why in its own words."""
    if time_limit <= 0 or memory_limit_mb <= 0:
        raise InputError(None, USAGE, "the isolation time and memory limits must be positive")
    where = None if isinstance(model, onnx.ModelProto) else model
    result = check_loads_in_child(model, time_limit=time_limit, memory_limit_mb=memory_limit_mb)
    if result.status == "crashed":
        what = f"signal {result.signal}" if result.signal is not None else result.message
        raise InputError(where, ORT_SESSION_CRASHED,
                         f"onnxruntime crashed creating a session for this model: {what}")
    if result.status == "timed_out":
        raise InputError(where, ORT_SESSION_CRASHED, "onnxruntime did not finish creating a "
                         f"session within {time_limit:.0f} s (raise the time limit)")
    # under a low address-space limit the child cannot even map onnxruntime's library
    starved = result.status == "raised" and result.error_type in ("ImportError", "MemoryError")
    if result.status == "out_of_memory" or starved:
        raise InputError(where, ORT_SESSION_CRASHED, "onnxruntime ran out of memory creating a "
                         f"session (over {memory_limit_mb} MB; raise the memory limit)")


def load_check_finding(result: IsolationResult) -> Finding:
    """EP310 (error) when the session could not be created, EP311 (info) when it could."""
    if result.ok:
        return Finding(EP311.id, "info",
                       f"onnxruntime created a session ({float(result.value):.0f} ms)")
    if result.status == "crashed":
        what = f"crashed creating a session for this model: signal {result.signal}"
        if result.signal is None:
            what = f"crashed creating a session for this model: {result.message}"
    elif result.status == "timed_out":
        what = f"timed out creating a session for this model (after {result.seconds:.0f} s)"
    elif result.status == "out_of_memory":
        what = "ran out of memory creating a session for this model (raise --memory-limit)"
    else:
        what = f"failed to create a session for this model: {result.error_type}: " \
               f"{result.message}"
    return Finding(EP310.id, "error", f"onnxruntime {what}")
