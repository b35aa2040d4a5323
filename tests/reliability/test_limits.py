"""Limits: each refusal names the limit and the flag that raises it, raising it lets the model
through, and in a batch each model is judged by the limits on its own."""

from __future__ import annotations

import json
from pathlib import Path

import onnx
import pytest
from onnx import TensorProto, helper

from analyzer import analyze
from analyzer.cli.main import main
from analyzer.errors import InputError


def chain(nodes: int) -> onnx.ModelProto:
    body = [helper.make_node("Relu", ["X" if i == 0 else f"r{i - 1}"],
                             ["Y" if i == nodes - 1 else f"r{i}"]) for i in range(nodes)]
    graph = helper.make_graph(body, "chain",
                              [helper.make_tensor_value_info("X", TensorProto.FLOAT, [2])],
                              [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [2])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    return model


def nested_ifs(depth: int) -> onnx.ModelProto:
    """If nodes nested `depth` deep, each branch passing X through."""
    out = helper.make_tensor_value_info("Y", TensorProto.FLOAT, [2])
    leaf = helper.make_graph([helper.make_node("Identity", ["X"], ["Y"])], "leaf", [], [out])
    inner = leaf  # only the then-branch nests: the model grows linearly with depth
    for level in range(depth):
        node = helper.make_node("If", ["c"], ["Y"], then_branch=inner, else_branch=leaf)
        inner = helper.make_graph([node], f"level{level}", [], [out])
    graph = helper.make_graph(list(inner.node), "main",
                              [helper.make_tensor_value_info("c", TensorProto.BOOL, []),
                               helper.make_tensor_value_info("X", TensorProto.FLOAT, [2])],
                              [out])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    return model


@pytest.mark.parametrize(("model", "kwargs", "code", "flag"), [
    (chain(30), {"max_nodes": 29}, "TOO_MANY_NODES", "--max-nodes"),
    (nested_ifs(4), {"max_subgraph_depth": 3}, "NESTING_TOO_DEEP", "--max-subgraph-depth"),
    (chain(30), {"max_file_bytes": 64}, "FILE_TOO_LARGE", "--max-file-size"),
])
def test_limit_names_itself_and_its_flag(model: onnx.ModelProto, kwargs: dict[str, int],
                                         code: str, flag: str) -> None:
    with pytest.raises(InputError) as caught:
        analyze(model, **kwargs)  # type: ignore[arg-type]
    assert caught.value.code == code
    assert f"raise it with {flag}" in caught.value.message
    assert next(iter(kwargs)) + "=" in caught.value.message  # the Python API keyword too


def test_raising_a_limit_lets_the_model_through() -> None:
    assert analyze(chain(30), max_nodes=30).model.nodes == 30
    assert analyze(nested_ifs(4), max_subgraph_depth=4).verdict in ("pass", "warn")


def test_cli_flag_zero_lifts_a_limit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "m.onnx"
    onnx.save_model(chain(30), path)
    assert main(["analyze", str(path), "--max-nodes", "10"]) == 2
    assert "--max-nodes" in capsys.readouterr().err
    assert main(["analyze", str(path), "--max-nodes", "0", "--max-file-size", "1K",
                 "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["model"]["nodes"] == 30


@pytest.mark.slow
def test_batch_applies_limits_per_model(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    onnx.save_model(chain(5), tmp_path / "small.onnx")
    onnx.save_model(chain(40), tmp_path / "big.onnx")
    status = main(["analyze", str(tmp_path), "--max-nodes", "20", "--jobs", "2",
                   "--format", "json"])
    rows = {Path(r["path"]).name: r for r in json.loads(capsys.readouterr().out)}
    assert status == 2
    assert rows["big.onnx"]["error"]["code"] == "TOO_MANY_NODES"
    assert rows["small.onnx"]["report"]["model"]["nodes"] == 5
