"""The real tf2onnx conversion of a TensorFlow source, with the tf2onnx handlers and graph rules
of the rescue rules (rewrites/tensorflow) installed: `convert_tensorflow(...)`.

The conversion uses tf2onnx's Python API as its own CLI does (tf_loader.from_saved_model /
from_graphdef / from_checkpoint, then convert._convert_common; convert.from_tflite;
convert.from_keras) with continue_on_error=True, which is what the API functions pass: an op
without a handler is left in the graph and logged. Those log records are captured (by their
arguments, not by scraping text) into a ConversionResult: the "Unsupported ops: Counter(...)"
summary, each "Tensorflow op [node: Op] is not supported", each "Failed to convert node".

File sources convert in a spawned child (analyzer.isolation): tensorflow's import, a crash in
a handler or in TF's graph optimizer cannot take the caller down, and the caller does not pay
for importing TF when it only wants the report. A keras.Model object converts in process.

It lives with the rules because installing their handlers is how they apply; the export
workflow (analyzer.workflows.tf_convert) turns its result into findings and a report.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from onnx import helper

from analyzer.isolation import run_isolated
from analyzer.sources.keras_source import load_keras_file
from rewrites import registry
from rewrites.tensorflow.handlers import extra_handlers
from rewrites.tensorflow.rule import TFRule

CONVERT_TIME_LIMIT = 1800.0


@dataclass
class ConversionResult:
    """What tf2onnx did: the model (serialized), the ops it could not map, the nodes whose
    handler raised, or the error that stopped it."""

    model: bytes | None = None
    unsupported: dict[str, int] = field(default_factory=dict)
    unsupported_nodes: dict[str, list[str]] = field(default_factory=dict)
    failed: list[tuple[str, str, str]] = field(default_factory=list)  # node, op, message
    error: str | None = None
    seconds: float = 0.0
    opset: int | None = None

    @property
    def clean(self) -> bool:
        return self.model is not None and not self.unsupported and not self.failed and (
            self.error is None)

    def problem_ops(self) -> set[str]:
        """Op types tf2onnx failed on (unmapped or whose handler raised)."""
        return set(self.unsupported) | {op for _, op, _ in self.failed}


class _Capture(logging.Handler):
    """Collects tf2onnx's error records as structured data."""

    def __init__(self, result: ConversionResult) -> None:
        super().__init__(logging.WARNING)
        self.result = result

    def emit(self, record: logging.LogRecord) -> None:
        msg = str(record.msg)
        # logging unwraps a lone Mapping argument (the Counter) into record.args itself
        args = record.args if isinstance(record.args, tuple) else (record.args,)
        try:
            if msg.startswith("Unsupported ops:") and args:
                for op, count in dict(args[0]).items():  # type: ignore[call-overload]
                    self.result.unsupported[str(op)] = self.result.unsupported.get(
                        str(op), 0) + int(count)
            elif "is not supported" in msg and msg.startswith("Tensorflow op") and len(args) >= 2:
                self.result.unsupported_nodes.setdefault(str(args[1]), []).append(str(args[0]))
            elif msg.startswith("Failed to convert node") and args:
                summary = str(args[2]) if len(args) > 2 else ""
                op = next((ln[3:] for ln in summary.splitlines() if ln.startswith("OP=")), "?")
                reason = ""
                if record.exc_info and record.exc_info[1] is not None:
                    exc = record.exc_info[1]
                    reason = f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:200]}"
                self.result.failed.append((str(args[0]), op, reason))
        except (TypeError, ValueError):  # a record shaped differently: not ours to parse
            return


def _extra_opsets(domains: Sequence[str]) -> list[Any]:
    return [helper.make_opsetid(d, 1) for d in domains]


