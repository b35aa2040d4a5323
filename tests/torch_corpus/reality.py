"""What the real torch.onnx exporters do with the corpus models (tests/torch_corpus/models.py).

`export_outcome` exports one corpus model with one exporter at one opset, in a child process with
a time limit (exports can hang or crash the interpreter), and returns an `ExportOutcome`: whether
a file was written, the default-domain opset it really carries, an error class, the unsupported
ops the error names, whether `onnx.checker` accepts it and whether an onnxruntime CPU session
loads it, plus the warnings and log records raised on the way (TracerWarnings with the
``filename:lineno`` they point at; the dynamo exporter's version-converter messages).
`run_all` runs a matrix of them, ``jobs`` at a time, and caches the outcomes in a JSON file under
``.pytest_cache/onnx-preflight-reality/``, keyed by the torch, onnx, onnxscript and onnxruntime
versions and a hash of this file and of models.py.

Each export runs in a child forked from a worker process (``python -m tests.torch_corpus.reality
--serve``, ``jobs`` of them) that has imported torch, onnx, onnxscript, onnxruntime and the corpus
and made one warm-up export with each exporter, with one intra-op thread (so no OpenMP pool exists
to break the fork). Every child thus starts from the same warm state: a dynamo export takes about
0.7 s instead of 1.9 s in a cold process. The child's stdout and stderr go to a log file; it is
killed when it runs past its limit ("timeout") and reported "crashed" when it dies without a
result.

Error classes (``ExportOutcome.error_class``; None when ``ok``):

=========================== =======================================================================
``unsupported_op``          the exporter has no translation for an op at any opset (the names, as
                            ``namespace::op``, in ``unsupported_ops``): TorchScript
                            UnsupportedOperatorError / "Unsupported: ONNX export of operator X",
                            dynamo DispatchError "No ONNX function found for <OpOverload(...)>"
``needs_opset``             TorchScript: the op has a translation from a higher opset only
                            (``needs_opset`` holds the one the message names)
``data_dependent``          torch.export could not guard on a data-dependent expression
                            (``if x.sum() > 0``, ``.item()`` routing)
``dynamic_shapes``          the requested dynamic dimensions conflict with what tracing inferred
``unsupported_io``          inputs or outputs the exporter cannot take: unregistered dataclass
                            outputs, keyword arguments for the TorchScript exporter
``torch_export_failed``     any other torch.export failure (dynamo step 1/3)
``conversion_failed``       any other failure translating to ONNX (dynamo steps 2-3/3; TorchScript
                            symbolic errors)
``trace_failed``            TorchScript: the model raised while being traced
``version_conversion_failed`` a model was written, but at another opset than requested (the dynamo
                            exporter logs "Failed to convert the model to the target version N
                            using the ONNX C API. The model was not modified" and keeps 18)
``timeout``, ``crashed``    the child ran past its time limit, or died without an answer
``other``                   anything else
=========================== =======================================================================

Export once, convert per opset (``run_all(..., shortcut=True)``, the default)
---------------------------------------------------------------------------

``torch.onnx.export(dynamo=True, opset_version=N)`` (torch 2.13, _compat.export_compat and
_core.export) builds the torchlib registry at ``max(N, 18)``, translates the graph, then calls
``onnxscript._framework_apis.torch_2_11.convert_version(model, N)`` (that is,
``onnxscript.version_converter.convert_version(model, N, fallback=True)``: onnxscript's own
converter for 18 <= N <= 25, the onnx C API converter below 18, which leaves the model unmodified,
at 18, when it fails), then ``optimize`` (onnxscript's optimizer and fusions), then saves.

For N <= 18 the registry is the same one (opset 18) and nothing before ``convert_version``
depends on N, so the shortcut makes one real ``torch.onnx.export(..., opset_version=max(Ns))``
call, during which it copies the model (``ir.Model.clone()``) at the exporter's own
``convert_version`` call; for each other N it converts a fresh clone with that same call, runs
``ONNXProgram.optimize()``, renames dynamic axes as export_compat does, and saves with
``ONNXProgram.save(external_data=True)``. For N > 18 the registry differs (torchlib picks other
implementations: ``aten.gelu`` becomes the opset-20 ``Gelu`` op at 20, a decomposition at 18),
so opsets above 18 are always exported directly.

The naive shortcut, exporting at 18 and converting that result, is NOT equivalent: the exporter's
no-op ``convert_version(model, 18)`` runs onnxscript's cleanup passes, which drop the dead
``Shape``/``GreaterOrEqual`` nodes that torch.export's runtime asserts leave behind, while a real
export at N < 18 still has them when the onnx C API converter runs, and that converter fails on
them ("No Adapter From Version $15 for Shape") and leaves the model at 18. Measured: the naive
way converted nonzero, bool_mask and unique at 11-14 where the real exporter stays at 18.

Verified with `verify_shortcut` on all 61 corpus models at 9, 11, 13, 14, 17 and 18 (366 pairs,
305 of them derived): ok, produced, delivered opset, error class and checker verdict agree on
all 366; of the 312 pairs that write a file, 276 are byte-identical (external data loaded) and
the other 36 differ only in node names (``node_Conv_8`` against ``node_Conv_0`` where conversion
failed). The full matrix (61 models, both exporters, 7 opsets) then agrees cell for cell with a
direct run (``run_all(..., shortcut=False)``) on every outcome field but the warnings; the
derived cells lack the direct export's opset-specific log records (the "Setting ONNX exporter to
use operator set version 18" notice). Wall time on 2 CPUs, jobs=2: 62 s with the shortcut, 178 s
without. tests/torch_corpus/test_corpus_exports.py re-checks a few pairs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import platform
import re
import selectors
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import onnx
import onnxruntime
import onnxscript
import torch

from tests.torch_corpus.models import BY_NAME, CORPUS, CorpusModel, torchscript_dynamic_axes

Exporter = Literal["dynamo", "torchscript"]
EXPORTERS: tuple[Exporter, ...] = ("dynamo", "torchscript")
OPSETS: tuple[int, ...] = (9, 11, 13, 14, 17, 18, 20)
#: the opset the dynamo exporter's torchlib is written for; below it, the registry stays at 18
TORCHLIB_OPSET = 18

REPO_ROOT = Path(__file__).resolve().parents[2]
CACHE_DIR = REPO_ROOT / ".pytest_cache" / "onnx-preflight-reality"
DEFAULT_TIMEOUT_S = 120.0
_MAX_WARNINGS = 40
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(frozen=True)
class WarningRecord:
    """A warning (``source="warnings"``) or a log record (``source="log:<logger>"``)."""

    source: str
    category: str
    message: str
    filename: str
    lineno: int

    @property
    def location(self) -> str:
        return f"{self.filename}:{self.lineno}"


@dataclass(frozen=True)
class ExportOutcome:
    model: str
    exporter: str
    opset: int
    #: a file was written and its default-domain opset is the one requested
    ok: bool
    produced: bool
    delivered_opset: int | None
    error_class: str | None
    #: the raised exception's class, and the class of the innermost exception it chains to
    error_type: str | None = None
    cause_type: str | None = None
    #: the first line of the most informative message (the innermost cause, ANSI codes removed)
    error_first_line: str | None = None
    #: the ops the error names, as ``namespace::op`` (for unsupported_op, needs_opset and
    #: conversion_failed)
    unsupported_ops: tuple[str, ...] = ()
    #: needs_opset: the opset from which the TorchScript exporter says it has the op
    needs_opset: int | None = None
    #: onnx.checker.check_model(path, full_check=True); None when no file was written
    onnx_checker_ok: bool | None = None
    checker_error: str | None = None
    #: an onnxruntime CPUExecutionProvider InferenceSession could be created
    ort_loads: bool | None = None
    ort_error: str | None = None
    #: the dynamo exporter's version converter logged that it failed (the model stays at 18)
    version_conversion_failed: bool = False
    version_conversion_error: str | None = None
    warnings: tuple[WarningRecord, ...] = ()
    seconds: float = 0.0
    #: "direct" (one torch.onnx.export call) or "export_once_convert" (see the module docstring)
    method: str = "direct"

    def tracer_warnings(self) -> tuple[WarningRecord, ...]:
        return tuple(w for w in self.warnings if w.category == "TracerWarning")

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ExportOutcome:
        data = dict(data)
        data["unsupported_ops"] = tuple(data.get("unsupported_ops", ()))
        data["warnings"] = tuple(WarningRecord(**w) for w in data.get("warnings", ()))
        return cls(**data)


# --------------------------------------------------------------------------------------------
# Inside the child process
# --------------------------------------------------------------------------------------------


class _Capture:
    """Warnings and WARNING-level log records raised while it is active."""

    def __init__(self) -> None:
        self.records: list[WarningRecord] = []
        self.log_exc: list[str] = []
        self._seen: set[tuple[str, str, str, int]] = set()

    def add(self, rec: WarningRecord) -> None:
        """Keep each distinct record once; at most _MAX_WARNINGS of each category."""
        key = (rec.category, rec.message, rec.filename, rec.lineno)
        if key in self._seen:
            return
        self._seen.add(key)
        if sum(r.category == rec.category for r in self.records) < _MAX_WARNINGS:
            self.records.append(rec)

    @contextmanager
    def active(self) -> Iterator[_Capture]:
        capture = self
        seen_ids: set[int] = set()

        class Handler(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                if id(record) in seen_ids:
                    return
                seen_ids.add(id(record))
                capture.add(
                    WarningRecord(
                        source=f"log:{record.name}",
                        category=record.levelname,
                        message=_first_line(record.getMessage()),
                        filename=record.pathname,
                        lineno=record.lineno,
                    )
                )
                if record.exc_info and record.exc_info[1] is not None:
                    exc = record.exc_info[1]
                    capture.log_exc.append(f"{type(exc).__name__}: {_first_line(str(exc))}")

        handler = Handler(level=logging.WARNING)
        loggers = [logging.getLogger(), logging.getLogger("torch"), logging.getLogger("onnxscript")]
        for lg in loggers:
            lg.addHandler(handler)
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    yield self
                finally:
                    for w in caught:
                        self.add(
                            WarningRecord(
                                source="warnings",
                                category=w.category.__name__,
                                message=_first_line(str(w.message)),
                                filename=w.filename,
                                lineno=w.lineno,
                            )
                        )
        finally:
            for lg in loggers:
                lg.removeHandler(handler)


def _first_line(text: str) -> str:
    for line in _ANSI.sub("", text).splitlines():
        if line.strip():
            return line.strip()[:500]
    return ""


def _exception_chain(exc: BaseException) -> list[BaseException]:
    chain = [exc]
    while (nxt := chain[-1].__cause__ or chain[-1].__context__) is not None and nxt not in chain:
        chain.append(nxt)
    return chain


_NEEDS_OPSET = re.compile(r"added in version (\d+)|Please try opset version (\d+)")
_OPS_PATTERNS = (
    re.compile(r"OpOverload\(op='([\w.]+)'"),  # dynamo DispatchError
    re.compile(r"the operator '([\w:.]+)'"),  # TorchScript UnsupportedOperatorError
    re.compile(r"unrecognized namespace ([\w:.]+?)\.?\s"),  # TorchScript custom op
    re.compile(r"ONNX export of (?:operator )?(\w+)"),  # TorchScript SymbolicValueError
    re.compile(r"Occurred when translating (\w+)"),  # TorchScript symbolic function raised
    re.compile(r"target=torch\.ops\.([\w.]+)"),  # dynamo "Error when translating node"
)


def _op_name(raw: str) -> str:
    """``aten.linalg_inv_ex`` / ``aten::linalg_inv_ex`` / ``index_put`` as ``ns::op``."""
    if "::" in raw:
        return raw
    if "." in raw:
        ns, _, rest = raw.partition(".")
        return f"{ns}::{rest.split('.')[0]}"
    return f"aten::{raw}"


def _raised_in_exporter(exc: BaseException) -> bool:
    """The innermost frame of the traceback is in torch.onnx (not in the model's code)."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and f"{os.sep}torch{os.sep}onnx{os.sep}" in tb.tb_frame.f_code.co_filename


def _classify(exporter: str, exc: BaseException) -> dict[str, Any]:
    chain = _exception_chain(exc)
    texts = [_ANSI.sub("", str(e)) for e in chain]
    full = "\n".join(texts)
    names = [type(e).__name__ for e in chain]
    root = chain[-1]
    ops: list[str] = []
    for pattern in _OPS_PATTERNS:
        for m in pattern.finditer(full):
            name = _op_name(m.group(1))
            if name not in ops:
                ops.append(name)
    needs = None
    if m2 := _NEEDS_OPSET.search(full):
        needs = int(m2.group(1) or m2.group(2))

    first = _first_line(str(root)) or _first_line(str(exc))
    first = first.split("  [Caused by the value")[0].strip()
    klass: str
    if exporter == "dynamo":
        if "DispatchError" in names or "No ONNX function found" in full:
            klass = "unsupported_op"
        elif "GuardOnDataDependentSymNode" in names or "data-dependent" in full:
            klass = "data_dependent"
            ops = []
        elif "user-specified ranges" in full or "Constraints violated" in full:
            klass = "dynamic_shapes"
            ops = []
        elif "register a pytree" in full or "not a known type" in full:
            klass = "unsupported_io"
            ops = []
        elif "TorchExportError" in names:
            klass = "torch_export_failed"
            ops = []
        elif "ConversionError" in names:
            klass = "conversion_failed"
        else:
            klass = "other"
    else:
        onnx_error = isinstance(exc, torch.onnx.errors.OnnxExporterError)
        if needs is not None and onnx_error:
            klass = "needs_opset"
        elif "UnsupportedOperatorError" in names or (onnx_error and "Unsupported: ONNX" in full):
            klass = "unsupported_op"
        elif "supported as JIT inputs/outputs" in full or re.search(
            r"takes \d+ positional arguments? but \d+ were given|unexpected keyword argument", full
        ):
            klass = "unsupported_io"
            ops = []
        elif onnx_error or "Occurred when translating" in full or _raised_in_exporter(root):
            klass = "conversion_failed"
        else:
            klass = "trace_failed"
            ops = []
    if klass not in ("unsupported_op", "needs_opset", "conversion_failed"):
        ops = []
    return {
        "error_class": klass,
        "error_type": f"{type(exc).__module__}.{type(exc).__qualname__}",
        "cause_type": f"{type(root).__module__}.{type(root).__qualname__}",
        "error_first_line": first,
        "unsupported_ops": ops,
        "needs_opset": needs if klass == "needs_opset" else None,
    }


def _inspect_file(path: Path) -> dict[str, Any]:
    """Delivered opset, checker and onnxruntime verdicts of an exported file."""
    proto = onnx.load(str(path), load_external_data=False)
    delivered = next((i.version for i in proto.opset_import if i.domain in ("", "ai.onnx")), None)
    out: dict[str, Any] = {"produced": True, "delivered_opset": delivered}
    try:
        onnx.checker.check_model(str(path), full_check=True)
        out["onnx_checker_ok"], out["checker_error"] = True, None
    except Exception as e:  # noqa: BLE001 - any checker failure is a verdict
        out["onnx_checker_ok"], out["checker_error"] = False, _first_line(str(e))
    try:
        opts = onnxruntime.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.log_severity_level = 3
        onnxruntime.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        out["ort_loads"], out["ort_error"] = True, None
    except Exception as e:  # noqa: BLE001
        out["ort_loads"], out["ort_error"] = False, _first_line(str(e))
    return out


def _finish(
    model: str,
    exporter: str,
    opset: int,
    method: str,
    path: Path | None,
    exc: BaseException | None,
    capture: _Capture,
    seconds: float,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "model": model,
        "exporter": exporter,
        "opset": opset,
        "method": method,
        "seconds": round(seconds, 3),
        "produced": False,
        "delivered_opset": None,
        "error_class": None,
    }
    marker = "Failed to convert the model to the target"
    conv_failed = any(marker in w.message for w in capture.records)
    out["version_conversion_failed"] = conv_failed
    out["version_conversion_error"] = (
        capture.log_exc[0] if conv_failed and capture.log_exc else None
    )
    if path is not None and path.exists():
        out.update(_inspect_file(path))
    if exc is not None:
        out.update(_classify(exporter, exc))
    out["ok"] = bool(out["produced"] and out["delivered_opset"] == opset and exc is None)
    if not out["ok"] and out["error_class"] is None:
        out["error_class"] = "version_conversion_failed" if out["produced"] else "other"
        if out["produced"]:
            why = out["version_conversion_error"]
            out["error_first_line"] = (
                f"requested opset {opset}, the file carries opset {out['delivered_opset']}"
                + (f" ({why})" if why else "")
            )
    out["warnings"] = [dataclasses.asdict(w) for w in capture.records]
    return out


def _export_direct(
    model: CorpusModel, exporter: str, opset: int, out_dir: Path, method: str = "direct"
) -> dict[str, Any]:
    module, args, kwargs = model.build()
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "model.onnx"
    capture = _Capture()
    exc: BaseException | None = None
    start = time.perf_counter()
    with capture.active():
        try:
            if exporter == "dynamo":
                torch.onnx.export(
                    module,
                    args,
                    str(path),
                    kwargs=kwargs,
                    dynamo=True,
                    opset_version=opset,
                    dynamic_shapes=model.dynamic_shapes,
                    verbose=False,
                )
            else:
                input_names, dynamic_axes = torchscript_dynamic_axes(model.dynamic_shapes)
                torch.onnx.export(
                    module,
                    args,
                    str(path),
                    kwargs=kwargs,
                    dynamo=False,
                    opset_version=opset,
                    input_names=input_names,
                    dynamic_axes=dynamic_axes,
                )
        except Exception as e:  # noqa: BLE001 - every exporter failure is an outcome
            exc = e
    seconds = time.perf_counter() - start
    out = _finish(model.name, exporter, opset, method, path, exc, capture, seconds)
    out["_records"] = capture.records
    out["_exc"] = exc
    return out


class _ConversionRecorder:
    """Stands in for the exporter's ``onnxscript_apis`` module during one export and keeps a
    copy of the model as it is when the exporter calls ``convert_version``."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.pristine: Any = None
        self.failed = False
        self.seconds = 0.0
        self._start = time.perf_counter()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def convert_version(self, model: Any, target_version: int) -> Any:
        if self.pristine is None and not self.failed:
            try:
                self.pristine = model.clone()
            except Exception:  # noqa: BLE001 - never let the copy change the export itself
                self.failed = True
            self.seconds = time.perf_counter() - self._start
        return self.real.convert_version(model, target_version)


@contextmanager
def _recording_conversion() -> Iterator[_ConversionRecorder | None]:
    from torch.onnx._internal.exporter import _core

    real = getattr(_core, "onnxscript_apis", None)
    if real is None or not hasattr(real, "convert_version"):
        yield None
        return
    recorder = _ConversionRecorder(real)
    _core.onnxscript_apis = recorder  # type: ignore[assignment]
    try:
        yield recorder
    finally:
        _core.onnxscript_apis = real


def _opset_specific(rec: WarningRecord) -> bool:
    """Records of the conversion step, or that name the requested opset."""
    return rec.source.startswith("log:onnxscript") or "requested opset_version" in rec.message


def _export_once_convert(
    model: CorpusModel, opsets: Sequence[int], out_dir: Path
) -> list[dict[str, Any]]:
    """The dynamo exporter at each opset <= 18 from one export (see the module docstring).

    The highest opset is a real ``torch.onnx.export`` call, during which the model is copied
    just before the exporter's ``convert_version`` call; each other opset converts, optimizes
    and saves a copy of that with the exporter's own calls.
    """
    from onnxscript._framework_apis import torch_2_11 as onnxscript_apis
    from torch.onnx import ONNXProgram
    from torch.onnx._internal.exporter import _dynamic_shapes

    if any(n > TORCHLIB_OPSET for n in opsets):
        raise ValueError(f"opsets above {TORCHLIB_OPSET} need a direct export: {opsets}")
    method = "export_once_convert"
    first = max(opsets)
    _, rename_axes = _dynamic_shapes.convert_str_to_export_dim(model.dynamic_shapes)
    with _recording_conversion() as recorder:
        head = _export_direct(model, "dynamo", first, out_dir / f"opset{first}", method)
    records: list[WarningRecord] = head.pop("_records")
    exc: BaseException | None = head.pop("_exc")
    results: dict[int, dict[str, Any]] = {first: head}
    shared = [rec for rec in records if not _opset_specific(rec)]
    for opset in opsets:
        if opset == first:
            continue
        if recorder is None or (recorder.pristine is None and exc is None):
            # no hook into the exporter (another torch version), or no copy: export directly
            row = _export_direct(model, "dynamo", opset, out_dir / f"opset{opset}")
            row.pop("_records"), row.pop("_exc")
            results[opset] = row
            continue
        capture = _Capture()
        for rec in shared:
            capture.add(rec)
        path: Path | None = None
        err = exc if recorder.pristine is None else None
        start = time.perf_counter()
        if recorder.pristine is not None:
            path = out_dir / f"opset{opset}" / "model.onnx"
            path.parent.mkdir(parents=True, exist_ok=True)
            with capture.active():
                try:
                    program = ONNXProgram(recorder.pristine.clone(), None)
                    program.model = onnxscript_apis.convert_version(program.model, opset)
                    program.optimize()
                    if rename_axes and model.dynamic_shapes is not None:  # as export_compat does
                        program._rename_dynamic_axes(model.dynamic_shapes)
                    program.save(path, external_data=True)
                except Exception as e:  # noqa: BLE001
                    err = e
        seconds = recorder.seconds + time.perf_counter() - start
        results[opset] = _finish(model.name, "dynamo", opset, method, path, err, capture, seconds)
    return [results[n] for n in opsets]


@dataclass(frozen=True)
class _Task:
    kind: Literal["direct", "shortcut", "verify"]
    model: str
    exporter: str
    opsets: tuple[int, ...]
    out_dir: str
    timeout_s: float

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, line: str) -> _Task:
        data = json.loads(line)
        data["opsets"] = tuple(data["opsets"])
        return cls(**data)


def _run_task(task: _Task) -> list[dict[str, Any]]:
    model = BY_NAME[task.model]
    out_dir = Path(task.out_dir)
    if task.kind == "direct":
        row = _export_direct(model, task.exporter, task.opsets[0], out_dir)
        row.pop("_records"), row.pop("_exc")
        return [row]
    if task.kind == "shortcut":
        return _export_once_convert(model, task.opsets, out_dir / "shortcut")
    # verify: both ways, then compare what they wrote
    checks = []
    shortcut = _export_once_convert(model, task.opsets, out_dir / "shortcut")
    for opset, via in zip(task.opsets, shortcut, strict=True):
        direct_dir = out_dir / f"direct{opset}"
        direct = _export_direct(model, "dynamo", opset, direct_dir)
        direct.pop("_records"), direct.pop("_exc")
        a_path = direct_dir / "model.onnx"
        b_path = out_dir / "shortcut" / f"opset{opset}" / "model.onnx"
        a, b = _canonical(a_path), _canonical(b_path)
        a_anon, b_anon = _canonical(a_path, node_names=False), _canonical(b_path, node_names=False)
        same_outcome = all(
            direct.get(k) == via.get(k)
            for k in ("ok", "produced", "delivered_opset", "error_class", "onnx_checker_ok")
        )
        checks.append(
            {
                "model": model.name,
                "opset": opset,
                "same_bytes": a == b,
                "same_but_node_names": a_anon == b_anon,
                "produced": a is not None,
                "same_outcome": same_outcome,
                "direct": {k: direct.get(k) for k in ("ok", "delivered_opset", "error_class")},
                "shortcut": {k: via.get(k) for k in ("ok", "delivered_opset", "error_class")},
            }
        )
    return checks


def _canonical(path: Path, node_names: bool = True) -> bytes | None:
    """The file's ModelProto (external data loaded), serialized; None when there is no file."""
    if not path.exists():
        return None
    proto = onnx.load(str(path))
    if not node_names:
        graphs = [proto.graph]
        while graphs:
            graph = graphs.pop()
            for node in graph.node:
                node.name = ""
                graphs.extend(a.g for a in node.attribute if a.HasField("g"))
                for attr in node.attribute:
                    graphs.extend(attr.graphs)
        for function in proto.functions:
            for node in function.node:
                node.name = ""
    return proto.SerializeToString(deterministic=True)


# --------------------------------------------------------------------------------------------
# The worker: `python -m tests.torch_corpus.reality --serve`, one fork per task
# --------------------------------------------------------------------------------------------


def _serve() -> None:
    """Read tasks (JSON lines) on stdin; run each in a forked child; answer one line per task.

    This process imports everything once and never runs a torch op itself, so forking it is
    safe. The child writes its result to ``<out_dir>/result.json`` and its stdout and stderr to
    ``<out_dir>/child.log``; the answer line says how the child ended.
    """
    import onnx_ir  # noqa: F401 - imported here once rather than in every child
    import onnxscript.function_libs.torch_lib.ops  # noqa: F401
    import torch.onnx._internal.exporter._compat  # noqa: F401
    import torch.onnx._internal.exporter._core  # noqa: F401
    import torch.onnx._internal.torchscript_exporter.utils  # noqa: F401
    from onnxscript._framework_apis import torch_2_11  # noqa: F401

    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # stray prints must not reach the answer channel
    _warm_up()
    answers.write(json.dumps({"ready": True}) + "\n")
    answers.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        task = _Task.from_json(line)
        answers.write(json.dumps(_fork_and_wait(task)) + "\n")
        answers.flush()


def _warm_up() -> None:
    """One export with each exporter, so that children start warm (1.9 s -> 0.7 s a dynamo
    export on 2 CPUs). With one intra-op thread no OpenMP pool exists yet, so forking stays
    safe; every child starts from this same state."""
    torch.set_num_threads(1)
    module, args, _ = BY_NAME["mlp"].build()
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, args, f"{tmp}/d.onnx", dynamo=True, verbose=False)
        torch.onnx.export(module, args, f"{tmp}/t.onnx", dynamo=False, opset_version=17)


