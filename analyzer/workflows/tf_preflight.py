"""TensorFlow / TFLite / Keras pre-flight: `analyze_tensorflow(...) -> Report`.

The source is read as data (analyzer.sources.tf_graph / tflite_graph / keras_source), each op
that reaches the outputs is looked up in tf2onnx's handler table at the target opset
(analyzer.checks.tf_checks), and the inputs and outputs tf2onnx needs are listed. Nothing is
converted or run; `analyzer.workflows.tf_convert.export_tensorflow` does the real conversion.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from analyzer.checks.tf_checks import (
    OpJudgement,
    io_findings,
    judge_ops,
    min_opset,
    op_findings,
    training_findings,
    variable_findings,
)
from analyzer.environment import environment, tool_version
from analyzer.error_codes import FILE_NOT_FOUND, TF_UNKNOWN_SOURCE, TOO_MANY_NODES, USAGE
from analyzer.errors import InputError
from analyzer.finding_ids import TFC610, TFC611, TFC612
from analyzer.findings import SEVERITY_RANK, Finding, Fix
from analyzer.limits import DEFAULT_MAX_FILE_BYTES, check_opset, raise_hint
from analyzer.report.model import ModelInfo, NodeDetail, OpEntry, Report, Target, TensorInfo
from analyzer.sources.keras_source import read_keras
from analyzer.sources.tf_graph import read_checkpoint, read_frozen_graph, read_saved_model
from analyzer.sources.tf_io import REPORT_FORMAT, TfGraph, detect_tf_kind, parse_names
from analyzer.sources.tflite_graph import read_tflite
from analyzer.workflows.tf_rules import link_rules
from opsets.tables import normalize_provider
from opsets.tf2onnx_handlers import load_tf2onnx_handlers

EXPORTER = "tf2onnx"


def default_opset() -> int:
    """tf2onnx's own default opset (its PREFERRED_OPSET), from the table."""

    return int(load_tf2onnx_handlers().provenance["default_opset"])


def read_tf_source(source: Any, *, signature: str | None = None,
                   inputs: Sequence[str] | str | None = None,
                   outputs: Sequence[str] | str | None = None,
                   max_file_bytes: int | None = DEFAULT_MAX_FILE_BYTES) -> TfGraph:
    """Read a path (SavedModel folder, .pb, .meta, .tflite, .keras, .h5) or a keras.Model;
    the file the reader loads (saved_model.pb for a SavedModel) is at most `max_file_bytes`."""
    ins, outs = parse_names(inputs), parse_names(outputs)  # type: ignore[arg-type]
    if not isinstance(source, str | os.PathLike):
        return read_keras(source, ins, outs)
    path = Path(source)
    kind = detect_tf_kind(path)
    if kind is None:
        if not path.exists():
            raise InputError(path, FILE_NOT_FOUND, "no such file or directory")
        raise InputError(path, TF_UNKNOWN_SOURCE,
                         "not a TensorFlow source: expected a SavedModel folder (with "
                         "saved_model.pb), a frozen GraphDef .pb, a checkpoint .meta, a "
                         ".tflite file or a Keras .keras / .h5 file")
    if signature is not None and kind != "saved_model":
        raise InputError(path, USAGE, "--signature applies to a SavedModel folder only")
    if kind == "saved_model":
        return read_saved_model(path, signature, ins, outs, max_file_bytes=max_file_bytes)
    if kind == "graphdef":
        return read_frozen_graph(path, ins, outs, max_file_bytes=max_file_bytes)
    if kind == "checkpoint":
        return read_checkpoint(path, ins, outs, max_file_bytes=max_file_bytes)
    if kind == "tflite":
        return read_tflite(path, ins, outs, max_file_bytes=max_file_bytes)

    return read_keras(path, ins, outs, max_file_bytes=max_file_bytes)


