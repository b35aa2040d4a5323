"""verify against TensorFlow: a Keras file, a SavedModel and a TFLite file are each run by
TensorFlow on the ONNX model's inputs (real tf2onnx conversions, real onnxruntime sessions); a
weight changed in the ONNX model is caught; a Keras Lambda layer is refused under safe_mode."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from analyzer.cli.main import main as cli_main
from analyzer.errors import InputError
from analyzer.runtime.verify import verify

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
tf = pytest.importorskip("tensorflow")
tf2onnx = pytest.importorskip("tf2onnx")



def _keras_model() -> Any:
    tf.keras.utils.set_random_seed(3)
    inp = tf.keras.Input((6,), name="feat")
    hidden = tf.keras.layers.Dense(8, activation="tanh", name="hidden")(inp)
    head = tf.keras.layers.Dense(3, name="head")(hidden)
    return tf.keras.Model(inp, [head, hidden])


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tfsrc")
    model = _keras_model()
    out: dict[str, Path] = {}
    out["keras"] = root / "m.keras"
    model.save(out["keras"])
    proto, _ = tf2onnx.convert.from_keras(model, opset=13)
    out["keras_onnx"] = root / "keras.onnx"
    onnx.save(proto, out["keras_onnx"])

    out["savedmodel"] = root / "sm"
    tf.saved_model.save(model, str(out["savedmodel"]))
    # what `python -m tf2onnx.convert --saved-model` does: freeze the signature, name the
    # ONNX inputs/outputs after the signature's keys
    from tf2onnx import tf_loader

    graph_def, inputs, outputs, renames = tf_loader.from_saved_model(
        str(out["savedmodel"]), None, None, signatures=["serving_default"],
        return_tensors_to_rename=True)
    proto, _ = tf2onnx.convert.from_graph_def(graph_def, input_names=inputs,
                                              output_names=outputs, opset=13,
                                              tensors_to_rename=renames)
    out["savedmodel_onnx"] = root / "sm.onnx"
    onnx.save(proto, out["savedmodel_onnx"])

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    out["tflite"] = root / "m.tflite"
    out["tflite"].write_bytes(converter.convert())
    proto, _ = tf2onnx.convert.from_tflite(str(out["tflite"]), opset=13)
    out["tflite_onnx"] = root / "tflite.onnx"
    onnx.save(proto, out["tflite_onnx"])
    return out


@pytest.mark.parametrize("kind", ["keras", "savedmodel", "tflite"])
def test_converted_model_matches_tensorflow(sources: dict[str, Path], kind: str) -> None:
    result = verify(sources[f"{kind}_onnx"], reference=sources[kind], samples=2)
    assert result.passed, result.to_json()
    assert result.reference.startswith("TensorFlow")
    outs = result.samples[0].outputs
    assert len(outs) == 2
    assert all(o.max_abs is not None and o.max_abs < 1e-4 for o in outs)


def test_changed_weight_is_caught_against_keras(sources: dict[str, Path],
                                                tmp_path: Path) -> None:
    proto = onnx.load(sources["keras_onnx"])
    weight = max(proto.graph.initializer, key=lambda t: int(np.prod(t.dims)))
    arr = numpy_helper.to_array(weight).copy()
    arr.flat[0] += 1.0
    weight.CopyFrom(numpy_helper.from_array(arr, weight.name))
    bad = tmp_path / "bad.onnx"
    onnx.save(proto, bad)
    result = verify(bad, reference=sources["keras"], samples=2)
    assert not result.passed


def test_cli_source_accepts_a_savedmodel(sources: dict[str, Path],
                                         capsys: pytest.CaptureFixture[str]) -> None:
    code = cli_main(["verify", str(sources["savedmodel_onnx"]), "--source",
                     str(sources["savedmodel"]), "--samples", "1"])
    assert code == 0, capsys.readouterr()


def test_keras_lambda_layer_is_refused_under_safe_mode(sources: dict[str, Path],
                                                       tmp_path: Path) -> None:
    inp = tf.keras.Input((6,), name="feat")
    out = tf.keras.layers.Lambda(lambda t: t * 2.0)(inp)
    path = tmp_path / "lambda.keras"
    tf.keras.Model(inp, out).save(path)
    with pytest.raises(InputError) as err:
        verify(sources["keras_onnx"], reference=path, samples=1)
    assert err.value.code == "KERAS_UNSAFE_LAYER"
    assert "lambda.keras" in err.value.one_line()


def test_localize_against_tensorflow_names_the_changed_layer(tmp_path: Path) -> None:
    """tf2onnx keeps TensorFlow's tensor names: --localize runs the frozen TF graph with those
    names as fetches and finds the first value that parts from TensorFlow."""
    tf.keras.utils.set_random_seed(5)
    inp = tf.keras.Input((6,), name="feat")
    hidden = tf.keras.layers.Dense(8, activation="tanh", name="hidden")(inp)
    mid = tf.keras.layers.Dense(8, activation="relu", name="mid")(hidden)
    model = tf.keras.Model(inp, tf.keras.layers.Dense(3, name="head")(mid))
    source = tmp_path / "three.keras"
    model.save(source)
    proto, _ = tf2onnx.convert.from_keras(model, opset=13)
    weight = next(i for i in proto.graph.initializer if "mid" in i.name and len(i.dims) == 2)
    arr = numpy_helper.to_array(weight).copy()
    arr[0, 0] += 1.0
    weight.CopyFrom(numpy_helper.from_array(arr, weight.name))
    changed = next(n for n in proto.graph.node if weight.name in n.input)

    result = verify(proto, reference=source, samples=1, localize=True)
    assert not result.passed
    loc = result.localization
    assert loc is not None
    assert loc.node == changed.name and loc.op == "MatMul"
    assert "frozen TensorFlow graph" in loc.compared_with
    upstream = next(i for i in changed.input if i != weight.name)
    assert loc.inputs_max_abs[upstream] is not None and loc.inputs_max_abs[upstream] < 1e-5