def _fork_and_wait(task: _Task) -> dict[str, Any]:
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:  # the child
        code = 1
        try:
            fd = os.open(os.path.join(task.out_dir, "child.log"), os.O_WRONLY | os.O_CREAT, 0o600)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            torch.set_num_threads(1)
            try:
                payload: Any = _run_task(task)
            except BaseException:  # noqa: BLE001 - reported to the parent
                payload = {"harness_error": traceback.format_exc()}
            Path(task.out_dir, "result.json").write_text(json.dumps(payload))
            code = 0
        finally:
            os._exit(code)
    deadline = start + task.timeout_s
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return {"status": "exited", "code": os.waitstatus_to_exitcode(status)}
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return {"status": "timeout"}
        time.sleep(0.02)


class _Worker:
    """One `_serve` process, started from the repository root."""

    def __init__(self, log_dir: Path) -> None:
        self.log = log_dir / f"worker-{id(self)}.log"
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(REPO_ROOT), *filter(None, [env.get("PYTHONPATH")])]
        )
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tests.torch_corpus.reality", "--serve"],
                cwd=REPO_ROOT,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
        self.ready = False
        self.task: tuple[int, _Task, float] | None = None

    def send(self, idx: int, task: _Task) -> None:
        assert self.proc.stdin is not None
        self.task = (idx, task, time.monotonic())
        self.proc.stdin.write(task.to_json() + "\n")
        self.proc.stdin.flush()

    def read(self) -> dict[str, Any] | None:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        return json.loads(line) if line else None

    def log_tail(self) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        lines = [line for line in text.splitlines() if line.strip()]
        return lines[-1][:300] if lines else ""

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()


