"""Add the rewrite rules that answer a finding to its fixes (`{"kind": "rewrite", "rule": id}`).

A post-processing step over the findings rather than edits inside each check: which rule
answers which finding is the rewrite catalogue's knowledge (rewrites.catalogue.FINDING_RULES),
and each candidate is confirmed against the finding's first node with the rule's own cheap,
static `proposes` test where the rule has one (expand-function: is there a body at this opset),
so a fix is only listed where the rule would fire."""

from __future__ import annotations

from analyzer.findings import Finding, Fix
from analyzer.inventory import Inventory, NodeRecord


def attach_rewrite_fixes(findings: list[Finding], inventory: Inventory,
                         target_opset: int | None = None) -> None:
    """Append rewrite fixes in place; a finding keeps the fixes it had, in front."""
    from rewrites.catalogue import rules_answering

    wanted = [f for f in findings if f.op and f.nodes]
    if not wanted:
        return
    first: dict[str, NodeRecord] = {}
    names = {f.nodes[0] for f in wanted}
    for record in inventory.nodes:
        if record.name in names and record.name not in first:
            first[record.name] = record
    opsets = dict(inventory.opset_imports)
    for finding in wanted:
        found = first.get(finding.nodes[0])
        if found is None:
            continue
        have = {fix.rule for fix in finding.fixes if fix.kind == "rewrite"}
        for rule_id in rules_answering(finding.id, found, opsets, target_opset):
            if rule_id not in have:
                finding.fixes.append(Fix("rewrite", rule=rule_id))
