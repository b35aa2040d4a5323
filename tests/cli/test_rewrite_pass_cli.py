"""`onnx-preflight rewrite` as the findings-driven pass: --target-opset, --providers, the JSON
report with the RewriteLog and placement before/after, and --dry-run proposals with reasons."""

from __future__ import annotations

import json

import onnx

from rewrites.onnx.cuda_fallback_test import MODEL as FALLBACK_MODEL
from rewrites.onnx.version_convert_test import FUNCTION_OPS
from tests.fixtures.cli import cli


def test_target_opset_and_cuda_placement_in_the_json_report(tmp_path):
    src, out = tmp_path / "in.onnx", tmp_path / "out.onnx"
    onnx.save_model(FALLBACK_MODEL, src)
    before = src.read_bytes()
    res = cli("rewrite", str(src), "-o", str(out), "--providers", "cuda,cpu",
              "--target-opset", "17", "--format", "json")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert src.read_bytes() == before
    applied = {e["rule"] for e in data["log"] if e["status"] == "applied"}
    assert {"onnx:cuda-fallback", "onnx:version-convert"} <= applied
    assert applied <= {"onnx:cuda-fallback", "onnx:expand-function", "onnx:version-convert"}
    cuda = "CUDAExecutionProvider"
    assert len(data["placement"]["before"][cuda]["fallback_nodes"]) == 3
    assert data["placement"]["after"][cuda]["fallback_nodes"] == []
    assert (data["placement"]["after"][cuda]["partitions"]
            < data["placement"]["before"][cuda]["partitions"])
    assert any(f["id"] == "EP302" for f in data["findings"]["before"])
    assert not any(f["id"] == "EP302" for f in data["findings"]["after"])
    written = onnx.load(out)
    assert {i.domain: i.version for i in written.opset_import}[""] == 17
    onnx.checker.check_model(written, full_check=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.onnx", "out.onnx"]


def test_dry_run_prints_proposals_and_reasons(tmp_path):
    src = tmp_path / "in.onnx"
    onnx.save_model(FUNCTION_OPS, src)
    res = cli("rewrite", str(src), "--dry-run", "--target-opset", "13", "-v")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert any(line.strip().startswith("proposed") and "onnx:layer-norm-decompose" in line
               and "-LayerNormalization" in line for line in lines)
    assert any("onnx:version-convert" in line and "opset 13" in line for line in lines)
    assert any("onnx:approx-relu" in line and "approximate" in line for line in lines)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.onnx"]


def test_bad_target_opset_is_a_usage_error(tmp_path):
    src = tmp_path / "in.onnx"
    onnx.save_model(FUNCTION_OPS, src)
    res = cli("rewrite", str(src), "--dry-run", "--target-opset", "0")
    assert res.returncode == 2 and "--target-opset" in res.stderr
    assert "Traceback" not in res.stderr