def _failure(task: _Task, opset: int, klass: str, detail: str, seconds: float) -> dict[str, Any]:
    return {
        "model": task.model,
        "exporter": task.exporter,
        "opset": opset,
        "ok": False,
        "produced": False,
        "delivered_opset": None,
        "error_class": klass,
        "error_first_line": detail,
        "seconds": round(seconds, 3),
        "method": "export_once_convert" if task.kind == "shortcut" else "direct",
    }


def _collect(task: _Task, answer: dict[str, Any] | None, seconds: float) -> list[dict[str, Any]]:
    result = Path(task.out_dir, "result.json")
    if answer is not None and answer.get("status") == "timeout":
        msg = f"no answer within {task.timeout_s:.0f} s"
        return [_failure(task, n, "timeout", msg, seconds) for n in task.opsets]
    if result.exists():
        payload = json.loads(result.read_text())
        if isinstance(payload, list):
            return payload
        last = str(payload.get("harness_error", "")).strip().splitlines()[-1:]
        return [_failure(task, n, "other", "".join(last), seconds) for n in task.opsets]
    log = Path(task.out_dir, "child.log")
    text = log.read_text(errors="replace") if log.exists() else ""
    last = [line for line in text.splitlines() if line.strip()][-1:]
    code = answer.get("code") if answer else None
    detail = f"child exited with code {code}: {''.join(last)[:300]}"
    return [_failure(task, n, "crashed", detail, seconds) for n in task.opsets]


