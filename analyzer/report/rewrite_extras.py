"""The ONNX rewrite pass's block of a Report (`Report.rewrites`, JSON key `rewrites`, family
"onnx"): the pass's log, its verification, and the names of the nodes the rules inserted, so
that the HTML graph can mark them "rewritten"."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import onnx

from analyzer.report.model import RewritesBlock, RuleOutcome


def _node_names(model: onnx.ModelProto) -> Iterator[str]:
    """Names of every node, subgraphs included (unnamed nodes are skipped: they cannot be told
    apart before and after)."""
    stack = [model.graph]
    while stack:
        graph = stack.pop()
        for node in graph.node:
            if node.name:
                yield node.name
            for attr in node.attribute:
                if attr.type == onnx.AttributeProto.GRAPH:
                    stack.append(attr.g)
                elif attr.type == onnx.AttributeProto.GRAPHS:
                    stack.extend(attr.graphs)


def rewrite_block(original: onnx.ModelProto, result: Any, *, dry_run: bool = False,
                  output: str | None = None) -> RewritesBlock:
    """The block for a rewrites.RewriteResult: one outcome per log entry (its node, removed /
    added ops and measured errors in `details`), the max abs error per rule, and
    `rewritten_nodes` (names in the result that the original does not have)."""
    before = set(_node_names(original))
    inserted = sorted({n for n in _node_names(result.model) if n not in before})
    applied: list[str] = []
    for e in result.log:
        if e.status == "applied" and e.rule not in applied:
            applied.append(e.rule)
    return RewritesBlock(
        family="onnx", applied=applied, dry_run=dry_run, output=output,
        verification={"verified_with": result.verified_with,
                      "max_abs_error": dict(result.max_abs_error)},
        rules=[RuleOutcome(e.rule, e.exact, e.status, [e.node], e.reason,
                           {"removed": list(e.removed), "added": list(e.added),
                            "max_abs_error": e.max_abs_error,
                            "max_rel_error": e.max_rel_error}) for e in result.log],
        rewritten_nodes=inserted)
