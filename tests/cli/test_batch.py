"""`analyze DIR_OR_GLOB ...`: a real process pool over real files; bad models are rows."""

from __future__ import annotations

import json
from pathlib import Path

import onnx
import pytest

from tests.fixtures.cli import cli
from tests.fixtures.onnx_models import parse

GOOD = {
    "relu.onnx": "y = Relu(x)",
    "sub/sigmoid.onnx": "y = Sigmoid(x)",
    "sub/deeper/abs.onnx": "y = Abs(x)",
}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("batch")
    for name, body in GOOD.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        onnx.save_model(parse(f"""<ir_version: 10, opset_import: ["" : 20]>
            g (float[2,3] x) => (float[2,3] y) {{ {body} }}"""), root / name)
    onnx.save_model(parse("""<ir_version: 10, opset_import: ["" : 20]>
        g (bfloat16[2,3] x) => (bfloat16[2,3] y) { y = Relu(x) }"""), root / "relu_bf16.onnx")
    data = (root / "relu.onnx").read_bytes()
    (root / "truncated.onnx").write_bytes(data[: len(data) // 2])
    return root


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_directory_batch_lists_every_model_and_exits_2(model_dir, jobs):
    res = cli("analyze", str(model_dir), "--jobs", jobs)
    assert res.returncode == 2, res.stderr
    for name in ("relu.onnx", "sigmoid.onnx", "abs.onnx", "relu_bf16.onnx", "truncated.onnx"):
        assert name in res.stdout.replace("\n", "").replace("│", "").replace(" ", "")
    assert "fail" in res.stdout and "CORRUPT_PROTOBUF" in res.stdout.replace("\n", "")


def test_json_is_a_list_with_reports_and_errors(model_dir):
    res = cli("analyze", str(model_dir), "--format", "json", "--jobs", "2")
    assert res.returncode == 2, res.stderr
    rows = {Path(r["path"]).name: r for r in json.loads(res.stdout)}
    assert len(rows) == 5
    assert rows["truncated.onnx"]["error"]["code"] == "CORRUPT_PROTOBUF"
    assert rows["relu_bf16.onnx"]["report"]["verdict"] == "fail"
    assert rows["abs.onnx"]["report"]["verdict"] == "pass"
    assert rows["abs.onnx"]["report"]["schema"] == "onnx-preflight/report/2"


def test_glob_and_several_paths_exit_1_when_a_verdict_fails(model_dir):
    res = cli("analyze", str(model_dir / "relu*.onnx"), "--format", "json")
    names = sorted(Path(r["path"]).name for r in json.loads(res.stdout))
    assert names == ["relu.onnx", "relu_bf16.onnx"]
    assert res.returncode == 1
    ok = cli("analyze", str(model_dir / "relu.onnx"), str(model_dir / "sub" / "sigmoid.onnx"),
             "--format", "json", "--load-check")
    assert ok.returncode == 0, ok.stderr
    reports = [r["report"] for r in json.loads(ok.stdout)]
    assert all(any(f["id"] == "EP311" for f in r["findings"]) for r in reports)


def test_load_check_on_one_file_adds_ep310(model_dir):
    res = cli("analyze", str(model_dir / "relu_bf16.onnx"), "--format", "json", "--load-check")
    assert res.returncode == 1
    ids = [f["id"] for f in json.loads(res.stdout)["findings"]]
    assert "EP310" in ids and "EP301" in ids


def test_a_glob_that_matches_nothing_is_an_error_row(model_dir):
    res = cli("analyze", str(model_dir / "nothing*.onnx"), str(model_dir / "relu.onnx"),
              "--format", "json")
    assert res.returncode == 2
    assert json.loads(res.stdout)[0]["error"]["code"] == "BATCH_NO_MODELS"
