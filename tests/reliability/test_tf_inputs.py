"""Hostile TensorFlow inputs through the CLI: a SavedModel whose graph writes files or calls
Python (analyzed as data, never run), a Keras file with a Lambda layer (refused under
safe_mode), a truncated TFLite file (one line, exit 2).

These activate once the TensorFlow loaders (analyzer.workflows.tf_preflight) land."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

if importlib.util.find_spec("analyzer.workflows.tf_preflight") is None:
    pytest.skip("TF loader not built yet", allow_module_level=True)
tf = pytest.importorskip("tensorflow")

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _analyze(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run([sys.executable, "-m", "analyzer.cli.main", "analyze", *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def _tree(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_saved_model_with_file_writing_and_pyfunc_ops_is_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "WRITTEN_BY_THE_MODEL"

    class Hostile(tf.Module):  # type: ignore[name-defined,misc]
        @tf.function(input_signature=[tf.TensorSpec([2], tf.float32)])
        def __call__(self, x):  # type: ignore[no-untyped-def]
            tf.io.write_file(str(marker), tf.strings.as_string(x[0]))
            y = tf.py_function(lambda v: v * 2.0, [x], tf.float32)
            return tf.nn.relu(y)

    saved = tmp_path / "saved"
    tf.saved_model.save(Hostile(), str(saved))
    assert not marker.exists()  # saving traced the graph; it did not run it
    before = _tree(saved)
    res = _analyze(str(saved), "--format", "json", cwd=tmp_path)
    assert res.returncode in (0, 1), res.stderr[-800:]
    assert "Traceback" not in res.stderr
    report = json.loads(res.stdout)
    ops = {o["op"] for o in report["ops"]}
    assert ops & {"EagerPyFunc", "PyFunc"}  # the Python call is seen, as data
    assert not marker.exists()  # and never executed
    assert _tree(saved) == before


def test_keras_lambda_layer_is_refused_under_safe_mode(tmp_path: Path) -> None:
    marker = tmp_path / "LAMBDA_RAN"
    inputs = tf.keras.Input((3,))
    outputs = tf.keras.layers.Lambda(lambda t: t * 2.0)(inputs)
    path = tmp_path / "model.keras"
    tf.keras.Model(inputs, outputs).save(path)
    before = _tree(tmp_path)
    res = _analyze(str(path), "-o", str(tmp_path / "report.json"), cwd=tmp_path)
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 2, res.stderr[-800:]
    assert len(lines) == 1 and "Traceback" not in res.stderr
    assert str(path) in lines[0]
    assert "Lambda" in lines[0] or "safe_mode" in lines[0]
    assert lines[0].rstrip().endswith("]")  # the stable code
    assert not (tmp_path / "report.json").exists()
    assert not marker.exists()
    assert _tree(tmp_path) == before


def test_truncated_tflite_file(tmp_path: Path) -> None:
    class Small(tf.Module):  # type: ignore[name-defined,misc]
        @tf.function(input_signature=[tf.TensorSpec([1, 4], tf.float32)])
        def __call__(self, x):  # type: ignore[no-untyped-def]
            return tf.nn.relu(x * 3.0)

    module = Small()
    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [module.__call__.get_concrete_function()], module)
    data = converter.convert()
    path = tmp_path / "model.tflite"
    path.write_bytes(data[: len(data) // 2])
    before = _tree(tmp_path)
    res = _analyze(str(path), "-o", str(tmp_path / "report.json"), cwd=tmp_path)
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 2, res.stderr[-800:]
    assert len(lines) == 1 and "Traceback" not in res.stderr
    assert str(path) in lines[0] and lines[0].rstrip().endswith("]")
    assert not (tmp_path / "report.json").exists()
    assert _tree(tmp_path) == before
