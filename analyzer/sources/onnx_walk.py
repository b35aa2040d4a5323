"""Walking a model's nested graphs (If / Loop / Scan bodies), and handing nodes set aside in a
private domain back to the default domain: one definition for the load checks, the rewrite
rules, the adapters and the version-convert pass (which each park nodes under a domain of their
own while onnx's converter runs). Only for models the loader accepted: the loader's own checks
(onnx_graph_check) read attributes of any declared type on purpose."""

from __future__ import annotations

from collections.abc import Iterator

import onnx


def subgraphs(node: onnx.NodeProto) -> Iterator[onnx.GraphProto]:
    """The graphs a node's attributes hold (If branches, Loop / Scan bodies)."""
    for attr in node.attribute:
        if attr.type == onnx.AttributeProto.GRAPH:
            yield attr.g
        elif attr.type == onnx.AttributeProto.GRAPHS:
            yield from attr.graphs


def walk_graphs(graph: onnx.GraphProto) -> Iterator[onnx.GraphProto]:
    """`graph` and every graph nested in it, depth first. A graph's bodies are read once the
    caller has gone through it, so a caller may edit its nodes on the way."""
    stack = [graph]
    while stack:
        g = stack.pop()
        yield g
        for node in g.node:
            stack.extend(subgraphs(node))


def walk_nodes(graph: onnx.GraphProto) -> Iterator[onnx.NodeProto]:
    """Every node of `graph` and of the graphs nested in it (see walk_graphs)."""
    for g in walk_graphs(graph):
        yield from g.node


def to_default_domain(model: onnx.ModelProto, domain: str) -> int:
    """Put the nodes parked under `domain` back into the default domain, at every depth, and
    drop `domain`'s opset import; the count of nodes moved."""
    count = 0
    for node in walk_nodes(model.graph):
        if node.domain == domain:
            node.domain = ""
            count += 1
    kept = [i for i in model.opset_import if i.domain != domain]
    del model.opset_import[:]
    model.opset_import.extend(kept)
    return count