def _run_tasks(
    tasks: Sequence[_Task], jobs: int, progress: bool = False
) -> list[list[dict[str, Any]]]:
    """Run tasks in `_serve` workers, ``jobs`` at a time; results in task order."""
    results: list[list[dict[str, Any]] | None] = [None] * len(tasks)
    pending = list(enumerate(tasks))[::-1]
    done = shown = 0
    with tempfile.TemporaryDirectory(prefix="reality-workers-") as logs:
        workers = [_Worker(Path(logs)) for _ in range(max(1, min(jobs, len(tasks))))]
        sel = selectors.DefaultSelector()
        for w in workers:
            assert w.proc.stdout is not None
            sel.register(w.proc.stdout, selectors.EVENT_READ, w)

        def replace(dead: _Worker) -> None:
            """Swap a dead or killed worker for a fresh one."""
            assert dead.proc.stdout is not None
            sel.unregister(dead.proc.stdout)
            dead.close()
            workers.remove(dead)
            fresh = _Worker(Path(logs))
            assert fresh.proc.stdout is not None
            sel.register(fresh.proc.stdout, selectors.EVENT_READ, fresh)
            workers.append(fresh)

        try:
            while done < len(tasks):
                for w in workers:
                    if w.ready and w.task is None and pending:
                        w.send(*pending.pop())
                events = sel.select(timeout=5.0)
                now = time.monotonic()
                for key, _ in events:
                    w = key.data
                    answer = w.read()
                    if answer is not None and answer.get("ready"):
                        w.ready = True
                        continue
                    if w.task is None:  # the worker died before taking a task
                        raise RuntimeError(f"export worker failed to start: {w.log_tail()}")
                    idx, task, start = w.task
                    results[idx] = _collect(task, answer, now - start)
                    w.task = None
                    done += 1
                    if answer is None:  # the worker itself died: replace it
                        replace(w)
                for w in list(workers):  # a worker that does not enforce the limit itself
                    if w.task is not None and now - w.task[2] > w.task[1].timeout_s + 60:
                        idx, task, start = w.task
                        results[idx] = _collect(task, {"status": "timeout"}, now - start)
                        done += 1
                        w.proc.kill()
                        replace(w)
                if progress and done != shown:
                    shown = done
                    print(f"\r  {done}/{len(tasks)} export tasks", end="", file=sys.stderr)
        finally:
            sel.close()
            for w in workers:
                w.close()
    if progress:
        print(file=sys.stderr)
    return [r if r is not None else [] for r in results]


