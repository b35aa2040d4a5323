"""A TF1 checkpoint (.meta + data) analyzed as data and really converted; the lowest opset
counts a handler's refusal the target opset is already past (real TF / tf2onnx)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
tf = pytest.importorskip("tensorflow")

from analyzer.workflows.tf_convert import export_tensorflow  # noqa: E402
from analyzer.workflows.tf_preflight import analyze_tensorflow  # noqa: E402
from tests.fixtures.tf_corpus import resize_bilinear, save  # noqa: E402


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ckpt")
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, 4], name="x")
        w = tf.compat.v1.get_variable("w", [4, 3],
                                      initializer=tf.compat.v1.ones_initializer())
        tf.nn.relu(tf.matmul(x, w), name="y")
        saver = tf.compat.v1.train.Saver()
        with tf.compat.v1.Session(graph=graph) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            saver.save(sess, str(root / "model.ckpt"))
    return root / "model.ckpt.meta"


def test_checkpoint_inputs_outputs_are_found_as_data(checkpoint: Path) -> None:
    report = analyze_tensorflow(str(checkpoint), opset=13)
    assert report.extras["source_kind"] == "checkpoint"
    assert [t.name for t in report.model.inputs] == ["x:0"]
    assert "y:0" in [t.name for t in report.model.outputs]
    hint = next(f for f in report.findings if f.id == "TFC609")
    assert "--inputs x:0" in hint.fixes[0].hint  # type: ignore[operator]
    assert "TFC606" not in {f.id for f in report.findings}  # a checkpoint's variables freeze


def test_checkpoint_converts_with_the_names(checkpoint: Path, tmp_path: Path) -> None:
    import numpy as np
    import onnxruntime as ort

    out = tmp_path / "ckpt.onnx"
    report = export_tensorflow(str(checkpoint), out, opset=13, inputs="x:0", outputs="y:0")
    assert report.extras["exported"] is True
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    x = np.arange(8, dtype=np.float32).reshape(2, 4) - 3
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(got, np.maximum(x @ np.ones((4, 3), np.float32), 0), rtol=1e-6)


def test_lowest_opset_counts_a_refusal_the_target_is_past(tmp_path: Path) -> None:
    folder = tmp_path / "resize"
    save(resize_bilinear(), folder, None)
    low = analyze_tensorflow(str(folder), opset=9)
    refusal = next(f for f in low.findings if f.id == "TFC613")
    need = refusal.fixes[0].min
    assert need is not None and need > 9
    high = analyze_tensorflow(str(folder), opset=13)
    assert "TFC613" not in {f.id for f in high.findings}
    lowest: Any = high.extras["min_opset"]["tf2onnx"]
    assert lowest == need


def test_limits_apply_to_tensorflow_sources(checkpoint: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    from analyzer.cli.main import main

    code = main(["analyze", str(checkpoint), "--max-file-size", "100"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "model.ckpt.meta" in err[0] and "FILE_TOO_LARGE" in err[0]
    assert "--max-file-size" in err[0]
    code = main(["analyze", str(checkpoint), "--max-nodes", "2"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and "TOO_MANY_NODES" in err[0] and "--max-nodes" in err[0]
