"""A Keras file in a scan: one cell per opset, exporter tf2onnx, the TF pre-flight's verdict and
lowest opset."""

from __future__ import annotations

import json

import pytest

from tests.fixtures.scan_fixtures import run_cli

pytest.importorskip("tensorflow")
pytest.importorskip("tf2onnx")


def test_keras_file_is_one_cell_per_opset(tmp_path, monkeypatch) -> None:
    from tests.fixtures.tf_corpus import conv_swish  # imports tensorflow: only in this test

    path = tmp_path / "conv_swish.keras"
    conv_swish().save(path)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    assert run_cli(["scan", "conv_swish.keras", "--opsets", "13,17", "-o", str(out),
                    "--jobs", "2", "--time-limit", "300"]) == 0
    matrix = json.loads((out / "matrix.json").read_text())
    assert matrix["sources"][0]["kind"] == "keras"
    cells = matrix["cells"]
    assert [(c["source"], c["opset"], c["exporter"]) for c in cells] == [
        ("conv_swish.keras", 13, "tf2onnx"), ("conv_swish.keras", 17, "tf2onnx")]
    for cell in cells:
        assert cell["verdict"] in ("pass", "warn"), cell
        assert isinstance(cell["lowest_working_opset"], int)
        assert cell["lowest_working_opset"] <= 13
        assert (out / cell["report_json"]).is_file()
