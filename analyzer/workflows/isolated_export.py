"""Run the real torch.onnx.export in a child process with a time and a memory limit.

Exporters run the model's forward, the tracer and the translator, and ONNX's C++ checker over
what they build; any of these can segfault, hang or allocate without bound on an unusual model.
In a child (analyzer.isolation) such an ending becomes finding EXP109 and the rest of the report
(the pre-flight) still comes out, instead of the process dying with it.

A module named by `package.module:factory` is rebuilt in the child from the spec (factory,
--input, --weights), so nothing needs pickling; a module given as an object is pickled to the
child, and when it cannot be pickled the export runs in this process as before.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analyzer.finding_ids import EXP109
from analyzer.findings import Finding, Fix
from analyzer.isolation import IsolationResult, run_isolated
from analyzer.sources.torch_exporter import run_export
from analyzer.sources.torch_spec import load_torch_source
from rewrites.torch.export import export_with_rules, plan

#: Exports of large models take minutes; the limit is for a hang, not a slow export.
DEFAULT_EXPORT_TIME_LIMIT = 900.0
#: torch alone maps ~2 GB of address space; the dynamo exporter several more on real models.
DEFAULT_EXPORT_MEMORY_LIMIT_MB = 32768


@dataclass(frozen=True)
class ExportIsolation:
    """How to isolate one export: where the module comes from, and the child's limits."""

    spec: str | None = None
    inputs: tuple[str, ...] = ()
    weights: str | None = None
    time_limit: float = DEFAULT_EXPORT_TIME_LIMIT
    memory_limit_mb: int | None = DEFAULT_EXPORT_MEMORY_LIMIT_MB

    def run(self, module: Any, args: tuple[Any, ...], kwargs: dict[str, Any] | None,
            path: Path, opset: int, exporter: str, dynamic_shapes: Any) -> Finding | None:
        """Export into `path` in a child; None when it wrote the file, else the finding."""
        source: tuple[Any, ...]
        if self.spec is not None:
            source = ("spec", self.spec, self.inputs, self.weights)
        else:
            source = ("objects", module, args)
            try:
                pickle.dumps((source, kwargs, dynamic_shapes))
            except Exception:  # noqa: BLE001 - unpicklable: no child can receive it
                return run_export(module, args, kwargs, path, opset, exporter, dynamic_shapes)
        result = run_isolated(_export_in_child, source, kwargs, str(path), opset, exporter,
                              dynamic_shapes, time_limit=self.time_limit,
                              memory_limit_mb=self.memory_limit_mb)
        if result.ok:
            value: Finding | None = result.value
            return value
        return crash_finding(result, exporter, opset)


IN_PROCESS = object()  # run_with_rules: the module cannot be sent to a child


def run_with_rules(isolation: ExportIsolation, module: Any, args: tuple[Any, ...],
                   kwargs: dict[str, Any] | None, path: Path, opset: int, exporter: str,
                   dynamic_shapes: Any, ops: Any, rules: Any, rewrite: Any) -> Any:
    """The `--rewrite` export in a child. The module itself is pickled to the child (not
    rebuilt from the spec: the file is verified against this process's module afterwards, so
    the weights must be the same ones); the child plans the same source rules from the same
    captured ops (`plan` is deterministic), applies them around the export and lowers, and
    `rewrite` (the parent's SourceRewrite) receives the ids applied and the lowering. The
    rules' swaps and registrations live and die in the child. Returns the export's finding or
    None, or IN_PROCESS when the module cannot be pickled."""
    payload = (module, tuple(args), kwargs, dynamic_shapes, ops, rules)
    try:
        pickle.dumps(payload)
    except Exception:  # noqa: BLE001 - unpicklable: no child can receive it
        return IN_PROCESS
    result = run_isolated(_export_with_rules_in_child, payload, str(path), opset, exporter,
                          time_limit=isolation.time_limit,
                          memory_limit_mb=isolation.memory_limit_mb)
    if not result.ok:
        return crash_finding(result, exporter, opset)
    error, applied, lowering = result.value
    rewrite.applied, rewrite.lowering = list(applied), lowering
    return error


def _export_with_rules_in_child(payload: tuple[Any, ...], path: str, opset: int,
                                exporter: str) -> tuple[Finding | None, list[str], Any]:
    module, args, kwargs, dynamic_shapes, ops, rules = payload
    source, rewrite = plan(module, exporter, opset, ops, only=rules)
    error = export_with_rules(source, rewrite, run_export, tuple(args), kwargs, Path(path),
                              dynamic_shapes)
    return error, list(rewrite.applied), rewrite.lowering


def _export_in_child(source: tuple[Any, ...], kwargs: dict[str, Any] | None, path: str,
                     opset: int, exporter: str, dynamic_shapes: Any) -> Finding | None:
    """In the child: rebuild (or receive) the module, then run the same export as in-process."""
    if source[0] == "spec":
        _, spec, inputs, weights = source
        # the parent checked the inputs against --max-input-bytes before it started this child
        module, args = load_torch_source(spec, list(inputs), weights, max_input_bytes=None)
    else:
        _, module, args = source
    return run_export(module, tuple(args), kwargs, Path(path), opset, exporter, dynamic_shapes)


def crash_finding(result: IsolationResult, exporter: str, opset: int) -> Finding:
    """EXP109: the export crashed, hung or ran out of memory in its child process."""
    what = f"torch.onnx.export ({exporter}, opset {opset})"
    fixes = []
    if result.status == "crashed":
        how = result.describe() if result.signal is not None else f"crashed: {result.message}"
    elif result.status == "timed_out":
        how = f"hung: no result after {result.seconds:.0f} s"
        fixes.append(Fix("source", hint="raise --time-limit if the export is only slow"))
    elif result.status == "out_of_memory":
        how = "ran out of memory" + (f" ({result.message})" if result.message else "")
        fixes.append(Fix("source", hint="raise --memory-limit"))
    else:
        how = f"failed: {result.error_type}: {result.message}"
    return Finding(EXP109.id, "error",
                   f"{what} {how} in its isolated child process; no file was written",
                   fixes=fixes)
