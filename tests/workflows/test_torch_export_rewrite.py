"""export --rewrite end to end: a model with GroupNorm, HardSwish, Mish, LayerNorm, GELU and
causal scaled_dot_product_attention exported at opsets 13 and 11 with both exporters through
the source rules, checked (full_check), run on onnxruntime and compared with the module; the
demo model through the CLI. The module comes back unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import onnx
import onnx.checker
import onnxruntime as ort
import pytest
import torch
import torch.nn.functional as F

from analyzer.cli.main import main
from analyzer.workflows.torch_export import export_torch
from rewrites.torch.testing import build_mixed_model, max_abs_error, op_types

# ops with no version at (or below) these opsets, which the exporters would otherwise emit
NEWER_THAN = {13: {"HardSwish", "Mish", "LayerNormalization", "Trilu", "CastLike"},
              11: {"HardSwish", "Mish", "LayerNormalization", "Trilu", "CastLike", "Celu"}}


@pytest.fixture(scope="module")
def mixed() -> tuple[torch.nn.Module, tuple[torch.Tensor, ...]]:
    return build_mixed_model()


@pytest.mark.parametrize("exporter,opset", [
    ("torchscript", 13), ("torchscript", 11), ("dynamo", 13), ("dynamo", 11)])
def test_mixed_model_exports_through_the_rules(  # type: ignore[no-untyped-def]
        mixed, tmp_path: Path, exporter: str, opset: int) -> None:
    module, args = mixed
    kinds = [type(m) for m in module.modules()]
    out = tmp_path / "mixed.onnx"
    report = export_torch(module, args, out, opset=opset, exporter=exporter, rewrite=True)
    assert report.extras["exported"] and report.extras["delivered_opset"] == opset
    assert report.verdict != "fail", [f.message for f in report.findings if f.severity == "error"]
    applied = report.rewrites.applied
    expected = {"torchscript": {"torch:override-sdpa"},
                "dynamo": {"torch:decompose-layer-norm", "torch:decompose-hardswish",
                           "torch:decompose-mish"}}
    assert expected[exporter] <= set(applied)
    parity = report.extras["parity"]
    assert parity["passed"] and parity["samples"]
    assert max(o["max_abs"] for s in parity["samples"] for o in s["outputs"]) < 1e-4
    model = onnx.load(str(out))
    onnx.checker.check_model(model, full_check=True)
    assert not op_types(model) & NEWER_THAN[opset]
    ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert max_abs_error(model, module, args) < 1e-4  # also on the example input
    assert [type(m) for m in module.modules()] == kinds  # the module is as it was
    assert F.scaled_dot_product_attention is torch._C._nn.scaled_dot_product_attention


def test_without_rewrite_the_preflight_stops_and_lists_the_rule(  # type: ignore[no-untyped-def]
        mixed, tmp_path: Path) -> None:
    module, args = mixed
    report = export_torch(module, args, tmp_path / "m.onnx", opset=13, exporter="torchscript")
    assert report.extras["exported"] is False and not (tmp_path / "m.onnx").exists()
    sdpa = next(f for f in report.findings if f.id == "EXP101")
    assert {"kind": "rewrite", "rule": "torch:override-sdpa"} in [x.to_dict() for x in sdpa.fixes]


def test_demo_exports_at_13_from_the_cli(tmp_path: Path) -> None:
    out, report_path = tmp_path / "demo.onnx", tmp_path / "report.json"
    code = main(["export", "analyzer.demo_torch:build_demo_torch", "-o", str(out), "--opset",
                 "13", "--rewrite", "--format", "json", "--report", str(report_path)])
    report = json.loads(report_path.read_text())
    assert code == 0, [f["message"] for f in report["findings"] if f["severity"] == "error"]
    assert report["delivered_opset"] == 13  # extras are top-level keys of the JSON report
    assert {"torch:decompose-layer-norm", "torch:decompose-hardswish"} <= set(
        report["rewrites"]["applied"])
    assert report["parity"]["passed"]
    onnx.checker.check_model(onnx.load(str(out)), full_check=True)


def test_named_rules_and_unknown_rules(tmp_path: Path) -> None:
    from analyzer.demo_torch import build_demo_torch

    module, args = build_demo_torch()
    out = tmp_path / "demo.onnx"
    report = export_torch(module, args, out, opset=13, exporter="torchscript",
                          rules=["torch:override-sdpa", "torch:decompose-gelu"])
    assert report.rewrites.applied == ["torch:override-sdpa", "torch:decompose-gelu"]
    assert report.extras["parity"]["passed"] and report.extras["delivered_opset"] == 13
    assert main(["export", "analyzer.demo_torch:build_demo_torch", "-o", str(tmp_path / "x.onnx"),
                 "--rules", "torch:override-sdpa,no-such-rule"]) == 2
    assert not (tmp_path / "x.onnx").exists()
