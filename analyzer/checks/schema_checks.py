"""Checks against the ONNX operator schemas: unknown ops, ops newer than the opset, deprecated
ops, custom domains without a schema, checker and type-inference failures (SCH2xx)."""

from __future__ import annotations

import difflib
from collections import defaultdict
from collections.abc import Iterable

import onnx
import onnx.checker

from analyzer.checks.ort_load_rules import inference_verdict, load_blockers, load_refusals
from analyzer.finding_ids import SCH201, SCH202, SCH203, SCH204, SCH205, SCH206, SCH207
from analyzer.findings import Finding, Fix, Severity
from analyzer.inventory import Inventory, NodeRecord
from analyzer.sources.weightless import check_model_weightless
from opsets.tables import KernelTable, SchemaTable

# The replacements that ONNX's own changelog names for its deprecated ops.
DEPRECATED_REPLACEMENTS: dict[str, str] = {
    "Upsample": "Resize",
    "Scatter": "ScatterElements",
}

ONNX_DOMAINS = frozenset({"", "ai.onnx.ml", "ai.onnx.preview", "ai.onnx.preview.training"})


def _group(nodes: Iterable[NodeRecord]) -> dict[tuple[str, str], list[NodeRecord]]:
    groups: dict[tuple[str, str], list[NodeRecord]] = defaultdict(list)
    for n in nodes:
        groups[n.key].append(n)
    return groups


def check_schemas(
    inventory: Inventory,
    schemas: SchemaTable,
    kernels: KernelTable,
    target_opset: int | None = None,
) -> list[Finding]:
    """SCH201-SCH203, SCH205: one finding per (domain, op) problem, listing its nodes."""
    findings: list[Finding] = []
    for (domain, op), nodes in sorted(_group(inventory.nodes).items()):
        names = [n.name for n in nodes]
        location = next((n.location for n in nodes if n.location), None)
        versions = schemas.versions(domain, op)
        opset = inventory.opset_imports.get(domain)
        if domain == "" and target_opset is not None:
            opset = target_opset
        if not versions:
            findings.extend(_unknown(domain, op, names, location, schemas, kernels))
            continue
        if opset is None:
            continue  # the checker reports a node whose domain is not imported
        resolved = schemas.resolve(domain, op, opset)
        if resolved is None:
            first = versions[0].since_version
            where = "target opset" if target_opset and domain == "" else "opset import"
            findings.append(
                Finding.of(
                    SCH202,
                    f"{op} exists from {_dom(domain)}opset {first}; the {where} is {opset}",
                    op=op, domain=domain, nodes=names, location=location,
                    fixes=[Fix("opset", min=first)],
                )
            )
        elif resolved.deprecated:
            replacement = DEPRECATED_REPLACEMENTS.get(op)
            fixes = [Fix("source", hint=f"use {replacement} instead")] if replacement else []
            findings.append(
                Finding.of(
                    SCH203,
                    f"{op}-{resolved.since_version} is deprecated in {_dom(domain)}opset {opset}: "
                    "onnxruntime runs onnx's node check at load, which refuses it",
                    op=op, domain=domain, nodes=names, location=location, fixes=fixes,
                )
            )
    return findings


def _dom(domain: str) -> str:
    return f"{domain} " if domain else ""


def _unknown(
    domain: str,
    op: str,
    names: list[str],
    location: str | None,
    schemas: SchemaTable,
    kernels: KernelTable,
) -> list[Finding]:
    if domain in ONNX_DOMAINS or schemas.has_domain(domain):
        close = difflib.get_close_matches(op, schemas.ops(domain), n=3)
        hint = f"did you mean {', '.join(close)}?" if close else "no similar op in this domain"
        return [
            Finding.of(
                SCH201,
                f"{op} is not an operator of {domain or 'the default ONNX domain (ai.onnx)'}",
                op=op, domain=domain, nodes=names, location=location,
                fixes=[Fix("source", hint=hint)],
            )
        ]
    with_kernels = [p for p in kernels.providers() if kernels.kernels(p, domain, op)]
    if with_kernels:
        return []
    return [
        Finding.of(
            SCH205,
            f"custom domain '{domain}' has no schema for {op} in onnx or onnxruntime: it is not "
            "validated and needs a custom-op library at runtime",
            op=op, domain=domain, nodes=names, location=location,
            fixes=[Fix("source", hint="register the op's library with "
                       "SessionOptions.register_custom_ops_library, or express it in ONNX ops")],
        )
    ]


#: Who rejects what onnxruntime tolerates (the warnings' messages say so).
OTHERS_REJECT = ("onnx.checker rejects it, and so does any tool that validates with it "
                 "(converters, other runtimes)")


def check_structure(
    model: onnx.ModelProto, path: str | None = None, *, strict: bool = False
) -> list[Finding]:
    """SCH204: onnx.checker's structural check (types are covered by strict inference); SCH207:
    what onnxruntime refuses of a model the checker accepts.

    An error when onnxruntime refuses the model too (analyzer.checks.ort_load_rules: the checks
    it shares with onnx.checker) or with `strict`; else a warning that says who rejects it.

    With external data the checker must be given the file's path: on a ModelProto it resolves
    external locations against the current directory. The proto it re-reads is small (the
    weights stay on disk), and the loader has already confined the locations to the folder."""
    try:
        if path is not None:
            onnx.checker.check_model(path, full_check=False)
        elif not check_model_weightless(model):  # large weights: checked without their bytes
            onnx.checker.check_model(model, full_check=False)
    except (onnx.checker.ValidationError, ValueError) as exc:
        first = " ".join(str(exc).strip().splitlines()[:2])[:400]
        blockers = load_blockers(model)
        if blockers:
            return [Finding.of(SCH204, f"onnx.checker: {first}; onnxruntime refuses the model "
                               f"too: {'; '.join(blockers)}", severity="error")]
        return [Finding.of(SCH204, f"onnx.checker: {first} (onnxruntime does not check this and "
                           f"loads the model; {OTHERS_REJECT})",
                           severity="error" if strict else "warning")]
    refusals = load_refusals(model)
    if refusals:
        return [Finding.of(SCH207, "onnx.checker accepts the model, but onnxruntime refuses it "
                           f"at load: {'; '.join(refusals)}",
                           fixes=[Fix("source", hint="import an opset onnxruntime knows; declare "
                                      "the value's element type")])]
    return []


def check_inference(errors: list[str], *, strict: bool = False) -> list[Finding]:
    """SCH206, one per inference error: an error when onnxruntime's own inference refuses the
    model for it (or with `strict`), else a warning that says why ORT tolerates it."""
    findings = []
    for e in errors:
        if "No Op registered" in e or "No opset import" in e:
            continue
        verdict = inference_verdict(e)
        severity: Severity
        if verdict.fatal:
            message, severity = f"shape/type inference: {e} ({verdict.why})", "error"
        else:
            message = (f"shape/type inference: {e} (onnxruntime tolerates it: {verdict.why}; "
                       "onnx.checker's full check and runtimes that run onnx's strict inference "
                       "reject it)")
            severity = "error" if strict else "warning"
        findings.append(Finding.of(
            SCH206, message, severity=severity,
            fixes=[Fix("source", hint="fix the types or shapes that inference names")]))
    return findings