def analyze_tensorflow(
    source: Any,
    opset: int | None = None,
    signature: str | None = None,
    inputs: Sequence[str] | str | None = None,
    outputs: Sequence[str] | str | None = None,
    providers: Sequence[str] = ("CPUExecutionProvider",),
    *,
    extra_opsets: Sequence[str] = (),
    rewrite: bool = False,
    rules: Sequence[str] = (),
    max_file_bytes: int | None = None,
    max_nodes: int | None = None,
) -> Report:
    """Pre-flight of a TensorFlow source for tf2onnx at `opset` (default: tf2onnx's default).

    `source`: a path (SavedModel folder, frozen .pb, checkpoint .meta, .tflite, .keras / .h5)
    or a keras.Model. `signature` chooses a SavedModel signature (default serving_default);
    `inputs` / `outputs` are tensor names ('x:0', comma-separated or a list) as tf2onnx takes
    them. `extra_opsets`: custom domains the conversion will enable (e.g. 'ai.onnx.contrib').
    Findings a rescue rule (rewrites/tensorflow) answers list it among their fixes; with
    `rewrite` the rules are planned (exact ones, plus the approximate ones named in `rules`),
    answered findings become TFC630 (info), and the plan is the report's `rewrites` block.
    """
    check_opset(opset)
    table = load_tf2onnx_handlers()
    target = opset if opset is not None else default_opset()
    if target < 1:
        raise InputError(None, USAGE, f"opset must be a positive opset version, got {target}")
    provider_names = [normalize_provider(p) for p in providers]
    graph = read_tf_source(source, signature=signature, inputs=inputs, outputs=outputs,
                           max_file_bytes=max_file_bytes)
    if max_nodes is not None and len(graph.nodes) > max_nodes:
        raise InputError(graph.path, TOO_MANY_NODES, f"graph has {len(graph.nodes)} nodes "
                         f"(functions included), over the node count limit of {max_nodes}; "
                         f"{raise_hint('node count')}")
    judged = judge_ops(graph, table, target, tuple(extra_opsets))
    findings: list[Finding] = []
    findings += op_findings(judged, target)
    findings += training_findings(graph)
    findings += variable_findings(graph)
    findings += io_findings(graph, inputs is not None, outputs is not None)
    lowest = min_opset(judged, table.max_opset)
    findings += _summary_findings(graph, lowest, target, table.max_opset)
    findings, tf_plan = link_rules(findings, graph.nodes, target, rewrite, rules)
    findings.sort(key=lambda f: (-SEVERITY_RANK[f.severity], f.id, f.op or ""))
    return Report(
        tool={"name": "onnx-preflight", "version": tool_version()},
        environment=environment(),
        model=_model_info(graph, target),
        target=Target(target, EXPORTER, provider_names),
        ops=_op_entries(judged),
        findings=findings,
        extras={
            "source_kind": graph.kind,
            "convertible": not any(f.severity == "error" for f in findings),
            "min_opset": {EXPORTER: lowest},
            "signature": graph.signature,
            "signatures": {k: {"inputs": [t.name for t in s.inputs.values()],
                               "outputs": [t.name for t in s.outputs.values()]}
                           for k, s in sorted(graph.signatures.items())},
            "functions": len(graph.functions),
        },
        rewrites=tf_plan,
    )


def _summary_findings(graph: TfGraph, lowest: int | None, target: int,
                      table_max: int) -> list[Finding]:
    findings = []
    if lowest is not None:
        findings.append(Finding(
            TFC610.id, "info",
            f"lowest opset at which tf2onnx has a handler for every op: {lowest}",
            fixes=[Fix("opset", min=lowest)] if lowest > target else []))
    if target > table_max:
        findings.append(Finding(
            TFC611.id, "warning",
            f"opset {target} is above the highest tf2onnx {EXPORTER} knows ({table_max}); it "
            "converts with handlers up to its maximum", fixes=[Fix("opset", min=table_max)]))
    if len(graph.signatures) > 1 and graph.signature:
        others = ", ".join(k for k in sorted(graph.signatures) if k != graph.signature)
        findings.append(Finding(
            TFC612.id, "info",
            f"signature {graph.signature!r} analyzed; the SavedModel also has: {others} "
            "(--signature)"))
    return findings


def _model_info(graph: TfGraph, opset: int) -> ModelInfo:
    def info(tensors: list[Any]) -> list[TensorInfo]:
        return [TensorInfo(t.name, t.dtype, t.shape) for t in tensors]

    return ModelInfo(path=graph.path, format=REPORT_FORMAT[graph.kind], ir_version=None,
                     opset_imports={"": opset}, nodes=len(graph.nodes),
                     parameters=graph.parameters, inputs=info(graph.inputs),
                     outputs=info(graph.outputs))


def _op_entries(judged: list[OpJudgement]) -> list[OpEntry]:
    entries = []
    for j in judged:
        s = j.support
        converter: dict[str, Any] = {"exporter": EXPORTER}
        if s is None:
            converter.update(status="removed", min_opset=None)
        else:
            converter.update(status=s.status, min_opset=s.min_opset)
            if s.via:
                converter["via"] = s.via
            if s.extra_domains:
                converter["extra_domains"] = list(s.extra_domains)
            if s.caveats:
                converter["caveats"] = list(s.caveats)
        domain = "tflite" if j.op.startswith("TFL_") else "tf"
        entries.append(OpEntry(
            op=j.op, domain=domain, count=len(j.nodes), onnx=None, providers={},
            converter=converter,
            nodes=[NodeDetail(name, None, [], "", {}, None, "source") for name in j.nodes]))
    return entries
