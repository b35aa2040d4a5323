"""The rewrite block of a Report (`extras["rewrite"]`): the pass's log plus the names of the nodes
the rules inserted, so that the HTML graph can mark them "rewritten". Kept as plain data (the
JSON report carries it unchanged)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import onnx


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
                  output: str | None = None) -> dict[str, Any]:
    """extras["rewrite"] for a rewrites.RewriteResult: log entries as dicts, the rule's max abs
    errors, and `rewritten_nodes` (names in the result that the original does not have)."""
    before = set(_node_names(original))
    inserted = sorted({n for n in _node_names(result.model) if n not in before})
    return {
        "dry_run": dry_run,
        "output": output,
        "verified_with": result.verified_with,
        "max_abs_error": dict(result.max_abs_error),
        "log": [dataclasses.asdict(e) for e in result.log],
        "rewritten_nodes": inserted,
    }
