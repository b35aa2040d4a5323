"""PyTorch pre-flight: `analyze_torch(...)` and `analyze_torch_opsets(...) -> Report`.

Pre-flight captures what the chosen exporter would see (analyzer.sources.torch_capture), asks
the converter for each op at the requested opset, and, for the dynamo exporter, checks whether
the requested opset can really be delivered (it builds at opset 18 and converts down; when that
fails it silently returns opset 18). The export itself is analyzer.workflows.torch_export.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from analyzer.checks.torch_checks import (
    OpVerdict,
    failure_findings,
    module_findings,
    op_findings,
    warning_findings,
)
from analyzer.environment import environment, tool_version
from analyzer.error_codes import USAGE
from analyzer.errors import InputError
from analyzer.finding_ids import EXP103, EXP104
from analyzer.findings import SEVERITY_RANK, Finding, Fix
from analyzer.limits import check_opset
from analyzer.report.model import ModelInfo, NodeDetail, OpEntry, Report, Target, TensorInfo
from analyzer.sources.torch_capture import (
    TorchCapture,
    TorchOpUse,
    capture_dynamo,
    capture_torchscript,
    delivered_opset,
    for_opset,
)
from analyzer.workflows.rule_fixes import attach_source_fixes
from opsets.onnx_downconvert import load_downconvert
from opsets.torch_converters import load_torch_converters
from rewrites.torch.proposals import propose
from rewrites.torch.rule import SourceModel

EXPORTERS = ("dynamo", "torchscript")
DYNAMO_BASE_OPSET = 18
MIN_SEARCH_OPSET = 7


def _torchscript_verdict(use: TorchOpUse, opset: int) -> OpVerdict:
    table = load_torch_converters()
    answer = table.torchscript_support(use.op, opset)
    clean = None
    if answer.conditions:
        clean = next((r.opset for r in table.torchscript_registrations(use.op)
                      if r.opset > opset and r.status == "ok"), None)
    return OpVerdict(answer.status if answer.status != "missing" else "unsupported",
                     answer.min_opset, answer.note, answer.conditions, clean)


def _dynamo_verdict(use: TorchOpUse, opset: int) -> OpVerdict:
    # The dispatcher's own answer, captured per node with the registry torch builds for this
    # opset (torchlib at max(opset, 18)); lower opsets only change by down-conversion.
    if use.converted:
        return OpVerdict("ok")
    return OpVerdict("unsupported", None, use.reason)


def _capture(exporter: str, module: Any, args: tuple[Any, ...], kwargs: dict[str, Any] | None,
             dynamic_shapes: Any, opset: int, thorough: bool) -> TorchCapture:
    if exporter == "dynamo":
        return capture_dynamo(module, args, kwargs, dynamic_shapes, opset=opset,
                              thorough=thorough)
    return capture_torchscript(module, args, kwargs)


def _dynamo_min_opset(model: Any) -> tuple[int, str | None]:
    """Lowest opset the translated model converts down to (conversion is monotone in practice:
    an op without a down-conversion path blocks every opset below it)."""
    low, high, complaint = MIN_SEARCH_OPSET, DYNAMO_BASE_OPSET, None
    while low < high:
        mid = (low + high) // 2
        got, why = delivered_opset(model, mid)
        if got == mid:
            high = mid
        else:
            complaint = why
            low = mid + 1
    return high, complaint


def _torchscript_min_opset(capture: TorchCapture) -> int | None:
    table = load_torch_converters()
    needed = MIN_SEARCH_OPSET
    for op in {u.op for u in capture.ops}:
        lowest = table.torchscript_min_opset(op)
        if lowest is None:
            return None
        needed = max(needed, lowest)
    return needed


def analyze_torch(
    module: Any,
    example_inputs: tuple[Any, ...] | list[Any] | Any,
    opset: int = DYNAMO_BASE_OPSET,
    exporter: str = "dynamo",
    dynamic_shapes: Any = None,
    *,
    kwargs: dict[str, Any] | None = None,
    name: str | None = None,
    thorough: bool = False,
    both_exporters: bool = False,
) -> Report:
    """Pre-flight of an nn.Module for `exporter` at `opset`: what will fail, where, what fixes it.
    Never exports; runs the model's forward once (tracing) as export itself would.

    dynamo: by default torch.export plus the converter tables (fast); `thorough` also runs the
    exporter's own decomposition, dispatcher, translation and down-conversion, which sees
    translation-time errors too but costs about as much as the export itself.
    `both_exporters` also reports the lowest opset that works with the other exporter (EXP104).
    """
    return _preflight(module, example_inputs, opset, exporter, dynamic_shapes, kwargs, name,
                      thorough, both_exporters)[0]


def _preflight(module: Any, example_inputs: Any, opset: int, exporter: str, dynamic_shapes: Any,
               kwargs: dict[str, Any] | None, name: str | None, thorough: bool,
               both_exporters: bool) -> tuple[Report, TorchCapture]:
    """analyze_torch, also returning the capture (export's source rules read its ops)."""
    check_opset(opset)
    if exporter not in EXPORTERS:
        raise InputError(None, USAGE, f"exporter must be one of {', '.join(EXPORTERS)}")
    args = tuple(example_inputs) if isinstance(example_inputs, (tuple, list)) else (
        example_inputs,)
    # Below opset 18 whether the model can be delivered is decided by onnx's down-conversion of
    # the translated graph; the tables approximate it, the real conversion is exact and cheap
    # next to the capture, so below 18 the thorough path runs.
    thorough = thorough or (exporter == "dynamo" and opset < DYNAMO_BASE_OPSET)
    capture = _capture(exporter, module, args, kwargs, dynamic_shapes, opset, thorough)
    other = _other_exporter_min(module, args, kwargs, dynamic_shapes, exporter) if (
        both_exporters) else None
    return _report(module, args, capture, opset, exporter, name, other), capture


def _other_exporter_min(module: Any, args: tuple[Any, ...], kwargs: dict[str, Any] | None,
                        dynamic_shapes: Any, exporter: str) -> dict[str, int | None]:
    """The lowest opset for the exporter not chosen (TorchScript: the symbolic table over a
    trace; dynamo: torch.export plus the converter and down-conversion tables, an estimate)."""
    other = "torchscript" if exporter == "dynamo" else "dynamo"
    capture = _capture(other, module, args, kwargs, dynamic_shapes, DYNAMO_BASE_OPSET, False)
    if capture.failures or any(u.converted is False for u in capture.ops):
        return {other: None}
    if other == "torchscript":
        return {other: _torchscript_min_opset(capture)}
    # From the tables, not from a real conversion: the key says so in the finding.
    return {f"{other} (estimate)": _table_min_opset(capture)}


def analyze_torch_opsets(
    module: Any,
    example_inputs: tuple[Any, ...] | list[Any] | Any,
    opsets: list[int] | tuple[int, ...],
    exporter: str = "dynamo",
    dynamic_shapes: Any = None,
    *,
    kwargs: dict[str, Any] | None = None,
    name: str | None = None,
) -> dict[int, Report]:
    """One pre-flight report per opset from a single capture (torch.export or the trace runs
    once): which opsets will this model export at?"""
    if exporter not in EXPORTERS:
        raise InputError(None, USAGE, f"exporter must be one of {', '.join(EXPORTERS)}")
    args = tuple(example_inputs) if isinstance(example_inputs, (tuple, list)) else (
        example_inputs,)
    reports: dict[int, Report] = {}
    low = [o for o in opsets if exporter == "dynamo" and o < DYNAMO_BASE_OPSET]
    high = [o for o in opsets if o not in low]
    for group, thorough in ((low, True), (high, False)):
        if not group:
            continue
        first = _capture(exporter, module, args, kwargs, dynamic_shapes, max(group), thorough)
        for opset in group:
            reports[opset] = _report(module, args, for_opset(first, opset), opset, exporter,
                                     name)
    return {opset: reports[opset] for opset in opsets}


def _report(module: Any, args: tuple[Any, ...], capture: TorchCapture, opset: int,
            exporter: str, name: str | None,
            other_min: dict[str, int | None] | None = None) -> Report:
    support = _dynamo_verdict if exporter == "dynamo" else _torchscript_verdict
    findings: list[Finding] = []
    findings += module_findings(module)
    findings += failure_findings(capture)
    findings += warning_findings(capture)
    op_list, verdicts = op_findings(capture, opset, support, exporter)
    findings += op_list
    mins: dict[str, int | None] = {}
    if exporter == "dynamo" and capture.onnx_model is not None:
        findings += _delivery_findings(capture, opset, mins)
    if exporter == "torchscript" and not capture.failures:
        mins["torchscript"] = _torchscript_min_opset(capture)
    mins.update(other_min or {})
    findings += _min_opset_findings(mins, opset)
    proposals = _source_rule_proposals(module, capture, opset, exporter, findings)
    findings.sort(key=lambda f: (-SEVERITY_RANK[f.severity], f.id, f.op or ""))
    return Report(
        tool={"name": "onnx-preflight", "version": tool_version()},
        environment=environment(),
        model=_model_info(module, args, capture, opset, name),
        target=Target(opset, exporter, []),
        ops=_op_entries(capture, verdicts, exporter),
        findings=findings,
        extras={"exportable": not any(f.severity == "error" for f in findings),
                "min_opset": mins, "source_rules": [p.to_dict() for p in proposals]},
    )


def _source_rule_proposals(module: Any, capture: TorchCapture, opset: int, exporter: str,
                           findings: list[Finding]) -> list[Any]:
    """Which PyTorch source rules (rewrites/torch) this export needs, listed among the fixes of
    the findings they answer; `export --rewrite` applies them."""
    source = SourceModel(module, exporter, opset, capture.ops)
    proposals = propose(source)
    attach_source_fixes(findings, proposals, source)
    return proposals


def _delivery_findings(capture: TorchCapture, opset: int, mins: dict[str, int | None]) -> list[
        Finding]:
    lowest, complaint = _dynamo_min_opset(capture.onnx_model)
    mins["dynamo"] = lowest
    if opset >= DYNAMO_BASE_OPSET or opset >= lowest:
        return []
    got, why = delivered_opset(capture.onnx_model, opset)
    if got == opset:
        return []
    reason = (why or complaint or "").split("(", 1)[-1].rstrip(")") or "the converter failed"
    reason = reason.rsplit("failed: ", 1)[-1]  # drop onnx's "file.h:23: adapt: Assertion" prefix
    return [Finding(
        EXP103.id, "error",
        f"the dynamo exporter builds at opset {DYNAMO_BASE_OPSET} and cannot convert this model "
        f"down to opset {opset}; torch.onnx.export would deliver opset {got} ({reason})",
        fixes=[Fix("opset", min=lowest),
               Fix("source", hint="use the torchscript exporter (dynamo=False) for opsets below "
                   f"{DYNAMO_BASE_OPSET}, or replace the ops that have no down-conversion")])]


def _table_min_opset(capture: TorchCapture) -> int | None:
    """Estimate the lowest opset the dynamo exporter delivers, from the tables: the ONNX ops each
    translation emits (torch_converters) and how far onnx's converter takes each of them down
    from 18 (onnx_downconvert). None when an emitted op set is unknown."""

    table, down = load_torch_converters(), load_downconvert()
    lowest = MIN_SEARCH_OPSET
    for overload in {u.overload for u in capture.ops if u.converted}:
        support = table.dynamo_support(overload, DYNAMO_BASE_OPSET)
        if support is None or support.status != "translated":
            continue
        if support.onnx_ops is None:
            return None
        for onnx_op in support.onnx_ops:
            entry = down.get(onnx_op) if "::" not in onnx_op else None
            if entry is not None:
                target = entry.lowest_target()
                lowest = max(lowest, target if target is not None else DYNAMO_BASE_OPSET)
    return lowest


def _min_opset_findings(mins: dict[str, int | None], opset: int) -> list[Finding]:
    findings = []
    for exporter, lowest in mins.items():
        if lowest is None:
            continue
        findings.append(Finding(
            EXP104.id, "info",
            f"lowest opset at which the {exporter} exporter delivers this model: {lowest}",
            fixes=[Fix("opset", min=lowest)] if lowest > opset else []))
    return findings


def _model_info(module: Any, args: tuple[Any, ...], capture: TorchCapture, opset: int,
                name: str | None) -> ModelInfo:
    import torch

    inputs = []
    for i, a in enumerate(args):
        if isinstance(a, torch.Tensor):
            inputs.append(TensorInfo(f"input_{i}", str(a.dtype).removeprefix("torch."),
                                     list(a.shape)))
    return ModelInfo(
        path=name or f"{type(module).__module__}.{type(module).__qualname__}",
        format="torch", ir_version=None, opset_imports={"": opset}, nodes=len(capture.ops),
        parameters=sum(p.numel() for p in module.parameters()), inputs=inputs, outputs=[])


def _op_entries(capture: TorchCapture, verdicts: dict[str, OpVerdict], exporter: str) -> list[
        OpEntry]:
    by_op: dict[str, list[TorchOpUse]] = defaultdict(list)
    for use in capture.ops:
        by_op[use.op].append(use)
    entries = []
    for op, uses in sorted(by_op.items()):
        v = verdicts.get(op, OpVerdict("ok"))
        entries.append(OpEntry(
            op=op, domain=op.split("::", 1)[0], count=len(uses), onnx=None,
            providers={}, source_ops=sorted({u.overload for u in uses}),
            converter={"exporter": exporter, "status": v.status, "min_opset": v.min_opset},
            nodes=[NodeDetail(u.node, None, [], u.module_path or "", {}, None, "source",
                              location=u.location) for u in uses]))
    return entries
