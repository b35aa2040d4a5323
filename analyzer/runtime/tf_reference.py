"""TensorFlow as the reference of `verify`: a SavedModel signature, a Keras model file or a
TFLite file is run on the same feeds as the ONNX model, and its outputs are lined up with the
ONNX model's outputs.

This runs the source model, which is what verification is for (the user asks for it by naming
the source; pre-flight analysis never does). Keras files load with safe_mode=True, so a Lambda
layer's pickled Python is refused, not executed
(analyzer.sources.keras_source.load_keras_file, the pre-flight's own loader).

Names: tf2onnx names the ONNX inputs and outputs after the signature's keys (SavedModel), the
Keras layer names (Keras) or the TFLite tensor names, sometimes with a ":0" suffix. Outputs are
matched by that name where every ONNX output has one; otherwise by position, which is how
tf2onnx orders them.

TensorFlow is imported only when such a reference is built.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from analyzer.error_codes import VERIFY_REFERENCE
from analyzer.errors import InputError
from analyzer.sources.keras_source import load_keras_file
from analyzer.sources.tf_io import import_tensorflow

KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")


def tf_source_kind(path: Path) -> str | None:
    """"savedmodel", "keras" or "tflite" when `path` is a TensorFlow model verify can run."""
    if path.is_dir() and (path / "saved_model.pb").is_file():
        return "savedmodel"
    if path.is_file() and path.suffix.lower() in KERAS_SUFFIXES:
        return "keras"
    if path.is_file() and path.suffix.lower() == ".tflite":
        return "tflite"
    return None


def _bare(name: str) -> str:
    return name[:-2] if name.endswith(":0") else name


def _order(named: Mapping[str, Any], positional: Sequence[Any],
           onnx_outputs: Sequence[str]) -> list[Any]:
    """Outputs in the ONNX model's order: by name when every ONNX output name (less ":0")
    is a key of `named`, else by position."""
    bare = {_bare(k): v for k, v in named.items()}
    if onnx_outputs and all(_bare(n) in bare for n in onnx_outputs):
        return [bare[_bare(n)] for n in onnx_outputs]
    return list(positional)


class TFReference:
    """Outputs of a TensorFlow model for the feeds of an ONNX model (see module doc)."""

    kind = "tensorflow"

    def __init__(self, path: Path, onnx_inputs: Sequence[str], onnx_outputs: Sequence[str],
                 signature: str | None = None) -> None:
        kind = tf_source_kind(path)
        if kind is None:
            raise InputError(path, VERIFY_REFERENCE, "not a SavedModel folder, Keras file "
                             "or TFLite file")
        self.path, self.source_kind = path, kind
        self._inputs, self._outputs = list(onnx_inputs), list(onnx_outputs)

        self._tf = import_tensorflow()
        try:
            if kind == "savedmodel":
                self._load_savedmodel(signature or "serving_default")
            elif kind == "keras":
                self._load_keras()
            else:
                self._load_tflite()
        except InputError:
            raise
        except Exception as exc:  # noqa: BLE001 - any TF load failure is bad input here
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InputError(path, VERIFY_REFERENCE,
                             f"TensorFlow cannot load the reference: {first}") from None
        self.description = f"TensorFlow {kind} {path}"

    # -- loading -----------------------------------------------------------------------------

    def _load_savedmodel(self, signature: str) -> None:
        loaded = self._tf.saved_model.load(str(self.path))
        signatures = dict(loaded.signatures)
        if signature not in signatures:
            raise InputError(self.path, VERIFY_REFERENCE, f"no signature {signature!r} "
                             f"(has: {', '.join(sorted(signatures)) or 'none'})")
        self._loaded = loaded  # keeps the signature's variables alive
        self._fn = signatures[signature]
        _, kwargs = self._fn.structured_input_signature
        self._sig_inputs = list(kwargs)

    def _load_keras(self) -> None:
        # the pre-flight's loader: Lambda layers refused from the config before Keras reads
        # the file (KERAS_UNSAFE_LAYER), then safe_mode=True
        self._model = load_keras_file(self.path)

    def _load_tflite(self) -> None:
        self._interp = self._tf.lite.Interpreter(model_path=str(self.path))
        self._interp.allocate_tensors()

    # -- running -----------------------------------------------------------------------------

    def _feed(self, feeds: Mapping[str, Any], name: str, position: int) -> Any:
        for key in (name, f"{name}:0", _bare(name)):
            if key in feeds:
                return feeds[key]
        return feeds[self._inputs[position]]

    def outputs(self, index: int, feeds: Mapping[str, Any]) -> list[Any]:
        tf = self._tf
        if self.source_kind == "savedmodel":
            kwargs = {n: tf.constant(self._feed(feeds, n, i))
                      for i, n in enumerate(self._sig_inputs)}
            result = self._fn(**kwargs)
            named = {k: np.asarray(v) for k, v in result.items()}
            return _order(named, list(named.values()), self._outputs)
        if self.source_kind == "keras":
            names = [t.name.split(":")[0] for t in self._model.inputs]
            args = [self._feed(feeds, n, i) for i, n in enumerate(names)]
            out = self._model(args if len(args) > 1 else args[0], training=False)
            outs = [np.asarray(o) for o in (out if isinstance(out, (list, tuple)) else [out])]
            out_names = [getattr(t, "name", "").split(":")[0] for t in self._model.outputs]
            return _order(dict(zip(out_names, outs, strict=False)), outs, self._outputs)
        interp = self._interp
        inputs = interp.get_input_details()
        values = [np.asarray(self._feed(feeds, d["name"], i)) for i, d in enumerate(inputs)]
        if any(tuple(d["shape"]) != v.shape for d, v in zip(inputs, values, strict=True)):
            for d, v in zip(inputs, values, strict=True):
                interp.resize_tensor_input(d["index"], v.shape)
            interp.allocate_tensors()  # resizing first: allocation resets the input buffers
        for d, v in zip(inputs, values, strict=True):
            interp.set_tensor(d["index"], v.astype(d["dtype"], copy=False))
        interp.invoke()
        details = interp.get_output_details()
        outs = [np.array(interp.get_tensor(d["index"])) for d in details]
        return _order({d["name"]: o for d, o in zip(details, outs, strict=True)}, outs,
                      self._outputs)

    def ort_model(self) -> None:
        return None

    def intermediates(self, model: Any, feeds: Mapping[str, Any]
                      ) -> tuple[dict[str, Any], str] | None:
        """TensorFlow's values of the ONNX model's intermediate tensors, for --localize.

        tf2onnx keeps TensorFlow's tensor names (`scope/op:0`) for the values it converts, so
        the frozen TF graph (the signature's or the Keras model's function, variables folded,
        calls inlined, as tf2onnx itself freezes it) is run with every tensor name both graphs
        hold as a fetch. Values tf2onnx renamed or moved to another layout are left out (the
        comparison also skips same-named values whose shapes differ). TFLite: None."""
        if self.source_kind == "tflite":
            return None
        tf = self._tf
        from tensorflow.python.framework.convert_to_constants import (
            convert_variables_to_constants_v2,
        )

        if self.source_kind == "savedmodel":
            func = self._fn
            order = self._sig_inputs
        else:
            specs = [tf.TensorSpec(t.shape, t.dtype) for t in self._model.inputs]
            func = tf.function(lambda *a: self._model(list(a) if len(a) > 1 else a[0],
                                                      training=False)).get_concrete_function(
                *specs)
            order = [t.name.split(":")[0] for t in self._model.inputs]
        frozen = convert_variables_to_constants_v2(func)
        graph_def = frozen.graph.as_graph_def()
        wanted = {o for n in model.graph.node for o in n.output if o}
        placeholders = [t.name for t in frozen.inputs if t.dtype != tf.resource]
        graph = tf.Graph()
        with graph.as_default():
            tf.graph_util.import_graph_def(graph_def, name="")
        names = sorted(n for n in wanted if ":" in n and _has_tensor(graph, n))
        if not names:
            return None
        feed = {placeholders[i]: np.asarray(self._feed(feeds, n, i))
                for i, n in enumerate(order) if i < len(placeholders)}
        with tf.compat.v1.Session(graph=graph) as session:
            values = session.run(names, feed_dict=feed)
        found = {n: np.asarray(v) for n, v in zip(names, values, strict=True)}
        return found, (f"{self.description}: frozen TensorFlow graph values matched to "
                       f"tf2onnx's tensor names ({len(found)} of {len(wanted)})")


def _has_tensor(graph: Any, name: str) -> bool:
    try:
        graph.get_tensor_by_name(name)
    except (KeyError, ValueError):
        return False
    return True
