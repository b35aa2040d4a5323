"""Link the TensorFlow pre-flight's findings to the rescue rules of rewrites/tensorflow.

Every TFC601 (no handler), TFC602 (needs a higher opset) or TFC613 (handler refuses) finding
whose op a rule answers at the target opset lists that rule among its fixes. With
`rewrite=True` the rules are planned (exact ones, plus approximate ones the user named), and a
finding a planned rule answers becomes TFC630 (info: "rule R converts op X"), so the verdict
reflects the conversion that will run; the plan goes into the report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from analyzer.error_codes import USAGE
from analyzer.errors import InputError
from analyzer.finding_ids import TFC630
from analyzer.findings import Finding, Fix
from analyzer.report.model import RewritesBlock
from analyzer.workflows.rule_fixes import attach_tf_fixes
from rewrites.contract import UnknownRule
from rewrites.tensorflow.plan import plan
from rewrites.tensorflow.rule import TFNode


def link_rules(findings: list[Finding], nodes: Sequence[Any], opset: int, rewrite: bool,
               named: Sequence[str] = ()) -> tuple[list[Finding], RewritesBlock | None]:
    """(findings with rule fixes, and with `rewrite` the answered ones turned into TFC630;
    the plan as the report's rewrites block, or None without `rewrite`). `nodes`: the
    TfNodes of the source."""
    out = [replace(f, fixes=list(f.fixes)) for f in findings]  # the caller's stay as they are
    attach_tf_fixes(out, opset)
    if not rewrite:
        return out, None
    try:
        chosen = plan([TFNode(n.name, n.op, dict(n.attrs), n.graph) for n in nodes], opset,
                      named)
    except UnknownRule as exc:
        raise InputError(None, USAGE, str(exc)) from None
    covered = {op: rule for rule, match in chosen.matches for op in match.payload.ops}
    final: list[Finding] = []
    for f in out:
        rule = covered.get(f.op or "")
        if rule is not None and f.id not in rule.answers:
            rule = None
        if rule is None:
            final.append(f)
            continue
        kind = "exact" if rule.exact else "approximate"
        final.append(Finding(
            TFC630.id, "info",
            f"rule {rule.id} ({kind}) converts {f.op} at opset {opset}: its tf2onnx handler is "
            f"installed for this conversion ({len(f.nodes)} node(s))",
            op=f.op, nodes=list(f.nodes), fixes=[Fix("rewrite", rule=rule.id)]))
    return final, chosen.to_block()
