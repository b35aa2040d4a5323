"""`onnx-preflight bench` as a user runs it: a subprocess, real files, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import onnx
import pytest

from tests.fixtures.bench_models import SMALL
from tests.fixtures.onnx_models import parse

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="160")
    return subprocess.run([sys.executable, "-m", "analyzer.cli.main", "bench", *args],
                          capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=120)


@pytest.fixture(scope="module")
def model_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bench") / "small.onnx"
    onnx.save_model(parse(SMALL), path)
    return path


def test_text_output(model_path):
    proc = cli(str(model_path), "--iterations", "20", "--warmup", "2", "--threads", "1")
    assert proc.returncode == 0, proc.stderr
    assert "p50" in proc.stdout and "CPU" in proc.stdout
    assert "placement: actual matches the prediction" in proc.stdout
    assert "dim 'N' set to 1" in proc.stdout


def test_json_to_file_with_compare(model_path, tmp_path):
    out = tmp_path / "results.json"
    proc = cli(str(model_path), "--iterations", "10", "--compare", str(model_path),
               "--format", "json", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    assert data["runs"][0]["stats"]["count"] == 10
    assert data["comparisons"][0]["p50_ratio"]["ratio"] > 0
    assert data["environment"]["onnxruntime"]


def test_plot_without_matplotlib_still_succeeds(model_path, tmp_path):
    png = tmp_path / "latency.png"
    proc = cli(str(model_path), "--iterations", "5", "--plot", str(png), "--no-placement")
    assert proc.returncode == 0, proc.stderr
    assert png.exists() or "matplotlib is not installed" in proc.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["{missing}"],
        ["{model}", "--iterations", "0"],
        ["{model}", "--providers", "tpu"],
        ["{model}", "--iterations", "5", "--duration", "1"],
        ["{model}", "--threads", "x"],
        ["{model}", "--inputs", "{missing}"],
    ],
)
def test_bad_input_exits_2_with_one_line(args, model_path, tmp_path):
    subs = {"{model}": str(model_path), "{missing}": str(tmp_path / "absent.onnx")}
    proc = cli(*[subs.get(a, a) for a in args])
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""


def test_garbage_file_exits_2(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    proc = cli(str(bad))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
