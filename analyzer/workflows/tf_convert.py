"""`export_tensorflow(...) -> Report`: pre-flight, the real tf2onnx conversion
(rewrites.tensorflow.convert, the rescue rules' handlers installed), findings from its log, the
file written atomically and analyzed.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from analyzer.errors import InputError
from analyzer.finding_ids import TFC620, TFC621, TFC622
from analyzer.findings import SEVERITY_RANK, Finding, Fix
from analyzer.report.model import Report, Target
from analyzer.runtime.tf_reference import tf_source_kind
from analyzer.runtime.verify import merge_into_report, verify
from analyzer.safe_write import output_folder, write_atomically
from analyzer.sources.tf_io import detect_tf_kind, parse_names
from analyzer.workflows.decided import resolve_after_conversion
from analyzer.workflows.onnx_preflight import analyze
from analyzer.workflows.tf_preflight import EXPORTER, analyze_tensorflow
from rewrites.tensorflow.convert import ConversionResult, convert_tensorflow


def conversion_findings(result: ConversionResult) -> list[Finding]:
    """TFC620-622 from what tf2onnx logged and raised."""
    findings = []
    for op, count in sorted(result.unsupported.items()):
        nodes = result.unsupported_nodes.get(op, [])
        findings.append(Finding(
            TFC620.id, "error",
            f"tf2onnx reported {op} as unsupported at opset {result.opset} ({count} node(s)); "
            "it is left unconverted in the model", op=op, nodes=nodes[:20],
            fixes=[Fix("source", hint="see the pre-flight's finding for this op")]))
    for node, op, reason in result.failed:
        findings.append(Finding(
            TFC621.id, "error", f"tf2onnx's {op} handler failed on node {node}: {reason}",
            op=op, nodes=[node]))
    if result.error:
        findings.append(Finding(TFC622.id, "error", f"tf2onnx conversion failed: {result.error}"))
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

    pre = analyze_tensorflow(source, opset, signature, inputs, outputs, providers,
                             extra_opsets=extra_opsets, rewrite=rewrite, rules=rules)
    rule_ids = list(pre.rewrites.applied) if pre.rewrites is not None else []
    target = pre.target.opset or 15
    if pre.verdict == "fail" and not force:
        pre.extras["exported"] = False
        return pre

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
    resolve_after_conversion(pre.findings, result.opset or target, result.clean)
    findings = sorted(pre.findings + converted + post.findings,
                      key=lambda f: (-SEVERITY_RANK[f.severity], f.id, f.op or ""))
    post.model.path = str(out)
    post.model.format = pre.model.format
    report = Report(
        tool=post.tool, environment=post.environment, model=post.model,
        target=Target(target, EXPORTER, post.target.providers), ops=post.ops,
        findings=findings, placement=post.placement,
        extras={**post.extras, "exported": True, "source_kind": pre.extras["source_kind"],
                "conversion_seconds": round(result.seconds, 3),
                "preflight": {"ops": [o.to_dict() for o in pre.ops],
                              "inputs": [t.to_dict() for t in pre.model.inputs],
                              "outputs": [t.to_dict() for t in pre.model.outputs],
                              "min_opset": pre.extras.get("min_opset")}},
        rewrites=pre.rewrites if rewrite else None, graph_source=post.graph_source)
    if rewrite:
        _verify_against_tensorflow(report, out, source, samples)
    return report


def _verify_against_tensorflow(report: Report, onnx_path: Path, source: Any,
                               samples: int) -> None:
    """TensorFlow vs onnxruntime CPU on seeded inputs, merged into the report (parity and
    RUN501/502); a source TensorFlow cannot run here (GraphDef, checkpoint, an in-memory
    model) gets a note instead."""

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