def _check_model(model: CorpusModel) -> str:
    if BY_NAME.get(model.name) is not model:
        raise ValueError(f"{model.name!r} is not a model of tests.torch_corpus.models.CORPUS")
    return model.name


def export_outcome(
    model: CorpusModel,
    exporter: Exporter,
    opset: int,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> ExportOutcome:
    """Export ``model`` once, for real, in a child process, and say what happened."""
    (outcome,) = export_outcomes([(model, exporter, opset)], jobs=1, timeout_s=timeout_s)
    return outcome


def export_outcomes(
    cases: Iterable[tuple[CorpusModel, Exporter, int]],
    jobs: int = 2,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> list[ExportOutcome]:
    """`export_outcome` for each case, ``jobs`` at a time, each a direct export; no cache."""
    cases = list(cases)
    for _, exporter, _ in cases:
        if exporter not in EXPORTERS:
            raise ValueError(f"exporter must be one of {EXPORTERS}, not {exporter!r}")
    with tempfile.TemporaryDirectory(prefix="reality-") as tmp:
        tasks = []
        for i, (model, exporter, opset) in enumerate(cases):
            out = Path(tmp, str(i))
            out.mkdir()
            tasks.append(
                _Task("direct", _check_model(model), exporter, (opset,), str(out), timeout_s)
            )
        rows = _run_tasks(tasks, jobs=jobs)
    return [ExportOutcome.from_json(r[0]) for r in rows]


@dataclass(frozen=True)
class ShortcutCheck:
    model: str
    opset: int
    #: the two files are byte-identical (after loading external data), or neither exists
    same_bytes: bool
    #: they are identical once node names are cleared (the shortcut may number nodes otherwise)
    same_but_node_names: bool
    #: ok, produced, delivered opset, error class and checker verdict agree
    same_outcome: bool
    produced: bool = False
    direct: dict[str, Any] = field(default_factory=dict)
    shortcut: dict[str, Any] = field(default_factory=dict)


def verify_shortcut(
    pairs: Iterable[tuple[CorpusModel, int]],
    jobs: int = 2,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> list[ShortcutCheck]:
    """Export each (model, opset <= 18) directly and via export-once-convert; compare."""
    by_model: dict[str, list[int]] = {}
    for model, opset in pairs:
        if opset > TORCHLIB_OPSET:
            raise ValueError(f"the shortcut is for opsets <= {TORCHLIB_OPSET}, not {opset}")
        by_model.setdefault(_check_model(model), []).append(opset)
    with tempfile.TemporaryDirectory(prefix="reality-verify-") as tmp:
        tasks = []
        for i, (name, opsets) in enumerate(by_model.items()):
            out = Path(tmp, str(i))
            out.mkdir()
            limit = timeout_s * (len(opsets) + 1)
            tasks.append(_Task("verify", name, "dynamo", tuple(opsets), str(out), limit))
        raw = _run_tasks(tasks, jobs=jobs)
    checks: list[ShortcutCheck] = []
    for task, rows in zip(tasks, raw, strict=True):
        for opset, row in zip(task.opsets, rows, strict=False):
            if "same_bytes" in row:
                checks.append(ShortcutCheck(**row))
            else:  # the child failed: not shown equivalent
                checks.append(ShortcutCheck(task.model, opset, False, False, False, False, {}, row))
    return checks


# --------------------------------------------------------------------------------------------
# The matrix, with a cache
# --------------------------------------------------------------------------------------------


def cache_key() -> dict[str, str]:
    """What the cached outcomes depend on."""
    here = Path(__file__).resolve().parent
    sources = hashlib.sha256()
    for name in ("models.py", "reality.py"):
        sources.update((here / name).read_bytes())
    return {
        "torch": torch.__version__,
        "onnx": onnx.__version__,
        "onnxscript": onnxscript.__version__,
        "onnxruntime": onnxruntime.__version__,
        "python": platform.python_version(),
        "sources": sources.hexdigest()[:16],
    }


def cache_path() -> Path:
    digest = hashlib.sha256(json.dumps(cache_key(), sort_keys=True).encode()).hexdigest()[:16]
    return CACHE_DIR / f"reality-{digest}.json"


def _load_cache(path: Path) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data.get("outcomes", {}) if isinstance(data, dict) else {}


def _save_cache(path: Path, outcomes: dict[str, dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"key": cache_key(), "outcomes": outcomes}, indent=1))
    os.replace(tmp, path)


def _cache_id(model: str, exporter: str, opset: int) -> str:
    return f"{model}|{exporter}|{opset}"


def run_all(
    models: Sequence[CorpusModel] = CORPUS,
    exporters: Sequence[Exporter] = EXPORTERS,
    opsets: Sequence[int] = OPSETS,
    jobs: int = 2,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    shortcut: bool = True,
    use_cache: bool = True,
    progress: bool = False,
) -> list[ExportOutcome]:
    """Every (model, exporter, opset) outcome, in that order; cached unless ``use_cache=False``.

    With ``shortcut``, the dynamo exporter's opsets <= 18 of a model come from one export
    (export-once-convert, verified equivalent: see the module docstring); a cached outcome is
    reused only if it was made the same way.
    """
    path = cache_path()
    cached = _load_cache(path) if use_cache else {}
    wanted = [(m, e, n) for m in models for e in exporters for n in opsets]

    def method(exporter: str, opset: int) -> str:
        low = shortcut and exporter == "dynamo" and opset <= TORCHLIB_OPSET
        return "export_once_convert" if low else "direct"

    def usable(entry: dict[str, Any] | None, exporter: str, opset: int) -> bool:
        # a direct outcome is the ground truth; a derived one only serves the shortcut
        return entry is not None and entry.get("method") in ("direct", method(exporter, opset))

    missing = [
        (m, e, n) for m, e, n in wanted if not usable(cached.get(_cache_id(m.name, e, n)), e, n)
    ]
    if missing:
        with tempfile.TemporaryDirectory(prefix="reality-") as tmp:
            tasks: list[_Task] = []
            grouped: dict[str, list[int]] = {}

            def add(
                kind: Literal["direct", "shortcut"], model: str, exporter: str, ns: Any
            ) -> None:
                out = Path(tmp, str(len(tasks)))
                out.mkdir()
                limit = timeout_s * len(ns)
                tasks.append(_Task(kind, model, exporter, tuple(ns), str(out), limit))

            for m, e, n in missing:
                if method(e, n) == "export_once_convert":
                    grouped.setdefault(_check_model(m), []).append(n)
                else:
                    add("direct", _check_model(m), e, (n,))
            for name, low in grouped.items():
                add("shortcut", name, "dynamo", low)
            # the long tasks first, so that the workers finish together
            tasks.sort(key=lambda t: t.kind != "shortcut")
            for rows in _run_tasks(tasks, jobs=jobs, progress=progress):
                for row in rows:
                    cached[_cache_id(row["model"], row["exporter"], row["opset"])] = row
        if use_cache:
            fresh = _load_cache(path)  # another process may have added entries meanwhile
            fresh.update(cached)
            _save_cache(path, fresh)
    return [ExportOutcome.from_json(cached[_cache_id(m.name, e, n)]) for m, e, n in wanted]


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        _serve()
    else:
        sys.exit("usage: python -m tests.torch_corpus.reality --serve (the harness's worker)")
