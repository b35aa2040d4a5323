"""PyTorch export: `export_torch(...) -> Report`: the pre-flight, then (when it predicts success,
or with force) the real torch.onnx.export, then the ONNX analysis of the file it wrote, in one
report; with `rewrite` the PyTorch source rules run around the export."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import onnx

from analyzer.error_codes import USAGE
from analyzer.errors import InputError
from analyzer.finding_ids import EXP103, EXP104, EXP106, EXP110
from analyzer.findings import SEVERITY_RANK, Finding, Fix
from analyzer.report.model import Report, Target
from analyzer.runtime.verify import merge_into_report, verify
from analyzer.safe_write import output_folder
from analyzer.sources.torch_exporter import run_export
from analyzer.workflows.decided import resolve_after_export
from analyzer.workflows.isolated_export import IN_PROCESS, run_with_rules
from analyzer.workflows.onnx_preflight import analyze
from analyzer.workflows.torch_preflight import DYNAMO_BASE_OPSET, _preflight
from rewrites.contract import Reason
from rewrites.onnx.target_check import blockers, delivered_opset
from rewrites.torch.export import export_with_rules, plan


def export_torch(
    module: Any,
    example_inputs: tuple[Any, ...] | list[Any] | Any,
    output: str | os.PathLike[str],
    opset: int = DYNAMO_BASE_OPSET,
    exporter: str = "dynamo",
    providers: tuple[str, ...] | list[str] = ("CPUExecutionProvider",),
    *,
    dynamic_shapes: Any = None,
    kwargs: dict[str, Any] | None = None,
    force: bool = False,
    name: str | None = None,
    thorough: bool = False,
    isolate: Any = None,
    rewrite: bool = False,
    rules: Sequence[str] | None = None,
) -> Report:
    """Pre-flight, then (when it predicts success, or with force) the real torch.onnx.export
    into `output` (written atomically), then the ONNX analysis of that file, in one report.
    `isolate` (an analyzer.workflows.isolated_export.ExportIsolation) runs the export in a
    child process.

    `rewrite` applies the PyTorch source rules the pre-flight proposes (rewrites/torch), `rules`
    the named ones instead; the export then runs when every error finding is answered by one of
    them, and the file is verified against the module on onnxruntime CPU (the report's `rewrites`
    block and extras "parity", RUN501 when outputs differ)."""

    pre, capture = _preflight(module, example_inputs, opset, exporter, dynamic_shapes, kwargs,
                              name, thorough, False)
    source_rewrite = None
    if rewrite or rules is not None:
        try:
            source, source_rewrite = plan(module, exporter, opset, capture.ops, only=rules)
        except ValueError as exc:
            raise InputError(None, USAGE, str(exc)) from None
        pre.rewrites = source_rewrite.to_block()
        unanswered = _unanswered(pre.findings, source_rewrite, exporter)
        if unanswered and not force:
            pre.extras["exported"] = False
            return pre
    elif pre.verdict == "fail" and not force:
        pre.extras["exported"] = False
        return pre

    out = Path(output)
    folder = output_folder(out)
    args = tuple(example_inputs) if isinstance(example_inputs, (tuple, list)) else (
        example_inputs,)
    tmp = Path(tempfile.mkdtemp(prefix=".onnx-preflight-", dir=folder))
    try:
        written = tmp / out.name
        if source_rewrite is not None:
            # in a child when isolated (a crash there is EXP109, not this process's end);
            # in this process without isolation or for a module that cannot be pickled
            outcome: Any = IN_PROCESS if isolate is None else run_with_rules(
                isolate, module, args, kwargs, written, opset, exporter, dynamic_shapes,
                capture.ops, rules, source_rewrite)
            if outcome is IN_PROCESS:
                outcome = export_with_rules(source, source_rewrite, run_export, args, kwargs,
                                            written, dynamic_shapes)
            error = outcome
        else:
            error = (isolate.run if isolate is not None else run_export)(
                module, args, kwargs, written, opset, exporter, dynamic_shapes)
        if error is not None:
            pre.findings.insert(0, error)
            pre.extras["exported"] = False
            return pre
        post = analyze(written, providers=providers)
        # the delivered opset is read from the written file, never assumed from the request
        header = onnx.load(str(written), load_external_data=False)
        delivered = delivered_opset(header)
        lowering = (source_rewrite.lowering or {}) if source_rewrite else {}
        failure = Reason("lowering", lowering.get("failed_op") or "model",
                         lowering["error"]) if lowering.get("error") else None
        blocking = blockers(header, opset, (), failure) if delivered != opset else []
        kept = delivered == opset or force
        if kept:
            # the model and the data files it names travel; nothing else does (torch writes an
            # empty `.onnx.data` beside a model whose weights it inlined)
            for name in [written.name, *sorted(_data_files(header))]:
                if (tmp / name).is_file():
                    os.replace(tmp / name, folder / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    findings = list(pre.findings)
    if delivered != opset:
        why = f" (lowering from {lowering['built_at']}: {lowering['error']})" if lowering.get(
            "error") else ""
        nodes = "; ".join(b.line() for b in blocking[:10])
        more = f" (and {len(blocking) - 10} more)" if len(blocking) > 10 else ""
        written_note = "" if kept else "; no model written (force writes it)"
        findings.append(Finding(
            EXP106.id, "error",
            f"asked for opset {opset}, torch.onnx.export delivered opset {delivered}{why}"
            + (f". Blocking: {nodes}{more}" if nodes else "") + written_note,
            nodes=[b.node for b in blocking if b.node != "model"],
            fixes=[Fix("opset", min=delivered)] if delivered else []))
    findings += post.findings
    findings.sort(key=lambda f: (-SEVERITY_RANK[f.severity], f.id, f.op or ""))
    post.model.path = str(out)
    post.model.format = "torch"
    report = Report(
        tool=post.tool, environment=post.environment, model=post.model,
        target=Target(opset, exporter, post.target.providers), ops=post.ops, findings=findings,
        placement=post.placement,
        extras={**post.extras, "exported": kept, "delivered_opset": delivered,
                "blockers": [b.to_dict() for b in blocking],
                "preflight": {"ops": [o.to_dict() for o in pre.ops],
                              "min_opset": pre.extras.get("min_opset")}},
        graph_source=post.graph_source)
    if source_rewrite is not None:
        report.rewrites = source_rewrite.to_block()
        if delivered == opset:
            _mark_answered(report.findings, source_rewrite, exporter)
        if kept:
            _verify_against_module(report, out, module)
        report.findings.append(_rewrite_summary(source_rewrite, report.extras.get("parity")))
        report.findings.sort(key=lambda f: (-SEVERITY_RANK[f.severity], f.id, f.op or ""))
    resolve_after_export(pre.findings, exporter, opset, delivered)
    return report


def _data_files(model: onnx.ModelProto) -> set[str]:
    """The external data files the model's initializers name (bare names: the exporter writes
    them beside the model)."""
    return {e.value for init in model.graph.initializer
            if init.data_location == onnx.TensorProto.EXTERNAL
            for e in init.external_data if e.key == "location"}


def _unanswered(findings: list[Finding], rewrite: Any, exporter: str) -> list[Finding]:
    """Error findings no applied source rule answers. EXP103 (dynamo cannot convert down) is
    answered by the rewrite path itself, which lowers the optimized build
    (rewrites.torch.lowering)."""
    applied = {p.rule for p in rewrite.proposals if p.status == "proposed"}
    out = []
    for f in findings:
        if f.severity != "error" or (f.id == EXP103.id and exporter == "dynamo"):
            continue
        if not any(x.kind == "rewrite" and x.rule in applied for x in f.fixes):
            out.append(f)
    return out


def _mark_answered(findings: list[Finding], rewrite: Any, exporter: str) -> None:
    """Pre-flight errors the applied rules answered, once the file came out at the requested
    opset, stay in the report as info saying which rule fixed them (and resolved)."""
    applied = set(rewrite.applied)
    for f in findings:
        if f.id == EXP104.id and applied:
            f.message = f"without source rules, {f.message}"
            continue
        if f.severity != "error" or not f.id.startswith("EXP10"):
            continue
        rules = [x.rule for x in f.fixes if x.kind == "rewrite" and x.rule and x.rule in applied]
        if f.id == EXP103.id and exporter == "dynamo":
            rules.append("lowering from opset 18")
        if rules:
            f.severity = "info"
            f.message = f"fixed by {', '.join(rules)}: {f.message}"
            f.resolve(f"source rule {', '.join(rules)}; the file came out at the requested "
                      "opset")


def _rewrite_summary(rewrite: Any, parity: dict[str, Any] | None) -> Finding:
    """EXP110: which source rules ran and what they changed, the lowering, and the parity of
    the written file against the module (the text report shows findings, not extras)."""
    changes = {p.rule: p.match.payload.describe() for p in rewrite.proposals if p.match is not None}
    parts = [f"{rule} ({changes.get(rule, '')})" for rule in rewrite.applied]
    text = "source rules applied: " + ("; ".join(parts) if parts else "none needed")
    lowering = rewrite.lowering or {}
    if lowering.get("held") is not None:
        held = ", ".join(lowering["held"]) or "none"
        text += (f". Built at opset {lowering['built_at']} and lowered to {lowering['target']} "
                 f"(carried down unchanged: {held})")
    if parity and parity.get("samples"):
        worst = max(o["max_abs"] or 0.0 for s in parity["samples"] for o in s["outputs"])
        text += (f". ONNX on onnxruntime CPU vs the module: max abs {worst:.3g} over "
                 f"{len(parity['samples'])} samples, {'pass' if parity['passed'] else 'FAIL'}")
    elif parity:
        text += f". Parity not measured: {parity.get('error')}"
    return Finding(EXP110.id, "info", text)


def _verify_against_module(report: Report, path: Path, module: Any) -> None:
    """Outputs of the written file on onnxruntime CPU against the module itself (its rules
    undone), seeded inputs: the proof that the rules changed the export, not the function."""

    try:
        result = verify(path, reference=module, providers=("cpu",), samples=2, seed=0)
    except Exception as exc:  # noqa: BLE001 - a failed check is reported, not raised
        report.extras["parity"] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
        return
    merge_into_report(report, result)


