"""Findings for a PyTorch model before export (EXP1xx: conversion; TRC4xx: capture).

Works on a TorchCapture (analyzer.sources.torch_capture) and the converter tables
(opsets.torch_converters); imports torch only to inspect the module object it is given.
"""

from __future__ import annotations

import inspect
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from analyzer.finding_ids import (
    EXP101,
    EXP102,
    EXP105,
    EXP108,
    EXP111,
    TRC401,
    TRC402,
    TRC403,
    TRC404,
)
from analyzer.findings import Finding, Fix
from analyzer.sources.torch_capture import CaptureFailure, TorchCapture, TorchOpUse

EXPORT_FLAGS = ("exportable", "export", "scriptable")

# The standard advice for each kind of torch.export failure (what PyTorch's own docs suggest).
EXPORT_ADVICE: dict[str, str] = {
    "data_dependent": "route on tensors, not Python values: replace `if x.sum() > 0` / `.item()` "
    "with torch.where or torch.cond, or mark the size with torch._check",
    "control_flow": "express data-dependent branches with torch.cond (or torch.where)",
    "unsupported_type": "return tensors, or tuples/lists/dicts of tensors; register custom "
    "containers with torch.utils._pytree.register_pytree_node",
    "unsupported_construct": "move the Python construct out of forward() or rewrite it with "
    "tensor ops",
    "dynamic_shapes": "fix the dynamic_shapes spec (torch.export.Dim) to what the model allows",
    "other": "see the message; torch.export(..., strict=False) is what the exporter runs",
}


@dataclass
class OpVerdict:
    """The converter's answer for one op at the target opset."""

    status: str  # ok | unsupported | needs_opset
    min_opset: int | None = None
    note: str = ""
    conditions: tuple[str, ...] = ()  # inputs the translation still rejects (TorchScript)
    clean_opset: int | None = None  # the lowest opset whose translation has no such condition


SupportFn = Callable[[TorchOpUse, int], OpVerdict]


def _locate(ops: list[TorchOpUse]) -> tuple[str | None, str | None]:
    first = next((o for o in ops if o.location), None)
    return (first.location, first.module_path) if first else (None, None)


def _where(location: str | None, module_path: str | None) -> str | None:
    if location and module_path:
        return f"{location} ({module_path})"
    return location or module_path


def op_findings(
    capture: TorchCapture, opset: int, support: SupportFn, exporter: str
) -> tuple[list[Finding], dict[str, OpVerdict]]:
    """EXP101 (no translation at this opset, with the opset that has one) and EXP105 (custom ops
    without a translation), one finding per op."""
    by_op: dict[str, list[TorchOpUse]] = defaultdict(list)
    for use in capture.ops:
        by_op[use.op].append(use)
    verdicts: dict[str, OpVerdict] = {}
    findings: list[Finding] = []
    for op, uses in sorted(by_op.items()):
        verdict = support(uses[0], opset)
        verdicts[op] = verdict
        if verdict.status == "ok" and verdict.conditions:
            location, module_path = _locate(uses)
            findings.append(Finding.of(
                EXP108,
                f"{op}'s {exporter} translation at opset {opset} raises for some inputs: "
                + "; ".join(verdict.conditions),
                op=op, nodes=[u.node for u in uses], location=_where(location, module_path),
                fixes=[Fix("opset", min=verdict.clean_opset)] if verdict.clean_opset else []))
            continue
        if verdict.status == "ok":
            continue
        location, module_path = _locate(uses)
        nodes = [u.node for u in uses]
        namespace = op.split("::", 1)[0]
        if namespace not in ("aten", "prims", "quantized", "torchvision"):
            findings.append(Finding.of(
                EXP105,
                f"custom op {op} has no ONNX translation in the {exporter} exporter",
                op=op, nodes=nodes, location=_where(location, module_path),
                fixes=[Fix("source", hint=_custom_op_hint(op, exporter))]))
            continue
        fixes = [Fix("opset", min=verdict.min_opset)] if verdict.min_opset else []
        if verdict.status == "needs_opset" and verdict.min_opset:
            message = (f"{op} has no {exporter} translation at opset {opset}; it converts from "
                       f"opset {verdict.min_opset}")
        else:
            message = f"{op} is not supported by the {exporter} exporter at any opset"
            fixes.append(Fix("source", hint="replace the op, or register a translation "
                             f"({_custom_op_hint(op, exporter)})"))
        if verdict.note:
            message += f" ({verdict.note})"
        findings.append(Finding.of(EXP101, message, op=op, nodes=nodes,
                                   location=_where(location, module_path), fixes=fixes))
    return findings, verdicts


