"""Small TF / Keras models built in code, written as SavedModels (and some as TFLite files).

Each builder returns a keras.Model or a (tf.Module, tf.function, input signature) triple; the
corpus writes it once per session (`build_corpus`) and the tests predict and convert it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _tf() -> Any:
    from analyzer.sources.tf_io import import_tensorflow

    return import_tensorflow()


def _keras() -> Any:
    _tf()
    import keras

    keras.utils.set_random_seed(0)
    return keras


def conv_hard_swish() -> Any:
    k = _keras()
    x = k.Input((16, 16, 3))
    y = k.layers.Conv2D(4, 3, activation="hard_swish")(x)
    y = k.layers.DepthwiseConv2D(3, padding="same")(y)
    y = k.layers.BatchNormalization()(y)
    return k.Model(x, k.layers.GlobalAveragePooling2D()(y))


def conv_swish() -> Any:
    k = _keras()
    x = k.Input((16, 16, 3))
    y = k.layers.Conv2D(4, 3, activation="swish")(x)
    y = k.layers.MaxPooling2D()(y)
    return k.Model(x, k.layers.Flatten()(y))


def dense_gelu_exact() -> Any:
    k = _keras()
    x = k.Input((8,))
    return k.Model(x, k.layers.Dense(4, activation="gelu")(x))


def dense_gelu_tanh() -> Any:
    k = _keras()
    x = k.Input((8,))
    y = k.layers.Dense(4)(x)
    return k.Model(x, k.layers.Activation(lambda t: k.activations.gelu(t, approximate=True))(y))


def layer_norm() -> Any:
    k = _keras()
    x = k.Input((6, 8))
    y = k.layers.LayerNormalization()(x)
    return k.Model(x, k.layers.Dense(8, activation="relu")(y))


def lstm() -> Any:
    k = _keras()
    x = k.Input((5, 4))
    return k.Model(x, k.layers.LSTM(6)(x))


def simple_rnn() -> Any:
    k = _keras()
    x = k.Input((5, 4))
    return k.Model(x, k.layers.SimpleRNN(3, return_sequences=True)(x))


def attention_softmax() -> Any:
    k = _keras()
    x = k.Input((4, 8))
    y = k.layers.MultiHeadAttention(num_heads=2, key_dim=4)(x, x)
    return k.Model(x, y)


def _function(fn: Callable[..., Any], *specs: Any) -> Any:
    tf = _tf()
    module = tf.Module()
    module.f = tf.function(fn, input_signature=list(specs))
    return module


def string_lower() -> Any:
    tf = _tf()
    return _function(lambda s: tf.strings.lower(s), tf.TensorSpec([None], tf.string))


def string_split() -> Any:
    tf = _tf()
    return _function(lambda s: tf.strings.split(s).to_tensor(""),
                     tf.TensorSpec([None], tf.string))


def ragged_sum() -> Any:
    tf = _tf()
    return _function(lambda x: tf.RaggedTensor.from_tensor(x, padding=0.0).to_tensor() * 2.0,
                     tf.TensorSpec([None, 4], tf.float32))


def resize_bilinear() -> Any:
    tf = _tf()
    return _function(lambda x: tf.image.resize(x, [8, 8], method="bilinear"),
                     tf.TensorSpec([1, 4, 4, 3], tf.float32))


def resize_nearest() -> Any:
    tf = _tf()
    return _function(lambda x: tf.image.resize(x, [8, 8], method="nearest"),
                     tf.TensorSpec([1, 4, 4, 3], tf.float32))


def resize_bicubic() -> Any:
    tf = _tf()
    return _function(lambda x: tf.image.resize(x, [8, 8], method="bicubic"),
                     tf.TensorSpec([1, 4, 4, 3], tf.float32))


def einsum() -> Any:
    tf = _tf()
    return _function(lambda a, b: tf.einsum("bij,bjk->bik", a, b),
                     tf.TensorSpec([2, 3, 4], tf.float32), tf.TensorSpec([2, 4, 5], tf.float32))


def rfft() -> Any:
    tf = _tf()
    return _function(lambda x: tf.abs(tf.signal.rfft(x)), tf.TensorSpec([2, 16], tf.float32))


def matrix_inverse() -> Any:
    tf = _tf()
    return _function(lambda x: tf.linalg.inv(x), tf.TensorSpec([3, 3], tf.float32))


def cumsum_topk() -> Any:
    tf = _tf()
    return _function(lambda x: tf.math.top_k(tf.math.cumsum(x, axis=1), k=2).values,
                     tf.TensorSpec([2, 6], tf.float32))


def erfinv() -> Any:
    tf = _tf()
    return _function(lambda x: tf.math.erfinv(x), tf.TensorSpec([4], tf.float32))


@dataclass(frozen=True)
class CorpusModel:
    name: str
    build: Callable[[], Any]
    tflite: bool = False


CORPUS: tuple[CorpusModel, ...] = (
    CorpusModel("conv_hard_swish", conv_hard_swish, tflite=True),
    CorpusModel("conv_swish", conv_swish, tflite=True),
    CorpusModel("dense_gelu_exact", dense_gelu_exact, tflite=True),
    CorpusModel("dense_gelu_tanh", dense_gelu_tanh),
    CorpusModel("layer_norm", layer_norm, tflite=True),
    CorpusModel("lstm", lstm),
    CorpusModel("simple_rnn", simple_rnn),
    CorpusModel("attention_softmax", attention_softmax),
    CorpusModel("string_lower", string_lower),
    CorpusModel("string_split", string_split),
    CorpusModel("ragged_sum", ragged_sum),
    CorpusModel("resize_bilinear", resize_bilinear, tflite=True),
    CorpusModel("resize_nearest", resize_nearest),
    CorpusModel("resize_bicubic", resize_bicubic),
    CorpusModel("einsum", einsum, tflite=True),
    CorpusModel("rfft", rfft),
    CorpusModel("matrix_inverse", matrix_inverse),
    CorpusModel("cumsum_topk", cumsum_topk),
    CorpusModel("erfinv", erfinv),
)


def save(model: Any, folder: Path, tflite_path: Path | None) -> None:
    """A SavedModel (keras: model.export, tf.Module: tf.saved_model.save with its function as
    serving_default), and optionally a TFLite file converted from it."""
    tf = _tf()
    if hasattr(model, "export") and hasattr(model, "inputs"):
        model.export(str(folder), verbose=False)
    else:
        tf.saved_model.save(model, str(folder), signatures={"serving_default": model.f})
    if tflite_path is not None:
        converter = tf.lite.TFLiteConverter.from_saved_model(str(folder))
        tflite_path.write_bytes(converter.convert())


def build_corpus(root: Path) -> dict[str, dict[str, Path]]:
    """{name: {"saved_model": dir, "tflite": file?}} under root."""
    out: dict[str, dict[str, Path]] = {}
    for entry in CORPUS:
        folder = root / entry.name
        tfl = root / f"{entry.name}.tflite" if entry.tflite else None
        if not (folder / "saved_model.pb").exists():
            save(entry.build(), folder, tfl)
        out[entry.name] = {"saved_model": folder}
        if tfl is not None:
            out[entry.name]["tflite"] = tfl
    return out
