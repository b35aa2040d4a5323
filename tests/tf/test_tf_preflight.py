"""TensorFlow pre-flight and export on small real models built in code (one build per session).

Every model is written by TensorFlow / Keras itself (SavedModel, frozen GraphDef, .keras, .h5,
TFLite) and every conversion is a real tf2onnx run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from analyzer.cli.main import main  # noqa: E402
from analyzer.errors import InputError  # noqa: E402
from analyzer.workflows.tf_preflight import analyze_tensorflow  # noqa: E402


def _ids(report: Any) -> set[str]:
    return {f.id for f in report.findings}


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tf_models")
    keras.utils.set_random_seed(0)
    x = keras.Input((8, 8, 3), name="img")
    y = keras.layers.Conv2D(4, 3, activation="hard_swish")(x)
    y = keras.layers.GlobalAveragePooling2D()(y)
    conv = keras.Model(x, keras.layers.Dense(2)(y))
    conv.export(str(root / "conv_sm"), verbose=False)
    conv.save(root / "conv.keras")
    conv.save(root / "conv.h5")
    converter = tf.lite.TFLiteConverter.from_keras_model(conv)
    (root / "conv.tflite").write_bytes(converter.convert())

    g = keras.Input((4,))
    gelu = keras.Model(g, keras.layers.Dense(2, activation="gelu")(g))
    gelu.export(str(root / "gelu_sm"), verbose=False)

    lam = keras.Input((4,))
    lam_model = keras.Model(lam, keras.layers.Lambda(lambda t: t * 2.0)(lam))
    lam_model.save(root / "lambda.keras")
    lam_model.save(root / "lambda.h5")

    module = tf.Module()
    module.double = tf.function(lambda v: v * 2.0, input_signature=[tf.TensorSpec([2], tf.float32)])
    module.neg = tf.function(lambda v: -v, input_signature=[tf.TensorSpec([2], tf.float32)])
    tf.saved_model.save(module, str(root / "two_sigs"),
                        signatures={"double": module.double, "neg": module.neg})

    graph = tf.Graph()
    with graph.as_default():
        inp = tf.compat.v1.placeholder(tf.float32, [None, 4], name="x")
        weight = tf.compat.v1.get_variable("w", [4, 2])
        tf.identity(tf.matmul(inp, weight), name="y")
    (root / "unfrozen.pb").write_bytes(graph.as_graph_def().SerializeToString())

    graph = tf.Graph()
    with graph.as_default():
        inp = tf.compat.v1.placeholder(tf.float32, [None, 4], name="x")
        tf.identity(tf.raw_ops.ReluGrad(gradients=inp, features=inp), name="grad")
    (root / "training.pb").write_bytes(graph.as_graph_def().SerializeToString())
    return {p.name: p for p in root.iterdir()}


def test_saved_model_reads_signature_io_and_function_ops(models: dict[str, Path]) -> None:
    report = analyze_tensorflow(str(models["conv_sm"]), opset=13)
    assert report.model.format == "tensorflow"
    assert report.extras["source_kind"] == "saved_model"
    assert report.extras["signature"] == "serving_default"
    assert report.model.inputs[0].shape == [None, 8, 8, 3]
    ops = {o.op for o in report.ops}
    assert {"Conv2D", "Relu6", "MatMul"} <= ops  # from inside the tf.function bodies
    assert report.verdict != "fail"
    assert report.target.exporter == "tf2onnx"


def test_unsupported_op_is_an_error_with_fixes(models: dict[str, Path]) -> None:
    report = analyze_tensorflow(str(models["gelu_sm"]), opset=18)
    finding = next(f for f in report.findings if f.id == "TFC601")
    assert finding.op == "Erfc" and finding.nodes and finding.fixes
    assert report.verdict == "fail"


def test_signatures_are_listed_and_chosen(models: dict[str, Path]) -> None:
    with pytest.raises(InputError) as err:
        analyze_tensorflow(str(models["two_sigs"]), opset=13)
    assert err.value.code == "TF_SIGNATURE_NOT_FOUND" and "double" in err.value.message
    report = analyze_tensorflow(str(models["two_sigs"]), opset=13, signature="neg")
    assert "Neg" in {o.op for o in report.ops} and "Mul" not in {o.op for o in report.ops}
    assert "TFC612" in _ids(report)
    with pytest.raises(InputError) as err:
        analyze_tensorflow(str(models["two_sigs"]), signature="nope")
    assert err.value.code == "TF_SIGNATURE_NOT_FOUND"


def test_graphdef_names_and_frozenness(models: dict[str, Path]) -> None:
    guessed = analyze_tensorflow(str(models["unfrozen.pb"]), opset=13)
    assert "TFC606" in _ids(guessed)  # VarHandleOp / ReadVariableOp in a GraphDef
    hint = next(f for f in guessed.findings if f.id == "TFC609")
    assert "x:0" in hint.message and "y:0" in hint.message
    named = analyze_tensorflow(str(models["unfrozen.pb"]), opset=13, inputs="x:0,ghost:0",
                               outputs=["nope:0"])
    assert {"TFC607", "TFC608"} <= _ids(named)
    assert "TFC609" not in _ids(named)


def test_training_ops_are_flagged(models: dict[str, Path]) -> None:
    report = analyze_tensorflow(str(models["training.pb"]), opset=13, inputs="x:0",
                                outputs="grad:0")
    assert any(f.id == "TFC605" and f.op == "ReluGrad" for f in report.findings)


def test_tflite_ops_and_opset(models: dict[str, Path]) -> None:
    low = analyze_tensorflow(str(models["conv.tflite"]), opset=13)
    assert low.model.format == "tflite"
    needs = next(f for f in low.findings if f.id == "TFC602")
    assert needs.op == "TFL_HARD_SWISH" and needs.fixes[0].min == 14
    assert "TFC602" not in _ids(analyze_tensorflow(str(models["conv.tflite"]), opset=14))


@pytest.mark.parametrize("name", ["conv.keras", "conv.h5"])
def test_keras_files_load_in_safe_mode(models: dict[str, Path], name: str) -> None:
    report = analyze_tensorflow(str(models[name]), opset=14)
    assert report.model.format == "keras" and report.verdict != "fail"
    assert "Conv2D" in {o.op for o in report.ops}


@pytest.mark.parametrize("name", ["lambda.keras", "lambda.h5"])
def test_lambda_layers_are_refused(models: dict[str, Path], name: str,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", str(models[name])]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "KERAS_UNSAFE_LAYER" in err[0] and name in err[0]


def test_cli_json_report_and_exit_status(models: dict[str, Path],
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", str(models["conv_sm"]), "--opset", "13", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["model"]["format"] == "tensorflow" and data["target"]["exporter"] == "tf2onnx"
    assert data["model"]["inputs"][0]["name"].endswith(":0")
    assert main(["analyze", str(models["gelu_sm"]), "--format", "json"]) == 1


@pytest.mark.parametrize(("content", "name", "code"), [
    (b"\xff\xfe garbage" * 10, "bad.pb", "TF_CORRUPT_PROTOBUF"),
    (b"", "empty.tflite", "EMPTY_FILE"),
    (b"\x10\x00\x00\x00TFL3\x00\x00", "short.tflite", "TFLITE_CORRUPT"),
    (b"not a flatbuffer at all", "wrong.tflite", "TFLITE_CORRUPT"),
])
def test_bad_files_are_one_line_errors(tmp_path: Path, content: bytes, name: str, code: str,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    assert main(["analyze", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and code in err[0], err
    assert path.read_bytes() == content


def test_export_converts_and_analyzes(models: dict[str, Path], tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "conv.onnx"
    assert main(["export", str(models["conv_sm"]), "-o", str(out), "--opset", "14",
                 "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert out.is_file() and data["exported"] is True
    assert data["model"]["opset_imports"][""] == 14
    assert {"Conv", "MatMul"} <= {o["op"] for o in data["ops"]}  # the ONNX side
    assert data["preflight"]["ops"] and data["model"]["format"] == "tensorflow"


def test_export_stops_on_predicted_failure_and_reports_tf2onnx(models: dict[str, Path],
                                                               tmp_path: Path) -> None:
    from analyzer.workflows.tf_convert import export_tensorflow

    out = tmp_path / "gelu.onnx"
    stopped = export_tensorflow(str(models["gelu_sm"]), out, opset=18)
    assert stopped.extras["exported"] is False and not out.exists()
    forced = export_tensorflow(str(models["gelu_sm"]), out, opset=18, force=True)
    real = next(f for f in forced.findings if f.id == "TFC620")
    assert real.op == "Erfc"  # parsed from tf2onnx's "Unsupported ops" log record


def test_onnx_path_never_imports_tensorflow(tmp_path: Path) -> None:
    import onnx
    from onnx import helper

    node = helper.make_node("Relu", ["x"], ["y"])
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", 1, [2])],
                              [helper.make_tensor_value_info("y", 1, [2])])
    path = tmp_path / "m.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    code = ("import sys; from analyzer.cli.main import main; rc = main(['analyze', sys.argv[1], "
            "'--format', 'json']); assert 'tensorflow' not in sys.modules, 'tensorflow imported'; "
            "assert 'tf2onnx' not in sys.modules; sys.exit(rc)")
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stderr