def _custom_op_hint(op: str, exporter: str) -> str:
    if exporter == "dynamo":
        target = op.replace("::", ".")
        return (f"pass custom_translation_table={{torch.ops.{target}.default: "
                "onnxscript_function} to torch.onnx.export")
    return (f"register a symbolic with torch.onnx.register_custom_op_symbolic('{op}', fn, "
            "opset)")


def failure_findings(capture: TorchCapture) -> list[Finding]:
    """TRC401 (torch.export / trace failed), EXP111 (decomposition failed), EXP102 (translation
    failed)."""
    findings: list[Finding] = []
    merged: dict[tuple[str, str], Finding] = {}
    for failure in capture.failures:
        finding = _failure_finding(failure, capture)
        key = (failure.step, finding.message)
        if failure.step == "translate" and key in merged:
            # the same rejected call in several layers: one finding listing every node
            merged[key].nodes.extend(finding.nodes)
            continue
        merged[key] = finding
        findings.append(finding)
    return findings


def _failure_finding(failure: CaptureFailure, capture: TorchCapture) -> Finding:
    if failure.step == "translate":
        use = next((u for u in capture.ops if u.node == failure.node), None)
        where = _where(use.location, use.module_path) if use else failure.location
        op = use.op if use else None
        hint = failure.fix or ("change how the op is called (shapes/dtypes its translation "
                               "accepts), or register a custom translation")
        return Finding.of(
            EXP102,
            f"the dynamo exporter fails translating {op or 'a node'} (step 3/3, translate): "
            f"{failure.message}",
            op=op, nodes=[failure.node] if failure.node else [], location=where,
            fixes=[Fix("source", hint=hint)])
    if failure.step == "decompose":
        return Finding.of(
            EXP111,
            "the dynamo exporter fails decomposing the captured program (step 2/3, decompose)"
            + (f" at node {failure.node}" if failure.node else "") + f": {failure.message}",
            nodes=[failure.node] if failure.node else [], location=failure.location,
            fixes=[Fix("source", hint=failure.fix or (
                "rewrite the construct the error names, or use the torchscript exporter "
                "(dynamo=False); torch.onnx.export(..., report=True) saves the program"))])
    step = "torch.export" if failure.step == "torch.export" else "torch.jit.trace"
    return Finding.of(
        TRC401, f"{step} failed ({failure.kind}): {failure.message}",
        location=failure.location,
        fixes=[Fix("source", hint=EXPORT_ADVICE.get(failure.kind, EXPORT_ADVICE["other"]))])


def warning_findings(capture: TorchCapture) -> list[Finding]:
    """TRC402: TracerWarnings (and other warnings raised from the user's code), by location."""
    grouped: dict[tuple[str, str], list[str | None]] = defaultdict(list)
    for w in capture.warnings:
        grouped[(w.category, w.message)].append(w.location)
    findings = []
    for (category, message), locations in sorted(grouped.items()):
        hint = ("the traced graph hard-codes this value: route on tensors (torch.where), not on "
                "Python numbers, and avoid .item()/int(tensor) in forward()"
                if category == "TracerWarning" else "see the warning")
        findings.append(Finding.of(
            TRC402, f"{category}: {message}",
            location=next((loc for loc in locations if loc), None),
            fixes=[Fix("source", hint=hint)]))
    return findings


def module_findings(module: Any) -> list[Finding]:
    """TRC403 training mode left on; TRC404 an export-friendly constructor flag."""
    findings = []
    training = [name or type(module).__name__ for name, m in module.named_modules()
                if getattr(m, "training", False)]
    if training:
        findings.append(Finding.of(
            TRC403,
            f"the model is in training mode ({len(training)} module(s)): dropout and batch-norm "
            "statistics export in their training form",
            nodes=training[:20], fixes=[Fix("source", hint="call model.eval() before export")]))
    seen: set[type] = set()
    for name, m in module.named_modules():
        cls = type(m)
        if cls in seen:
            continue
        seen.add(cls)
        try:
            params = inspect.signature(cls.__init__).parameters
        except (TypeError, ValueError):
            continue
        for flag in EXPORT_FLAGS:
            if flag in params:
                value = getattr(m, flag, None)
                if value is True:
                    continue
                state = f" (it is {value!r})" if value is not None else ""
                findings.append(Finding(
                    TRC404.id, "warning" if value is False else "info",
                    f"{cls.__name__} takes `{flag}`{state}: models built with {flag}=True swap in "
                    "export-friendly layers",
                    location=name or None,
                    fixes=[Fix("source", hint=f"construct {cls.__name__}({flag}=True, ...)")]))
    return findings
