"""Keras models (.keras / .h5 files, or a keras.Model in memory) as a TF graph.

A file's config is read first, as JSON, and a model holding a Lambda layer (arbitrary Python,
marshalled bytecode in the file) is refused before Keras sees it; the file is then loaded with
`safe_mode=True` and `compile=False`. The model is traced into a concrete function the way
tf2onnx's `from_keras` does on TF >= 2.16 (a tf.function over `model(*inputs, training=False)`
with the model's input specs), and the function's GraphDef is walked like any other: tracing
runs the Keras layers' own Python (as deserialization already did), never the graph.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from analyzer.error_codes import KERAS_LOAD_FAILED, KERAS_TRACE_FAILED, KERAS_UNSAFE_LAYER
from analyzer.errors import InputError
from analyzer.limits import DEFAULT_MAX_FILE_BYTES
from analyzer.sources.tf_graph import read_graph_def
from analyzer.sources.tf_io import TfGraph, import_tensorflow
from analyzer.sources.untrusted_file import check_not_empty, check_size, stat_regular_file

#: Layers whose config carries Python code.
UNSAFE_LAYERS = frozenset({"Lambda", "TFOpLambda"})


def _config_text(path: Path) -> str | None:
    """The model config JSON of a .keras zip (config.json) or an .h5 file (model_config)."""
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as zf:
                return zf.read("config.json").decode("utf-8")
        except (KeyError, zipfile.BadZipFile, UnicodeDecodeError, OSError) as exc:
            raise InputError(path, KERAS_LOAD_FAILED,
                             f"not a readable .keras archive ({exc})") from None
    try:
        import h5py
    except ImportError:  # pragma: no cover - h5py comes with keras
        return None
    try:
        with h5py.File(path, "r") as fh:
            raw = fh.attrs.get("model_config")
    except OSError as exc:
        raise InputError(path, KERAS_LOAD_FAILED,
                         f"neither a .keras archive nor an HDF5 file ({exc})") from None
    if raw is None:
        raise InputError(path, KERAS_LOAD_FAILED,
                         "HDF5 file without a model_config (weights only?): save the whole "
                         "model (model.save('m.keras'))")
    return raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)


def unsafe_layers(config: Any) -> list[str]:
    """Names of the layers in a Keras config whose class runs Python code (Lambda)."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("class_name") in UNSAFE_LAYERS:
                cfg = node.get("config")
                name = cfg.get("name") if isinstance(cfg, dict) else None
                found.append(str(name or node.get("class_name")))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(config)
    return found


def load_keras_file(path: str | Path, *,
                    max_file_bytes: int | None = DEFAULT_MAX_FILE_BYTES) -> Any:
    """The keras.Model in a .keras / .h5 file, refused when it holds a Lambda layer or is over
    `max_file_bytes` (None: no limit). Keras reads the file itself, so only its stat is
    checked here."""
    p = Path(path)
    identity = stat_regular_file(p, "a Keras model")
    check_size(p, identity.size, max_file_bytes)
    check_not_empty(p, identity.size, "a Keras model")
    text = _config_text(p)
    if text is not None:
        try:
            config = json.loads(text)
        except ValueError as exc:
            raise InputError(p, KERAS_LOAD_FAILED, f"model config is not JSON ({exc})"
                             ) from None
        lambdas = unsafe_layers(config)
        if lambdas:
            raise InputError(p, KERAS_UNSAFE_LAYER,
                             f"the model has Lambda layer(s) {', '.join(lambdas[:5])}, whose "
                             "Python code would have to run to load it; refused (safe mode). "
                             "Replace the Lambda with a registered custom layer, or convert "
                             "the model from its Python definition")
    import_tensorflow()
    import keras

    try:
        return keras.saving.load_model(str(p), safe_mode=True, compile=False)
    except Exception as exc:  # noqa: BLE001 - any loader failure is bad input, one line
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        code = "KERAS_UNSAFE_LAYER" if "safe_mode" in str(exc) else "KERAS_LOAD_FAILED"
        raise InputError(p, code, f"Keras cannot load the model: {first}") from None


def concrete_function(model: Any) -> Any:
    """The model traced as tf2onnx traces it (tf.function over the model's input specs)."""
    tf = import_tensorflow()
    specs = [tf.TensorSpec(shape=i.shape, dtype=i.dtype, name=getattr(i, "name", None))
             for i in model.inputs]

    @tf.function(input_signature=specs)
    def model_fn(*args: Any) -> Any:
        return model(*args, training=False)

    return model_fn.get_concrete_function()


def _count(shape: Any) -> int:
    total = 1
    for d in shape:
        total *= int(d or 1)
    return total


def read_keras(model_or_path: Any, inputs: list[str] | None = None,
               outputs: list[str] | None = None, *,
               max_file_bytes: int | None = DEFAULT_MAX_FILE_BYTES) -> TfGraph:
    """A Keras model (file, at most `max_file_bytes`, or object) as a TfGraph: the traced
    function's ops."""
    if isinstance(model_or_path, str | Path):
        model = load_keras_file(model_or_path, max_file_bytes=max_file_bytes)
        path = str(model_or_path)
    else:
        model = model_or_path
        path = f"keras.Model {getattr(model, 'name', type(model).__name__)}"
    if not getattr(model, "inputs", None):
        raise InputError(path, KERAS_LOAD_FAILED,
                         "the Keras model has no defined inputs (a subclassed model that was "
                         "never built); build it or use the functional API")
    try:
        func = concrete_function(model)
    except Exception as exc:  # noqa: BLE001 - tracing failures are reported as bad input
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise InputError(path, KERAS_TRACE_FAILED, f"tracing the model failed: {first}"
                         ) from None
    graph_def = func.graph.as_graph_def()
    out_names = outputs or [t.name for t in func.outputs]
    graph = read_graph_def(graph_def, path, "keras", inputs=inputs, outputs=out_names)
    if not inputs:  # captured variables are placeholders too: not the model's inputs
        graph.inputs = [t for t in graph.inputs if t.dtype != "resource"]
    graph.parameters = sum(_count(w.shape) for w in model.weights)
    graph.frozen = True  # tf2onnx freezes a Keras model's variables itself
    return graph
