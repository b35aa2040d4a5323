"""Findings from the placement prediction (EP3xx): nodes no provider can run, CPU fallbacks from
an accelerator, function expansion, float16 casts, partitions and device copies."""

from __future__ import annotations

from collections import defaultdict

from analyzer.checks.fix_texts import fallback_fix
from analyzer.checks.placement import CPU, NodePlacement, Placement
from analyzer.finding_ids import EP301, EP302, EP303, EP304, EP305, EP306, FindingKind
from analyzer.findings import Finding, Fix
from opsets.query import match_kernel, short_type
from opsets.tables import SchemaTable, short_provider


def _types(node_types: tuple[str | None, ...]) -> str:
    return ", ".join(short_type(t) for t in node_types if t) or "unknown types"



def check_providers(placement: Placement, schemas: SchemaTable) -> list[Finding]:
    """Aggregate node-level placement into findings, one per (op, problem, provider)."""
    findings: list[Finding] = []
    failing: dict[tuple[str, str, int | None, tuple[str | None, ...]], list[NodePlacement]] = (
        defaultdict(list)
    )
    for leaf in placement.leaves():
        if leaf.provider is None and leaf.how != "constant":
            n = leaf.node
            failing[(n.domain, n.op, n.since_version, n.input_types)].append(leaf)
    for (domain, op, version, types), leaves in sorted(failing.items(), key=lambda kv: kv[0][1]):
        first = leaves[0]
        reasons = "; ".join(
            f"{short_provider(p)}: {s.reason}" for p, s in first.statuses.items() if s.reason
        )
        providers = ", ".join(short_provider(p) for p in placement.providers)
        findings.append(
            Finding.of(
                EP301,
                f"no kernel for {op}-{version} ({_types(types)}) on {providers}: session "
                f"creation fails ({reasons})",
                op=op, domain=domain, nodes=[lf.node.name for lf in leaves],
                location=first.node.location,
                fixes=_alternatives(first, placement.providers, schemas),
            )
        )
    primary = placement.providers[0]
    if primary != CPU:
        findings.extend(_fallbacks(placement, primary, schemas))
    findings.extend(_by_how(placement, "expanded", EP303))
    findings.extend(_by_how(placement, "cast", EP304))
    findings.extend(_partitions(placement, primary))
    unchecked = [lf.node.name for lf in placement.leaves() if not lf.type_checked]
    if unchecked:
        findings.append(
            Finding.of(
                EP306,
                f"{len(unchecked)} node(s) have inputs of unknown type: kernels matched by version "
                "only",
                nodes=unchecked,
                fixes=[Fix("source", hint="export with static input types or run "
                           "onnx.shape_inference so every tensor has a type")],
            )
        )
    return findings


def _alternatives(leaf: NodePlacement, providers: list[str], schemas: SchemaTable) -> list[Fix]:
    """What would make a kernel exist: another opset (same types) or other element types."""
    n = leaf.node
    fixes: list[Fix] = []
    for version in schemas.versions(n.domain, n.op):
        if version.since_version == n.since_version:
            continue
        for p in providers:
            m = match_kernel(p, version, n.domain, n.op, version.since_version, n.input_types,
                             n.output_types)
            if m.ok and m.type_checked:
                fixes.append(Fix("opset", min=version.since_version))
                break
        if fixes:
            break
    fixes.append(Fix("source", hint=f"cast the inputs of {n.op} to a type the providers support, "
                     "or replace the op"))
    return fixes


def _fallbacks(placement: Placement, primary: str, schemas: SchemaTable) -> list[Finding]:
    groups: dict[tuple[str, str, int | None, str], list[NodePlacement]] = defaultdict(list)
    for node in placement.nodes:
        status = node.statuses.get(primary)
        if status and status.status == "fallback":
            for leaf in node.leaves():
                if leaf.provider and leaf.provider != primary:
                    groups[(node.node.domain, node.node.op, node.node.since_version,
                            leaf.provider)].append(node)
                    break
    findings = []
    for (domain, op, version, to), nodes in sorted(groups.items(), key=lambda kv: kv[0][1]):
        reason = nodes[0].statuses[primary].reason.rsplit("; runs on ", 1)[0]
        findings.append(
            Finding.of(
                EP302,
                f"{op}-{version} falls back from {short_provider(primary)} to "
                f"{short_provider(to)}: {reason}",
                op=op, domain=domain, nodes=[n.node.name for n in nodes],
                location=nodes[0].node.location, provider=primary,
                fixes=[Fix("source", hint=fallback_fix(nodes[0].node, primary, schemas))],
            )
        )
    return findings


def _by_how(placement: Placement, how: str, kind: FindingKind) -> list[Finding]:
    groups: dict[tuple[str, str, int | None], list[NodePlacement]] = defaultdict(list)

    def visit(node: NodePlacement) -> None:
        if node.how == how:
            groups[(node.node.domain, node.node.op, node.node.since_version)].append(node)
        for child in node.body:
            visit(child)

    for node in placement.nodes:
        visit(node)
    findings = []
    for (domain, op, _version), nodes in sorted(groups.items(), key=lambda kv: kv[0][1]):
        if not all(n.runs for n in nodes):
            continue  # EP301 already says it fails
        findings.append(
            Finding.of(
                kind, f"{op}: {nodes[0].note}",
                op=op, domain=domain, nodes=[n.node.name for n in nodes],
                location=nodes[0].node.location,
            )
        )
    return findings


def _partitions(placement: Placement, primary: str) -> list[Finding]:
    summary = placement.summaries.get(primary)
    if summary is None or primary == CPU or summary.device_copies == 0:
        return []
    return [
        Finding.of(
            EP305,
            f"{short_provider(primary)} runs {summary.predicted_nodes} node(s) in "
            f"{summary.partitions} "
            f"partition(s) with {summary.device_copies} device copies between them and the CPU",
            provider=primary,
            fixes=[Fix("source", hint="remove the CPU fallbacks listed above to keep tensors on "
                       "the device")],
        )
    ]