def _run_tf2onnx(kind: str, path: str, opset: int, signature: str | None,
                 inputs: list[str] | None, outputs: list[str] | None,
                 extra_domains: Sequence[str], model: Any = None,
                 rules: Sequence[str] = ()) -> ConversionResult:
    """One conversion in this process, its log captured (module-level: runs in the child).
    `rules`: ids of rewrites/tensorflow rules whose tf2onnx handlers are installed for it."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    result = ConversionResult(opset=opset)
    capture = _Capture(result)
    tf_logger = logging.getLogger("tf2onnx")
    old_level, old_propagate = tf_logger.level, tf_logger.propagate
    tf_logger.addHandler(capture)
    tf_logger.setLevel(logging.WARNING)
    tf_logger.propagate = False
    start = time.perf_counter()
    try:
        chosen: list[TFRule] = registry.named(rules, "tf")  # type: ignore[assignment]
        graph_rules = [r for r in chosen if r.kind == "graph"]
        with extra_handlers(chosen):
            proto = _convert(kind, path, opset, signature, inputs, outputs, extra_domains,
                             model, graph_rules)
        result.model = proto.SerializeToString()
    except Exception as exc:  # noqa: BLE001 - the conversion's failure is the report's subject
        result.error = f"{type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0][:300]}"
    finally:
        result.seconds = time.perf_counter() - start
        tf_logger.removeHandler(capture)
        tf_logger.setLevel(old_level)
        tf_logger.propagate = old_propagate
    return result


def _convert(kind: str, path: str, opset: int, signature: str | None,
             inputs: list[str] | None, outputs: list[str] | None,
             extra_domains: Sequence[str], model: Any, graph_rules: Sequence[Any] = ()) -> Any:
    import tensorflow as tf  # heavy, optional: only a conversion needs it
    from tf2onnx import convert, tf_loader

    extra = _extra_opsets(extra_domains) or None
    if kind == "keras":
        if model is None:
            model = load_keras_file(path)
        if graph_rules:
            return _convert_keras_with_graph_rules(model, opset, extra, graph_rules)
        proto, _ = convert.from_keras(model, opset=opset, extra_opset=extra)
        return proto
    if kind == "tflite":
        proto, _ = convert.from_tflite(path, input_names=inputs, output_names=outputs,
                                       opset=opset, extra_opset=extra)
        return proto
    tables, renames = None, None
    if kind == "saved_model":
        graph_def, inputs, outputs, tables, renames = tf_loader.from_saved_model(
            path, inputs, outputs, None, [signature] if signature else None,
            return_initialized_tables=True, return_tensors_to_rename=True)
    elif kind == "checkpoint":
        graph_def, inputs, outputs = tf_loader.from_checkpoint(path, inputs, outputs)
    else:
        graph_def, inputs, outputs = tf_loader.from_graphdef(path, inputs, outputs)
    if sum(rule.apply(graph_def) for rule in graph_rules):
        with tf.Graph().as_default():
            graph_def = tf_loader.tf_optimize(list(inputs or []), list(outputs or []),
                                              graph_def)
    with tf.device("/cpu:0"):
        proto, _ = convert._convert_common(  # noqa: SLF001 - what tf2onnx's own CLI calls
            graph_def, name=Path(path).name, continue_on_error=True, opset=opset,
            extra_opset=extra, input_names=inputs, output_names=outputs,
            tensors_to_rename=renames, initialized_tables=tables)
    return proto


def _convert_keras_with_graph_rules(model: Any, opset: int, extra: Any,
                                    graph_rules: Sequence[Any]) -> Any:
    """tf2onnx.convert.from_keras, step by step, with the graph rules applied to the frozen
    GraphDef between freezing and conversion: from_keras offers no hook there (its
    custom_rewriter runs on tf2onnx's own graph, after function calls are already opaque).
    Mirrors tf2onnx 1.17's from_keras for TF 2 and uses its own helpers for each step."""
    import tensorflow as tf  # heavy, optional: only a conversion needs it
    from tf2onnx import convert, tf_loader

    old_names = convert._rename_duplicate_keras_model_names(model)  # noqa: SLF001
    func = convert._get_concrete_function(model, None)  # noqa: SLF001
    captures = func.graph.function_captures.by_val_internal
    captured = {t.name for t in captures.values()}
    input_names = [t.name for t in func.inputs if t.name not in captured]
    output_names = [t.name for t in func.outputs if t.dtype != tf.dtypes.resource]
    renames = convert.tensor_names_from_structed(func, input_names, output_names)
    reverse = {v: k for k, v in renames.items()}
    model_outputs = convert._get_output_names(model)  # noqa: SLF001
    if model_outputs:
        output_names = [reverse[o] for o in model_outputs]
    elif isinstance(func.structured_outputs, dict):
        output_names = [reverse[o] for o in func.structured_outputs]
    if old_names is not None:
        convert._set_output_names(model, old_names)  # noqa: SLF001
    with tf.device("/cpu:0"):
        frozen, tables = tf_loader.from_trackable(model, func, input_names, output_names, False)
        if sum(rule.apply(frozen) for rule in graph_rules):
            # the inlined ops have not been through grappler yet: fold and infer as
            # tf2onnx's own loader does after freezing
            with tf.Graph().as_default():
                frozen = tf_loader.tf_optimize(input_names, output_names, frozen)
        proto, _ = convert._convert_common(  # noqa: SLF001
            frozen, name=model.name, continue_on_error=True, opset=opset, extra_opset=extra,
            input_names=input_names, output_names=output_names, tensors_to_rename=renames,
            initialized_tables=tables)
    return proto


def convert_tensorflow(source: Any, kind: str, opset: int, *, signature: str | None = None,
                       inputs: list[str] | None = None, outputs: list[str] | None = None,
                       extra_domains: Sequence[str] = (), isolate: bool = True,
                       time_limit: float = CONVERT_TIME_LIMIT,
                       rules: Sequence[str] = ()) -> ConversionResult:
    """Run tf2onnx on a path (in a child when `isolate`) or a keras.Model (in process), with
    the tf2onnx handlers of the rescue rules `rules` (ids) installed."""
    if not isinstance(source, str | os.PathLike):
        return _run_tf2onnx("keras", "", opset, None, inputs, outputs, extra_domains, source,
                            tuple(rules))
    path = str(source)
    if not isolate:
        return _run_tf2onnx(kind, path, opset, signature, inputs, outputs, extra_domains,
                            None, tuple(rules))
    # TF maps far more address space than it uses: an RLIMIT_AS would kill it, so none is set.
    outcome = run_isolated(_run_tf2onnx, kind, path, opset, signature, inputs, outputs,
                           tuple(extra_domains), None, tuple(rules), time_limit=time_limit,
                           memory_limit_mb=None)
    if outcome.ok:
        result: ConversionResult = outcome.value
        return result
    return ConversionResult(error=f"tf2onnx {outcome.describe()}", seconds=outcome.seconds,
                            opset=opset)
