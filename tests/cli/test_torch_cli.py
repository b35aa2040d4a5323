"""`analyze` and `export` with a PyTorch source given as package.module:factory."""

from __future__ import annotations

import json

import onnx

from tests.fixtures.cli import cli


def test_analyze_torch_spec_reports_the_opset_fallback_and_exits_1():
    res = cli("analyze", "tests.fixtures.torch_models:norm_act", "--opset", "13",
              "--format", "json")
    assert res.returncode == 1, res.stderr[-500:]
    data = json.loads(res.stdout)
    assert data["model"]["format"] == "torch"
    assert data["target"]["exporter"] == "dynamo"
    assert "EXP103" in {f["id"] for f in data["findings"]}


def test_analyze_torch_spec_with_input_specs():
    res = cli("analyze", "tests.fixtures.torch_models:plain", "--input", "x:float32[3,8]",
              "--exporter", "torchscript", "--opset", "11", "--format", "json")
    assert res.returncode == 0, res.stderr[-500:]
    data = json.loads(res.stdout)
    assert data["model"]["inputs"][0]["shape"] == [3, 8]
    assert {op["op"] for op in data["ops"]} >= {"aten::linear", "aten::relu"}


def test_torch_spec_errors_are_one_line():
    missing = cli("analyze", "tests.torch.no_such_module:f", "--input", "x:float32[1]")
    assert missing.returncode == 2 and "TORCH_FACTORY_NOT_FOUND" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1
    no_inputs = cli("analyze", "tests.fixtures.torch_models:plain")
    assert no_inputs.returncode == 2 and "--input" in no_inputs.stderr
    bad_input = cli("analyze", "tests.fixtures.torch_models:plain", "--input", "x:complex[2]")
    assert bad_input.returncode == 2 and "dtype" in bad_input.stderr


def test_export_command_writes_the_onnx_file(tmp_path):
    out = tmp_path / "plain.onnx"
    res = cli("export", "tests.fixtures.torch_models:plain", "--input", "x:float32[2,8]",
              "-o", str(out), "--opset", "17", "--format", "json")
    assert res.returncode == 0, res.stderr[-500:]
    data = json.loads(res.stdout)
    assert data["exported"] is True and data["delivered_opset"] == 17
    model = onnx.load(out)
    assert {i.domain: i.version for i in model.opset_import}[""] == 17
