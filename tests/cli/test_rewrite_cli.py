"""`onnx-preflight rewrite`: verified rules on a copy; the input is never touched."""

from __future__ import annotations

import json

import numpy as np
import onnx
import onnxruntime as ort

from tests.fixtures.cli import cli
from tests.fixtures.onnx_models import parse

HARDSWISH = """<ir_version: 8, opset_import: ["" : 14]>
g (float[2,8] x) => (float[2,8] y) { h = HardSwish(x)
  y = Relu(h) }"""


def test_rewrite_expands_function_ops_and_keeps_the_outputs(tmp_path):
    src, out = tmp_path / "in.onnx", tmp_path / "out.onnx"
    onnx.save_model(parse(HARDSWISH), src)
    before = src.read_bytes()
    res = cli("rewrite", str(src), "-o", str(out), "--format", "json")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    applied = [e for e in data["log"] if e["status"] == "applied"]
    assert [e["rule"] for e in applied] == ["onnx:expand-function"]
    assert "HardSwish" in applied[0]["removed"]
    assert src.read_bytes() == before
    ops = [n.op_type for n in onnx.load(out).graph.node]
    assert "HardSwish" not in ops and "Relu" in ops
    x = np.random.default_rng(0).standard_normal((2, 8)).astype(np.float32)
    a = ort.InferenceSession(str(src)).run(None, {"x": x})[0]
    b = ort.InferenceSession(str(out)).run(None, {"x": x})[0]
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_dry_run_writes_nothing_and_usage_errors_exit_2(tmp_path):
    src = tmp_path / "in.onnx"
    onnx.save_model(parse(HARDSWISH), src)
    dry = cli("rewrite", str(src), "--dry-run")
    assert dry.returncode == 0 and "proposed" in dry.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.onnx"]
    assert cli("rewrite", str(src)).returncode == 2
    assert cli("rewrite", str(src), "-o", str(src)).returncode == 2
    assert cli("rewrite", str(src), "--dry-run", "--rules", "nope").returncode == 2
