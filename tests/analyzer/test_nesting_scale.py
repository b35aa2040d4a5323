"""Analysis is linear in the nodes whatever the nesting (issue 16): If / Loop / Scan nested 30
deep, 1,000 Ifs side by side and a 10,000-node Loop body are analyzed whole, every node counted.

Once, an unnamed node's synthetic name carried its graph's label and that name went into the
label of its subgraphs, so labels doubled at each level: 12 levels took 5.6 s and 670 MB, 20 never
finished. The assertions below are on what is counted and named; the one wall-clock guard is
generous and marked slow."""

from __future__ import annotations

import time

import onnx
import pytest

import analyzer
from tests.fixtures import nesting_models as nm


def _unnamed(model: onnx.ModelProto) -> onnx.ModelProto:
    """The hostile form: no node has a name, so the analyzer makes them up."""
    stack = [model.graph]
    while stack:
        graph = stack.pop()
        for node in graph.node:
            node.ClearField("name")
            stack.extend(a.g for a in node.attribute if a.type == onnx.AttributeProto.GRAPH)
    return model


@pytest.mark.parametrize("build", [nm.nested_if, nm.nested_loop, nm.nested_scan])
def test_thirty_deep_nesting_is_analyzed_whole(build):
    model = _unnamed(build(30))
    report = analyzer.analyze(model, providers=("cuda", "cpu"))
    assert report.model.nodes == nm.node_count(model)
    assert sum(op.count for op in report.ops) == report.model.nodes
    assert not [f for f in report.findings if f.severity == "error"], report.findings
    names = [d.name for op in report.ops for d in op.nodes]
    assert len(set(names)) == len(names)  # unique names, however deep
    # a name grows with the depth, not with 2 ** depth
    assert max(len(d.graph) for op in report.ops for d in op.nodes) < 40 * 31
    graph = report.graph_payload()  # the HTML graph of a 30-deep model draws too
    assert len(graph["nodes"]) == report.model.nodes
    # every level but the innermost one-node body is a group of its own
    assert sum(g["kind"] == "subgraph" for g in graph["groups"]) >= 29


def test_side_by_side_and_big_bodies_count_every_node():
    side = analyzer.analyze(_unnamed(nm.side_by_side_if(1000)), providers=("cuda", "cpu"))
    assert side.model.nodes == 3000
    assert {op.op: op.count for op in side.ops} == {"If": 1000, "Relu": 1000, "Neg": 1000}
    body = analyzer.analyze(nm.big_loop_body(10_000), providers=("cpu",))
    assert body.model.nodes == 10_001
    assert {op.op: op.count for op in body.ops}["Abs"] == 3333


def test_the_graph_payload_is_built_only_when_asked():
    model = nm.nested_if(3)
    report = analyzer.analyze(model)
    assert "graph" not in report.extras and "graph" not in report.to_dict()
    assert report.graph_payload()["nodes"]  # built from what the report keeps
    eager = analyzer.analyze(model, graph=True)
    assert eager.to_dict()["graph"] == report.graph_payload()


@pytest.mark.slow
def test_thirty_deep_if_analyzes_in_bounded_time():
    model = _unnamed(nm.nested_if(30))
    start = time.perf_counter()
    report = analyzer.analyze(model, providers=("cuda", "cpu"))
    report.to_html()
    assert time.perf_counter() - start < 60
