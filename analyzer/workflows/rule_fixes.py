"""Add the rules that answer a finding to its fixes (`{"kind": "rewrite", "rule": id}`): the one
place where findings meet rules, for the ONNX, PyTorch and TensorFlow pre-flights.

A post-processing step over the findings rather than edits inside each check: which rule
answers which finding is each rule's own declaration (`answers`, rewrites.contract.Rule), and
each candidate is confirmed where the finding points with the rule's cheap, static `proposes`
test (onnx:expand-function: is there a body at this opset; a TF rule: does it target the op at the
opset), so a fix is only listed where the rule would fire. Rules are tried in registry order."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any

from analyzer.findings import Finding, Fix
from analyzer.inventory import Inventory, NodeRecord
from rewrites import registry
from rewrites.contract import Family, Site
from rewrites.torch.rule import SourceModel


def attach_rule_fixes(findings: Sequence[Finding], family: Family,
                      site: Callable[[Finding], Site | None],
                      among: Collection[str] | None = None, first: bool = False) -> None:
    """Add, in place, a rewrite fix for every rule of `family` (only those in `among` when
    given) that answers the finding's id and proposes itself at its `site` (None: the finding
    points nowhere a rule can read). A finding keeps the fixes it had, in front, unless
    `first` puts the rule fixes before them."""
    candidates = [r for r in registry.rules(family) if among is None or r.id in among]
    for finding in findings:
        answering = [r for r in candidates if finding.id in r.answers]
        if not answering:
            continue
        where = site(finding)
        if where is None:
            continue
        have = {fix.rule for fix in finding.fixes if fix.kind == "rewrite"}
        extra = [Fix("rewrite", rule=r.id) for r in answering
                 if r.id not in have and r.proposes(where)]
        if first:
            finding.fixes[:0] = extra
        else:
            finding.fixes.extend(extra)


def attach_rewrite_fixes(findings: list[Finding], inventory: Inventory,
                         target_opset: int | None = None) -> None:
    """The ONNX pre-flight's fixes (analyzer.onnx_analysis.analyze_onnx's `attach_fixes`): the
    site is the finding's first node."""
    wanted = [f for f in findings if f.op and f.nodes]
    if not wanted:
        return
    first: dict[str, NodeRecord] = {}
    names = {f.nodes[0] for f in wanted}
    for record in inventory.nodes:
        if record.name in names and record.name not in first:
            first[record.name] = record
    opsets = dict(inventory.opset_imports)

    def site(finding: Finding) -> Site | None:
        record = first.get(finding.nodes[0])
        if record is None:
            return None
        return Site(finding.id, record.op, record.domain, record, opsets, target_opset)

    attach_rule_fixes(wanted, "onnx", site)


def attach_source_fixes(findings: Sequence[Finding], proposals: Sequence[Any],
                        source: SourceModel | None = None) -> None:
    """The PyTorch pre-flight's fixes: the proposed source rules (rewrites.torch.proposals)
    that answer each finding."""
    proposed = {p.rule for p in proposals if p.status == "proposed"}
    exporter = source.exporter if source is not None else None
    attach_rule_fixes(findings, "torch",
                      lambda f: Site(f.id, f.op or "", exporter=exporter), among=proposed)


def attach_tf_fixes(findings: Sequence[Finding], opset: int) -> None:
    """The TensorFlow pre-flight's fixes: the rules that convert the finding's op at `opset`,
    listed before the fixes the finding had."""
    attach_rule_fixes(findings, "tf",
                      lambda f: Site(f.id, f.op, target_opset=opset) if f.op else None,
                      first=True)
