"""Shared by the TensorFlow rules' tests: real tf2onnx conversions of small Keras models, with
and without the rules, run on onnxruntime CPU and compared with TensorFlow."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from analyzer.runtime.session import create_session

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

@dataclass
class Outcome:
    model: Any  # onnx.ModelProto or None
    unsupported: Counter[str]
    error: str = ""

    @property
    def converted(self) -> bool:
        """tf2onnx left no op unconverted and onnxruntime can load the result."""
        if self.model is None or self.unsupported:
            return False
        try:
            create_session(self.model)
        except Exception as exc:  # noqa: BLE001 - any refusal means "not converted"
            self.error = str(exc).splitlines()[0]
            return False
        return True


def convert(source: Any, opset: int, rules: Sequence[Any] = ()) -> Outcome:
    """Convert a Keras model (or a .tflite path) with tf2onnx at `opset`, with `rules`'
    handlers installed, in this process, through the project's own conversion
    (rewrites.tensorflow.convert: tf2onnx's log records parsed into unsupported ops and
    failed nodes)."""
    import onnx

    from rewrites.tensorflow.convert import convert_tensorflow

    ids = [r.id for r in rules]
    if isinstance(source, str):
        result = convert_tensorflow(source, "tflite", opset, isolate=False, rules=ids)
    else:
        result = convert_tensorflow(source, "keras", opset, rules=ids)
    unsupported: Counter[str] = Counter(result.unsupported)
    unsupported.update(op for _, op, _ in result.failed)
    model = onnx.load_from_string(result.model) if result.model is not None else None
    return Outcome(model, unsupported, result.error or "")


def max_error(outcome: Outcome, reference: Callable[[np.ndarray], Any],
              x: np.ndarray) -> float:
    session = create_session(outcome.model)
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    return float(np.abs(got - np.asarray(reference(x))).max())


@pytest.fixture(scope="session")
def tf() -> Any:
    return pytest.importorskip("tensorflow")


@pytest.fixture(scope="session")
def keras_model(tf: Any) -> Callable[..., Any]:
    """keras_model(build, input_shape) -> a functional Keras model, seeded."""
    def make(build: Callable[[Any], Any], shape: tuple[int, ...]) -> Any:
        tf.keras.utils.set_random_seed(7)
        inp = tf.keras.Input(shape)
        return tf.keras.Model(inp, build(inp))
    return make
