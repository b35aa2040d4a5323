"""Per-node detail in the JSON report: by default only the notable nodes (a finding names them
or their placement is not the default one); `nodes="all"` / `--nodes all` gives back every one."""

from __future__ import annotations

import gc
import json

import onnx
import pytest

import analyzer
from analyzer.demo_model import build_demo_model
from tests.fixtures.cli import cli
from tests.fixtures.onnx_models import parse

# Three Relus CUDA runs, one LpNormalization it has no kernel for (falls back to CPU, EP302),
# and a float16 Add that CPU cannot run but CUDA can (CPU status "fallback", placed on CUDA).
CHAIN = """<ir_version: 10, opset_import: ["" : 21]>
g (float[2,8] x, float16[2,8] h) => (float[2,8] y, float16[2,8] z) {
    a = Relu(x)
    b = LpNormalization<axis = -1, p = 2>(a)
    c = Relu(b)
    y = Relu(c)
    z = Add(h, h)
}"""


def _named(model: onnx.ModelProto) -> onnx.ModelProto:
    for i, node in enumerate(model.graph.node):
        node.name = f"{node.op_type}_{i}"
    return model


def _nodes(data: dict) -> dict[str, list[str]]:
    return {op["op"]: [n["name"] for n in op["nodes"]] for op in data["ops"]}


def test_default_json_keeps_only_nodes_with_a_finding_or_another_placement():
    report = analyzer.analyze(_named(parse(CHAIN)), providers=("cuda", "cpu"))
    data = report.to_dict()
    assert data["node_detail"] == "notable"
    # The fallback node is named by EP302 and placed on CPU, not on CUDA (the first provider).
    assert _nodes(data)["LpNormalization"] == ["LpNormalization_1"]
    lp = data["ops"][[o["op"] for o in data["ops"]].index("LpNormalization")]["nodes"][0]
    assert lp["assigned"] == "CPUExecutionProvider"
    # Plain CUDA nodes, and a node CPU could not run but CUDA (first) does, leave no detail...
    assert _nodes(data)["Relu"] == [] and _nodes(data)["Add"] == []
    # ...while the op rows keep their counts and worst statuses.
    add = next(o for o in data["ops"] if o["op"] == "Add")
    assert add["count"] == 1 and add["providers"]["CPUExecutionProvider"]["status"] == "fallback"
    # The in-memory report keeps every node, and nodes="all" gives every one back.
    assert sum(len(o.nodes) for o in report.ops) == 5
    full = report.to_dict(nodes="all")
    assert full["node_detail"] == "all"
    assert sorted(n for names in _nodes(full).values() for n in names) == sorted(
        n.name for o in report.ops for n in o.nodes)
    assert all(o["count"] == len(o["nodes"]) for o in full["ops"])


def test_cpu_first_keeps_the_nodes_cpu_cannot_run():
    report = analyzer.analyze(_named(parse(CHAIN)), providers=("cpu", "cuda"))
    names = _nodes(report.to_dict())
    assert names["Add"] == ["Add_4"]  # CPU (first) has no float16 Add: runs on CUDA
    assert names["Relu"] == []


def test_without_providers_only_nodes_named_by_findings_stay():
    report = analyzer.analyze(build_demo_model(), providers=())
    named = {n for f in report.findings for n in f.nodes}
    kept = {n for names in _nodes(report.to_dict()).values() for n in names}
    assert kept == named & {n.name for o in report.ops for n in o.nodes}


def test_unknown_mode_is_refused():
    report = analyzer.analyze(build_demo_model(), providers=("cpu",))
    with pytest.raises(ValueError, match="nodes must be one of"):
        report.to_dict(nodes="some")  # type: ignore[arg-type]


def test_cli_nodes_all_brings_back_every_node(tmp_path):
    path = tmp_path / "chain.onnx"
    onnx.save_model(_named(parse(CHAIN)), path)
    default = cli("analyze", str(path), "--providers", "cuda,cpu", "--format", "json")
    every = cli("analyze", str(path), "--providers", "cuda,cpu", "--format", "json",
                "--nodes", "all")
    assert default.returncode == every.returncode == 0, default.stderr + every.stderr
    assert sum(len(v) for v in _nodes(json.loads(default.stdout)).values()) == 1
    assert sum(len(v) for v in _nodes(json.loads(every.stdout)).values()) == 5
    bad = cli("analyze", str(path), "--nodes", "some")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_a_report_carrying_its_graph_keeps_every_node_its_refs_point_at():
    report = analyzer.analyze(_named(parse(CHAIN)), providers=("cuda", "cpu"), graph=True)
    data = report.to_dict()
    assert data["node_detail"] == "all"
    for op_index, node_index, _group in data["graph"]["nodes"]:  # [op, node, group]
        assert node_index < len(data["ops"][op_index]["nodes"])


def test_batch_rows_follow_nodes(tmp_path):
    for name in ("a.onnx", "b.onnx"):
        onnx.save_model(_named(parse(CHAIN)), tmp_path / name)
    for mode, kept in (("notable", 1), ("all", 5)):
        res = cli("analyze", str(tmp_path), "--providers", "cuda,cpu", "--format", "json",
                  "--nodes", mode, "--jobs", "1")
        assert res.returncode == 0, res.stderr
        rows = json.loads(res.stdout)
        assert len(rows) == 2
        for row in rows:
            assert row["report"]["node_detail"] == mode
            assert sum(len(v) for v in _nodes(row["report"]).values()) == kept


def test_analysis_restores_the_collector_and_leaves_nothing_frozen():
    assert gc.isenabled()
    analyzer.analyze(_named(parse(CHAIN)), providers=("cuda", "cpu"))
    assert gc.isenabled() and gc.get_freeze_count() == 0
    gc.disable()
    try:
        analyzer.analyze(_named(parse(CHAIN)), providers=("cuda", "cpu"))
        assert not gc.isenabled()
    finally:
        gc.enable()
    gc.freeze()  # a caller's own frozen objects stay frozen
    try:
        frozen = gc.get_freeze_count()
        analyzer.analyze(_named(parse(CHAIN)), providers=("cuda", "cpu"))
        # (a frozen object that the call freed leaves the count, so: most of them, not all)
        assert gc.get_freeze_count() > frozen // 2
    finally:
        gc.unfreeze()
