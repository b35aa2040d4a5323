"""The JSON report is a contract (DESIGN.md): these tests pin its shape."""

from __future__ import annotations

import json

import analyzer
from analyzer.demo_model import build_demo_model

TOP_KEYS = {"schema", "tool", "environment", "model", "target", "ops", "findings", "placement",
            "verdict"}


def test_demo_report_follows_the_contract():
    report = analyzer.analyze(build_demo_model(), providers=("cuda", "cpu"))
    data = json.loads(report.to_json(nodes="all"))
    assert set(data) >= TOP_KEYS
    assert data["node_detail"] == "all"
    assert data["schema"] == "onnx-preflight/report/2"
    assert data["tool"]["name"] == "onnx-preflight"
    assert set(data["environment"]) == {"onnx", "onnxruntime", "torch", "tensorflow", "tf2onnx"}
    model = data["model"]
    assert model["format"] == "onnx" and model["opset_imports"] == {"": 20}
    assert model["nodes"] == len(build_demo_model().graph.node)
    assert model["inputs"] == [{"name": "image", "dtype": "tensor(float)", "shape": [1, 3, 32, 32]}]
    assert model["parameters"] > 0
    assert data["target"]["providers"] == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    for op in data["ops"]:
        assert {"op", "domain", "count", "source_ops", "converter", "onnx", "providers"} <= set(op)
        assert op["onnx"]["status"] in {"ok", "unknown_op", "needs_opset", "deprecated"}
        for st in op["providers"].values():
            assert st["status"] in {"ok", "fallback", "none"}
        assert op["count"] == len(op["nodes"])
    assert sum(op["count"] for op in data["ops"]) == model["nodes"]
    for f in data["findings"]:
        assert {"id", "severity", "op", "nodes", "location", "message", "fixes"} <= set(f)
        for fix in f["fixes"]:
            assert fix["kind"] in {"opset", "rewrite", "source"}
    cuda = data["placement"]["CUDAExecutionProvider"]
    assert set(cuda) == {"predicted_nodes", "fallback_nodes", "partitions", "device_copies",
                         "actual"}
    assert data["verdict"] in {"pass", "warn", "fail"}


def test_lpnormalization_falls_back_from_cuda_in_the_demo():
    report = analyzer.analyze(build_demo_model(), providers=("cuda", "cpu"))
    lp = next(o for o in report.ops if o.op == "LpNormalization")
    assert lp.providers["CUDAExecutionProvider"]["status"] == "fallback"
    ep302 = [f for f in report.findings if f.id == "EP302" and f.op == "LpNormalization"]
    assert ep302 and ep302[0].provider == "CUDAExecutionProvider"
    assert report.placement["CUDAExecutionProvider"]["device_copies"] >= 2
    assert report.verdict == "warn"


def test_markdown_lists_every_op_and_finding():
    report = analyzer.analyze(build_demo_model(), providers=("cuda", "cpu"))
    md = report.to_markdown()
    for op in report.ops:
        assert f"| {op.op} |" in md
    for f in report.findings:
        assert f"`{f.id}`" in md
