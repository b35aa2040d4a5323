"""Issue 9's corpus: TF/Keras models that tf2onnx alone fails to convert at some opset, built
in code. Without --rewrite the pre-flight fails and names the rule among the fixes; with
`onnx-preflight export ... --rewrite` each converts (real tf2onnx, in its child process), loads
in onnxruntime, and matches TensorFlow on seeded inputs (the export's own parity check)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import onnx
import pytest

from analyzer.cli.main import main

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
tf = pytest.importorskip("tensorflow")
pytest.importorskip("tf2onnx")

pytestmark = pytest.mark.slow


def _functional(build: Callable[[Any], Any], shape: tuple[int, ...]) -> Any:
    tf.keras.utils.set_random_seed(11)
    inp = tf.keras.Input(shape, name="x")
    return tf.keras.Model(inp, build(inp))


def _transformer_block(x: Any) -> Any:
    L = tf.keras.layers
    h = L.LayerNormalization()(x + L.MultiHeadAttention(2, 4)(x, x))
    return L.LayerNormalization()(h + L.Dense(8)(L.Dense(16, activation="gelu")(h)))


#: name -> (builder, input shape, opset, file kind, rules named, rule expected)
CORPUS: dict[str, tuple[Callable[[Any], Any], tuple[int, ...], int, str, str, str]] = {
    "dense_gelu": (lambda x: tf.keras.layers.Dense(8, activation="gelu")(x), (6,), 13,
                   "keras", "", "tf:erfc"),
    "celu": (lambda x: tf.keras.layers.Activation("celu")(tf.keras.layers.Dense(6)(x)), (6,),
             13, "keras", "", "tf:expm1"),
    "logsumexp": (lambda x: tf.keras.ops.logsumexp(x, axis=-1), (6,), 9, "keras", "",
                  "tf:isfinite-9"),
    "attention": (lambda x: tf.keras.layers.MultiHeadAttention(2, 4)(x, x), (5, 8), 11,
                  "keras", "", "tf:einsum-11"),
    "cumsum": (lambda x: tf.keras.ops.cumsum(x, axis=1), (6,), 9, "keras", "", "tf:cumsum-10"),
    "erfinv": (lambda x: tf.keras.ops.erfinv(tf.keras.ops.tanh(x)), (6,), 13, "keras",
               "tf:erfinv", "tf:erfinv"),
    "tflite_gelu": (lambda x: tf.keras.layers.Dense(8, activation="gelu")(x), (6,), 13,
                    "tflite", "", "tf:tfl-gelu"),
    "transformer_savedmodel": (_transformer_block, (5, 8), 11, "savedmodel", "",
                               "tf:einsum-11"),
    # Keras runs grouped convolution as an XLA-compiled `_noinline` function (ConvNeXt)
    "grouped_conv": (lambda x: tf.keras.layers.Conv2D(8, 3, groups=2, padding="same")(x),
                     (8, 8, 4), 13, "keras", "", "tf:inline-noinline"),
}


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("rescue")
    out: dict[str, Path] = {}
    for name, (build, shape, _, kind, _, _) in CORPUS.items():
        model = _functional(build, shape)
        if kind == "keras":
            out[name] = root / f"{name}.keras"
            model.save(out[name])
        elif kind == "tflite":
            out[name] = root / f"{name}.tflite"
            out[name].write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
        else:
            out[name] = root / name
            model.export(str(out[name]), verbose=False)
    return out


def _export(src: Path, out: Path, opset: int, *extra: str) -> tuple[int, dict[str, Any]]:
    report = out.with_suffix(".json")
    code = main(["export", str(src), "-o", str(out), "--opset", str(opset), "--format",
                 "json", "--report", str(report), *extra])
    return code, json.loads(report.read_text())


@pytest.mark.parametrize("name", list(CORPUS))
def test_fails_alone_and_converts_with_rewrite(sources: dict[str, Path], tmp_path: Path,
                                               name: str) -> None:
    _, _, opset, _, named, rule = CORPUS[name]
    plain = tmp_path / "plain.onnx"
    code, report = _export(sources[name], plain, opset)
    assert code == 1 and not plain.exists()
    blocking = [f for f in report["findings"] if f["severity"] == "error"]
    fixes = [x for f in blocking for x in f["fixes"]
             if x["kind"] == "rewrite" and x["rule"] == rule]
    assert fixes, blocking
    # the fix carries the command that applies it (issue 14, item 5)
    assert all(x["command"].startswith(f"onnx-preflight export {sources[name]} -o {plain} ")
               and x["command"].endswith(f"--rewrite --rules {rule}") for x in fixes), fixes

    fixed = tmp_path / "fixed.onnx"
    args = ["--rewrite", *(["--rules", named] if named else [])]
    code, report = _export(sources[name], fixed, opset, *args)
    assert code == 0, [f for f in report["findings"] if f["severity"] == "error"]
    assert rule in report["rewrites"]["applied"]
    model = onnx.load(fixed)
    onnx.checker.check_model(model, full_check=True)
    assert {o.version for o in model.opset_import if o.domain in ("", "ai.onnx")} == {opset}
    parity = report["parity"]
    assert parity["passed"], parity
    assert parity["samples"], "the export verified nothing"
