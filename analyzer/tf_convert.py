"""The real tf2onnx conversion of a TensorFlow source, and `export_tensorflow(...) -> Report`.

The conversion uses tf2onnx's Python API as its own CLI does (tf_loader.from_saved_model /
from_graphdef / from_checkpoint, then convert._convert_common; convert.from_tflite;
convert.from_keras) with continue_on_error=True, which is what the API functions pass: an op
without a handler is left in the graph and logged. Those log records are captured (by their
arguments, not by scraping text) and become findings: the "Unsupported ops: Counter(...)"
summary, each "Tensorflow op [node: Op] is not supported", each "Failed to convert node".

File sources convert in a spawned child (analyzer.isolation): tensorflow's import, a crash in
a handler or in TF's graph optimizer cannot take the caller down, and the caller does not pay
for importing TF when it only wants the report. A keras.Model object converts in process.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analyzer.errors import InputError
from analyzer.findings import SEVERITY_RANK, Finding, Fix
from analyzer.report.model import Report, Target

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
    from onnx import helper

    return [helper.make_opsetid(d, 1) for d in domains]


def _run_tf2onnx(kind: str, path: str, opset: int, signature: str | None,
                 inputs: list[str] | None, outputs: list[str] | None,
                 extra_domains: Sequence[str], model: Any = None,
                 rules: Sequence[str] = ()) -> ConversionResult:
    """One conversion in this process, its log captured (module-level: runs in the child).
    `rules`: ids of rewrites/tensorflow rules whose tf2onnx handlers are installed for it."""
    from rewrites.tensorflow import by_id
    from rewrites.tensorflow.registry import extra_handlers

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
        chosen = by_id(list(rules))
        graph_rules = [r for r in chosen if getattr(r, "kind", "handler") == "graph"]
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
    import tensorflow as tf
    from tf2onnx import convert, tf_loader

    extra = _extra_opsets(extra_domains) or None
    if kind == "keras":
        if model is None:
            from analyzer.sources.keras_source import load_keras_file

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
    import tensorflow as tf
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
    from analyzer.isolation import run_isolated

    # TF maps far more address space than it uses: an RLIMIT_AS would kill it, so none is set.
    outcome = run_isolated(_run_tf2onnx, kind, path, opset, signature, inputs, outputs,
                           tuple(extra_domains), None, tuple(rules), time_limit=time_limit,
                           memory_limit_mb=None)
    if outcome.ok:
        result: ConversionResult = outcome.value
        return result
    return ConversionResult(error=f"tf2onnx {outcome.describe()}", seconds=outcome.seconds,
                            opset=opset)


def conversion_findings(result: ConversionResult) -> list[Finding]:
    """TFC620-622 from what tf2onnx logged and raised."""
    findings = []
    for op, count in sorted(result.unsupported.items()):
        nodes = result.unsupported_nodes.get(op, [])
        findings.append(Finding(
            "TFC620", "error",
            f"tf2onnx reported {op} as unsupported at opset {result.opset} ({count} node(s)); "
            "it is left unconverted in the model", op=op, nodes=nodes[:20],
            fixes=[Fix("source", hint="see the pre-flight's finding for this op")]))
    for node, op, reason in result.failed:
        findings.append(Finding(
            "TFC621", "error", f"tf2onnx's {op} handler failed on node {node}: {reason}",
            op=op, nodes=[node]))
    if result.error:
        findings.append(Finding("TFC622", "error", f"tf2onnx conversion failed: {result.error}"))
    return findings


def export_tensorflow(
    source: Any,
    output: str | os.PathLike[str],
    opset: int | None = None,
    signature: str | None = None,
    inputs: Sequence[str] | str | None = None,
    outputs: Sequence[str] | str | None = None,
    providers: Sequence[str] = ("CPUExecutionProvider",),
    *,
    extra_opsets: Sequence[str] = (),
    force: bool = False,
    rewrite: bool = False,
    rules: Sequence[str] = (),
    samples: int = 3,
) -> Report:
    """Pre-flight, then (when it predicts success, or with force) the real tf2onnx conversion
    into `output` (written atomically, only when tf2onnx converted every node or with force),
    then the ONNX analysis of that file against `providers`, in one report.

    With `rewrite`, the rescue rules the pre-flight plans (rewrites/tensorflow: exact ones, and
    the approximate ones named in `rules`) install their tf2onnx handlers for the conversion,
    and the result is verified: TensorFlow vs onnxruntime CPU on `samples` seeded inputs
    (SavedModel, Keras and TFLite sources; parity in the report, RUN501 on a mismatch)."""
    from analyzer.api import analyze
    from analyzer.cli.common import write_atomically
    from analyzer.sources.tf_io import detect_tf_kind, parse_names
    from analyzer.tf_api import EXPORTER, analyze_tensorflow

    pre = analyze_tensorflow(source, opset, signature, inputs, outputs, providers,
                             extra_opsets=extra_opsets, rewrite=rewrite, rules=rules)
    tf_plan = pre.extras.get("tf_rewrites") or {}
    rule_ids = [a["rule"] for a in tf_plan.get("applied", [])]
    target = pre.target.opset or 15
    if pre.verdict == "fail" and not force:
        pre.extras["exported"] = False
        return pre
    from analyzer.safe_write import output_folder

    out = Path(output)
    output_folder(out)  # checked before the conversion, not after
    kind = detect_tf_kind(source) if isinstance(source, str | os.PathLike) else "keras"
    ins, outs = parse_names(inputs), parse_names(outputs)  # type: ignore[arg-type]
    if kind in ("graphdef", "checkpoint"):  # tf2onnx needs names: the ones the pre-flight found
        ins = ins or [t.name for t in pre.model.inputs]
        outs = outs or [t.name for t in pre.model.outputs]
    result = convert_tensorflow(source, kind or "keras", target,
                                signature=pre.extras.get("signature"), inputs=ins, outputs=outs,
                                extra_domains=extra_opsets, rules=rule_ids)
    converted = conversion_findings(result)
    if result.model is None or (not result.clean and not force):
        pre.findings = sorted(pre.findings + converted,
                              key=lambda f: (-SEVERITY_RANK[f.severity], f.id, f.op or ""))
        pre.extras.update(exported=False, conversion_seconds=round(result.seconds, 3))
        return pre
    write_atomically(str(out), result.model)
    post = analyze(out, providers=providers)
    findings = sorted(pre.findings + converted + post.findings,
                      key=lambda f: (-SEVERITY_RANK[f.severity], f.id, f.op or ""))
    post.model.path = str(out)
    post.model.format = pre.model.format
    report = Report(
        tool=post.tool, environment=post.environment, model=post.model,
        target=Target(target, EXPORTER, post.target.providers), ops=post.ops,
        findings=findings, placement=post.placement,
        extras={**post.extras, "exported": True, "source_kind": pre.extras["source_kind"],
                **({"tf_rewrites": tf_plan} if rewrite else {}),
                "conversion_seconds": round(result.seconds, 3),
                "preflight": {"ops": [o.to_dict() for o in pre.ops],
                              "inputs": [t.to_dict() for t in pre.model.inputs],
                              "outputs": [t.to_dict() for t in pre.model.outputs],
                              "min_opset": pre.extras.get("min_opset")}})
    if rewrite:
        _verify_against_tensorflow(report, out, source, samples)
    return report


def _verify_against_tensorflow(report: Report, onnx_path: Path, source: Any,
                               samples: int) -> None:
    """TensorFlow vs onnxruntime CPU on seeded inputs, merged into the report (parity and
    RUN501/502); a source TensorFlow cannot run here (GraphDef, checkpoint, an in-memory
    model) gets a note instead."""
    from analyzer.runtime.tf_reference import tf_source_kind
    from analyzer.runtime.verify import merge_into_report, verify

    if not isinstance(source, str | os.PathLike) or tf_source_kind(Path(source)) is None:
        report.extras["parity_note"] = ("not verified: TensorFlow runs SavedModel, Keras and "
                                        "TFLite files as references; this source is not one")
        return
    try:
        result = verify(onnx_path, reference=str(source), samples=samples)
    except InputError as exc:
        report.extras["parity_note"] = f"not verified: {exc.message}"
        return
    merge_into_report(report, result)
