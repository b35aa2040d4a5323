"""Issue 15: verify can be trusted. The default reference is onnxruntime itself (CPU, graph
optimizations off); onnx.reference, when asked for, is named as the suspect side where it
disagrees with onnxruntime and shipped outputs; float32 tolerances between two ONNX sides are
Polygraphy's, so a 5% change deep in a conv net fails; every output reports its margin."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from analyzer.cli.main import main as cli_main
from analyzer.runtime.compare import DEFAULT_TOLERANCES, FRAMEWORK_TOLERANCES, compare
from analyzer.runtime.inputs import InputSet, graph_inputs
from analyzer.runtime.verify import UNOPTIMIZED_DESCRIPTION, parity_findings, verify

LIGHT = Path(os.path.dirname(onnx.__file__)) / "backend" / "test" / "data" / "light"


def _convnet(seed: int = 0) -> onnx.ModelProto:
    """x[1,3,16,16] -> 4 x (Conv 3x3 + Relu) -> GlobalAveragePool -> MatMul + bias (logits of
    magnitude ~5, as a classifier's are); weights scaled by 1/sqrt(fan_in)."""
    rng = np.random.default_rng(seed)
    inits, nodes, c_in, x = [], [], 3, "x"
    for k, c in enumerate([8, 16, 16, 32]):
        w = (rng.standard_normal((c, c_in, 3, 3)) / np.sqrt(c_in * 9)).astype(np.float32)
        b = (rng.standard_normal(c) * 0.1).astype(np.float32)
        inits += [numpy_helper.from_array(w, f"w{k}"), numpy_helper.from_array(b, f"b{k}")]
        nodes += [helper.make_node("Conv", [x, f"w{k}", f"b{k}"], [f"c{k}"], name=f"conv{k}",
                                   pads=[1, 1, 1, 1]),
                  helper.make_node("Relu", [f"c{k}"], [f"r{k}"], name=f"relu{k}")]
        x, c_in = f"r{k}", c
    inits += [numpy_helper.from_array((rng.standard_normal((32, 10)) / np.sqrt(32)).astype(
        np.float32), "fc"), numpy_helper.from_array((rng.standard_normal(10) * 4).astype(
            np.float32), "fcb")]
    nodes += [helper.make_node("GlobalAveragePool", [x], ["gap"], name="gap"),
              helper.make_node("Flatten", ["gap"], ["flat"], name="flatten"),
              helper.make_node("MatMul", ["flat", "fc"], ["mm"], name="fc"),
              helper.make_node("Add", ["mm", "fcb"], ["y"], name="fc_bias")]
    graph = helper.make_graph(
        nodes, "convnet", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 16, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def _scaled(model: onnx.ModelProto, name: str, index: int | None, factor: float
            ) -> onnx.ModelProto:
    """A copy with initializer `name` (one element, or all when index is None) times factor."""
    bad = onnx.ModelProto()
    bad.CopyFrom(model)
    tensor = next(i for i in bad.graph.initializer if i.name == name)
    value = numpy_helper.to_array(tensor).copy()
    if index is None:
        value *= factor
    else:
        value.flat[index] *= factor
    tensor.CopyFrom(numpy_helper.from_array(value, name))
    return bad


# --- item 3: the default reference is onnxruntime itself ------------------------------------


@pytest.mark.parametrize("name", ["light_squeezenet", "light_densenet121"])
def test_light_models_pass_against_unoptimized_onnxruntime_by_default(name: str) -> None:
    result = verify(LIGHT / f"{name}.onnx", samples=1)
    assert result.reference == UNOPTIMIZED_DESCRIPTION
    assert result.passed, result.to_dict()["samples"]


def test_cli_default_reference_passes_light_squeezenet(capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    assert cli_main(["verify", str(LIGHT / "light_squeezenet.onnx"), "--samples", "1"]) == 0
    out = capsys.readouterr().out
    assert "graph optimizations disabled" in out and "verdict: pass" in out


def test_reference_evaluator_is_named_the_suspect_with_its_op() -> None:
    """onnx.reference computes Softmax-1 on squeezenet's 4-D input over other axes: the model
    is not failed for it, and the op where the evaluator parts from onnxruntime is named."""
    result = verify(LIGHT / "light_squeezenet.onnx", reference="reference-evaluator", samples=1)
    assert result.passed
    suspect = result.evaluator_suspects[0]
    assert suspect.op == "Softmax" and suspect.evaluator_max_abs > 0.5
    findings = {f.id: f for f in parity_findings(result)}
    assert findings["RUN504"].severity == "warning" and "suspect" in findings["RUN504"].message
    assert "RUN501" not in findings
    assert any("evaluator is the suspect side" in n for n in result.notes)


def test_shipped_outputs_that_side_with_the_evaluator_fail_the_model() -> None:
    """Two witnesses against one: when the shipped expected outputs agree with onnx.reference,
    the evaluator is not blamed and the model fails."""
    from onnx.reference import ReferenceEvaluator

    model = onnx.load(LIGHT / "light_squeezenet.onnx")
    feeds = {vi.name: np.random.default_rng(0).standard_normal(
        [d.dim_value for d in vi.type.tensor_type.shape.dim]).astype(np.float32)
        for vi in graph_inputs(model)}
    shipped = [np.asarray(v) for v in ReferenceEvaluator(model).run(None, feeds)]
    result = verify(model, reference="reference-evaluator",
                    inputs=InputSet([feeds], [shipped], "shipped"))
    assert not result.passed and not result.evaluator_suspects
    assert "RUN501" in {f.id for f in parity_findings(result)}


# --- item 1: tolerances with evidence --------------------------------------------------------


def test_float32_tolerance_between_onnx_sides_is_polygraphys() -> None:
    assert DEFAULT_TOLERANCES["float32"] == (1e-5, 1e-5)
    rtol, atol = FRAMEWORK_TOLERANCES["float32"]
    assert rtol >= 1e-5 and atol >= 1e-5


def test_one_weight_changed_by_5_percent_deep_inside_fails(tmp_path: Path) -> None:
    """One element of the last conv's weights times 1.05: about 1e-4 relative at the logits.
    The old default (rtol 1e-4) passed it; Polygraphy's rtol 1e-5 fails it."""
    good, bad = tmp_path / "good.onnx", tmp_path / "bad.onnx"
    onnx.save_model(_convnet(), good)
    onnx.save_model(_scaled(_convnet(), "w3", 5, 1.05), bad)
    result = verify(bad, reference=good, localize=True)
    assert not result.passed
    worst = max((o for s in result.samples for o in s.outputs), key=lambda o: o.margin or 0)
    assert worst.margin is not None and worst.margin > 1.0
    assert verify(bad, reference=good, rtol=1e-4, atol=1e-5).passed  # the false pass of old
    assert result.localization is not None and result.localization.node == "conv3"
    assert cli_main(["verify", str(bad), "--reference", str(good)]) == 1


def test_a_whole_bias_changed_by_5_percent_fails_against_the_default_reference(
        tmp_path: Path) -> None:
    result = verify(_scaled(_convnet(), "b1", None, 1.05), reference=_convnet())
    assert not result.passed
    assert verify(_convnet(), reference=_convnet()).passed


def test_margin_and_ulps_show_a_near_miss() -> None:
    expected = np.array([1.0, 2.0, 4.0], np.float32)
    actual = expected.copy()
    actual[1] = np.float32(2.0 + 3 * 2.0 ** -22)  # float32's ulp at 2.0 is 2**-22
    out = compare("y", actual, expected, rtol=1e-5, atol=1e-5)
    assert out.passed
    bound = 1e-5 + 1e-5 * 2.0
    assert out.margin == pytest.approx(float(actual[1] - 2.0) / bound, rel=1e-6)
    assert out.ulps == pytest.approx(3.0)
    near = compare("y", expected * np.float32(1 + 1.2e-5), expected, rtol=1e-5, atol=1e-5)
    assert near.passed and 0.9 < (near.margin or 0) <= 1.0
    far = compare("y", expected * np.float32(1.001), expected, rtol=1e-5, atol=1e-5)
    assert not far.passed and (far.margin or 0) > 1.0
    ints = compare("i", np.array([1, 2]), np.array([1, 3]))
    assert ints.margin == float("inf") and compare("i", np.array([1]), np.array([1])).margin == 0


def test_text_report_prints_margin_and_ulp_columns(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    onnx.save_model(_convnet(), tmp_path / "m.onnx")
    assert cli_main(["verify", str(tmp_path / "m.onnx"), "--samples", "1"]) == 0
    out = capsys.readouterr().out
    assert "margin" in out and "ulp" in out and "rtol 1e-05 / atol 1e-05" in out
