"""The CLI as a user runs it: a real subprocess, real files, exit codes, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import onnx
import pytest

from analyzer.demo_model import build_demo_model
from tests.fixtures.cli import ROOT, cli, unreferenced_files
from tests.fixtures.onnx_models import parse


@pytest.fixture(scope="module")
def demo_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.onnx"
    onnx.save_model(build_demo_model(), path)
    return path


@pytest.fixture(scope="module")
def failing_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("fail") / "relu_bf16.onnx"
    onnx.save_model(parse("""<ir_version: 10, opset_import: ["" : 20]>
        g (bfloat16[2,3] x) => (bfloat16[2,3] y) { y = Relu(x) }"""), path)
    return path


def test_json_output_is_the_report_and_exit_status_follows_the_verdict(demo_path):
    res = cli("analyze", str(demo_path), "--providers", "cuda,cpu", "--format", "json")
    data = json.loads(res.stdout)
    assert data["schema"] == "onnx-preflight/report/2"
    assert data["verdict"] == "warn"
    assert res.returncode == 0, res.stderr
    strict = cli("analyze", str(demo_path), "--providers", "cuda,cpu", "--format", "json",
                 "--fail-on", "warning")
    assert strict.returncode == 1


def test_failing_model_exits_1_and_names_the_op(failing_path):
    res = cli("analyze", str(failing_path))
    assert res.returncode == 1
    assert "EP301" in res.stdout and "Relu" in res.stdout


def test_output_file_is_written_and_markdown_has_the_tables(demo_path, tmp_path):
    out = tmp_path / "report.md"
    res = cli("analyze", str(demo_path), "--providers", "cuda", "--format", "md", "-o", str(out))
    assert res.returncode == 0, res.stderr
    text = out.read_text()
    assert text.startswith("# onnx-preflight report")
    assert "| LpNormalization |" in text
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]  # no temp files left


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda d: d / "missing.onnx", "no such file"),
        (lambda d: d, "directory"),
        (lambda d: (d / "empty.onnx").write_bytes(b"") or d / "empty.onnx", "empty"),
        (lambda d: (d / "noise.onnx").write_bytes(os.urandom(64) * 3) or d / "noise.onnx", ""),
    ],
)
def test_bad_input_is_one_line_exit_2_without_traceback(tmp_path, make, expected):
    path = make(tmp_path)
    res = cli("analyze", str(path), "-o", str(tmp_path / "out.json"), "--format", "json")
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert "Traceback" not in res.stderr
    assert str(path) in lines[0] and expected in lines[0]
    assert not (tmp_path / "out.json").exists()


def test_usage_errors_exit_2(demo_path):
    assert cli("analyze", str(demo_path), "--providers", "tpu").returncode == 2
    assert cli("analyze", str(demo_path), "--opset", "0").returncode == 2
    assert cli("analyze").returncode == 2


def test_opsets_query_lists_versions_and_providers():
    res = cli("opsets", "LayerNormalization", "--opset", "17", "--format", "json")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["resolved"] == 17
    assert set(data["providers"]) >= {"CPUExecutionProvider", "CUDAExecutionProvider"}
    unknown = cli("opsets", "LayerNorm")
    assert unknown.returncode == 2 and "LayerNormalization" in unknown.stderr


def test_help_and_analyze_do_not_import_torch_or_tensorflow(demo_path):
    code = (
        "import sys; from analyzer.cli.main import main\n"
        "try:\n    main(['analyze', sys.argv[1], '--format', 'json'])\n"
        "except SystemExit:\n    pass\n"
        "heavy = [m for m in ('torch', 'tensorflow', 'tf2onnx') if m in sys.modules]\n"
        "print('HEAVY=' + ','.join(heavy))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    res = subprocess.run([sys.executable, "-c", code, str(demo_path)], capture_output=True,
                         text=True, env=env, timeout=300)
    assert "HEAVY=\n" in res.stdout, res.stdout[-300:] + res.stderr[-300:]
    helped = subprocess.run([sys.executable, "-m", "analyzer.cli.main", "--help"],
                            capture_output=True, text=True, env=env, timeout=60)
    assert helped.returncode == 0 and "analyze" in helped.stdout


def test_demo_writes_reports(tmp_path):
    res = cli("demo", "-o", str(tmp_path / "demo"))
    assert res.returncode == 0, res.stderr
    data = json.loads((tmp_path / "demo" / "report.json").read_text())
    assert data["placement"]["CUDAExecutionProvider"]["fallback_nodes"]
    assert (tmp_path / "demo" / "report.md").exists()
    assert unreferenced_files(tmp_path / "demo") == []  # one artifact (issue 14, item 7)


def test_strict_fails_on_what_onnxruntime_tolerates(tmp_path):
    """Issue 16's false FAIL: Relu-6 whose output has an element type but no `shape` field.
    onnxruntime runs it, so the verdict is warn (exit 0); --strict makes the checker's complaint
    an error (exit 1), in a batch too."""
    model = parse("""<ir_version: 8, opset_import: ["" : 6]>
        g (float[2,3] x) => (float[2,3] y) { y = Relu(x) }""")
    model.graph.output[0].type.tensor_type.ClearField("shape")
    path = tmp_path / "no_shape.onnx"
    onnx.save_model(model, path)
    res = cli("analyze", str(path), "--format", "json")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["verdict"] == "warn" and "strict" not in data
    (sch204,) = [f for f in data["findings"] if f["id"] == "SCH204"]
    assert sch204["severity"] == "warning" and "onnx.checker rejects it" in sch204["message"]
    strict = cli("analyze", str(path), "--format", "json", "--strict")
    assert strict.returncode == 1
    data = json.loads(strict.stdout)
    assert data["verdict"] == "fail" and data["strict"] is True
    onnx.save_model(model, tmp_path / "copy.onnx")
    batch = cli("analyze", str(tmp_path), "--format", "json", "--strict", "--jobs", "1")
    assert batch.returncode == 1
    assert {row["report"]["verdict"] for row in json.loads(batch.stdout)} == {"fail"}


def test_shape_inference_error_onnxruntime_refuses_fails(tmp_path):
    """Issue 16's false PASS: MatMul of two float [2,3] inputs."""
    path = tmp_path / "matmul.onnx"
    onnx.save_model(parse("""<ir_version: 8, opset_import: ["" : 13]>
        g (float[2,3] a, float[2,3] b) => (float[2,3] y) { y = MatMul(a, b) }"""), path)
    res = cli("analyze", str(path), "--format", "json")
    assert res.returncode == 1
    (sch206,) = [f for f in json.loads(res.stdout)["findings"] if f["id"] == "SCH206"]
    assert sch206["severity"] == "error" and "Incompatible dimensions" in sch206["message"]
