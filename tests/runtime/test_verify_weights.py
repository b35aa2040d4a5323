"""Issue 15, item 4: weights before outputs. `verify --source` compares the torch module's
parameters and buffers with the model's initializers by the exporter's names first: a factory
that builds fresh random weights is reported as such (RUN505) instead of failing the outputs and
blaming a node; `--weights FILE.pt` loads the checkpoint the model was exported from.
And `--localize` never names a node whose data inputs already differ beyond tolerance."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from analyzer.cli.main import main as cli_main
from analyzer.runtime.verify import _first_divergence, parity_findings, verify
from analyzer.runtime.weights_check import compare_tensors

torch = pytest.importorskip("torch")

from tests.fixtures.torch_models import conv_bn_net  # noqa: E402 - needs torch

SPEC = "tests.fixtures.torch_models:conv_bn_net"


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, Path, Path]:
    """A ConvBnNet, its dynamo export and its state dict on disk."""
    module, example = conv_bn_net()
    folder = tmp_path_factory.mktemp("weights")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(module, example, dynamo=True, verbose=False)
    assert program is not None
    onnx.save(program.model_proto, folder / "m.onnx")
    torch.save(module.state_dict(), folder / "w.pt")
    return module, folder / "m.onnx", folder / "w.pt"


def test_same_module_passes_and_batchnorm_folding_is_not_a_difference(
        exported: tuple[object, Path, Path]) -> None:
    module, model, _ = exported
    result = verify(model, reference=module, samples=2)
    assert result.passed, result.to_dict()
    weights = result.weights
    assert weights is not None and weights.passed
    # the exporter folded bn.* into conv.weight / conv.bias and kept the conv's names
    assert set(weights.folded) == {"conv.weight", "conv.bias"}
    assert {"bn.running_mean", "bn.running_var"} <= set(weights.unmatched)
    assert weights.matched_by_name >= 6  # conv.*, norm.*, fc.*
    assert "RUN505" not in {f.id for f in parity_findings(result)}


def test_fresh_random_weights_are_reported_not_blamed_on_a_node(
        exported: tuple[object, Path, Path]) -> None:
    _, model, _ = exported
    fresh, _ = conv_bn_net()  # the factory again: other random weights
    result = verify(model, reference=fresh, samples=1, localize=True)
    assert not result.passed
    assert result.weights is not None and not result.weights.passed
    names = {d.name for d in result.weights.differing}
    assert {"fc.weight", "fc.bias"} <= names
    assert all(d.max_abs > 1e-3 for d in result.weights.differing)
    findings = {f.id: f for f in parity_findings(result)}
    assert findings["RUN505"].severity == "error"
    assert "fc.weight" in findings["RUN505"].message
    # localization compares the module's weights (never the file's with themselves) and says so
    loc = result.localization
    assert loc is not None and loc.weights_differ
    assert all(v > 0 for v in loc.weights_differ.values())
    assert any("weights differ" in n for n in result.notes)


def test_cli_weights_flag_loads_the_checkpoint(exported: tuple[object, Path, Path],
                                               tmp_path: Path) -> None:
    _, model, weights = exported
    without = tmp_path / "without.json"
    assert cli_main(["verify", str(model), "--source", SPEC, "--samples", "1",
                     "-o", str(without)]) == 1
    data = json.loads(without.read_text())
    assert data["weights"]["differing"] and not data["weights"]["passed"]
    with_weights = tmp_path / "with.json"
    assert cli_main(["verify", str(model), "--source", SPEC, "--weights", str(weights),
                     "--samples", "1", "-o", str(with_weights)]) == 0
    assert json.loads(with_weights.read_text())["weights"]["passed"]


def test_cli_weights_without_a_torch_source_is_usage(exported: tuple[object, Path, Path],
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    _, model, weights = exported
    assert cli_main(["verify", str(model), "--weights", str(weights)]) == 2
    assert "--weights needs --source" in capsys.readouterr().err


def _chain() -> onnx.ModelProto:
    nodes = [helper.make_node("Relu", ["x"], ["a"], name="A"),
             helper.make_node("Neg", ["a"], ["b"], name="B"),
             helper.make_node("MatMul", ["b", "w"], ["y"], name="C")]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 2])],
        [onnx.numpy_helper.from_array(np.eye(2, dtype=np.float32), "w")])
    return helper.make_model(graph)


def test_matching_by_name_then_by_value_never_by_shape_alone() -> None:
    model = _chain()
    eye = np.eye(2, dtype=np.float32)
    same = compare_tensors({"w": eye}, model)
    assert same.passed and same.matched_by_name == 1
    renamed = compare_tensors({"fc.weight": eye.T.copy()}, model)  # exported transposed
    assert renamed.matched_by_value == 1 and not renamed.unmatched and renamed.passed
    other = compare_tensors({"fc.weight": eye * 2}, model)  # same shape, other values
    assert other.unmatched == ["fc.weight"] and other.passed  # not guessed as a difference
    wrong = compare_tensors({"w": eye * 1.02}, model)
    assert not wrong.passed and wrong.differing[0].name == "w"
    assert "1 differ: w (max abs 0.02)" in wrong.summary()


def test_localize_never_names_a_node_whose_inputs_already_differ() -> None:
    model = _chain()
    x = np.ones((2, 2), np.float32)
    w = np.eye(2, dtype=np.float32)
    # 'a' differs (B reads it) and so does everything after: only A may be named
    actual = {"x": x, "w": w, "a": x * 1.1, "b": -x * 1.1, "y": -x * 1.1}
    expected = {"x": x, "w": w, "a": x, "b": -x, "y": -x}
    found = _first_divergence(model, actual, expected, None, None, None)
    assert found is not None and found[1].name == "A"
    # A's own output agrees but it was not observed on one side: B's input is unknown, B is
    # the first node whose output diverges with no input known to differ
    del expected["a"]
    found = _first_divergence(model, actual, expected, None, None, None)
    assert found is not None and found[1].name == "B"
    # the graph input itself differs: no node diverges while its inputs agree
    actual = {"x": x * 2, "w": w, "a": x * 2, "b": -x * 2, "y": -x * 2}
    expected["a"] = x
    assert _first_divergence(model, actual, expected, None, None, None) is None
