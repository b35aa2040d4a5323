"""Shared by the TensorFlow rules' tests: real tf2onnx conversions of small Keras models, with
and without the rules, run on onnxruntime CPU and compared with TensorFlow."""

from __future__ import annotations

import ast
import logging
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

_COUNTER = re.compile(r"Unsupported ops: Counter\((\{.*\})\)")


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
        import onnxruntime as ort

        try:
            ort.InferenceSession(self.model.SerializeToString(),
                                 providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - any refusal means "not converted"
            self.error = str(exc).splitlines()[0]
            return False
        return True


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.unsupported: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        m = _COUNTER.search(record.getMessage())
        if m:
            self.unsupported.update(ast.literal_eval(m.group(1)))


@contextmanager
def _captured() -> Iterator[_Capture]:
    cap = _Capture()
    log = logging.getLogger("tf2onnx")
    log.addHandler(cap)
    try:
        yield cap
    finally:
        log.removeHandler(cap)


def convert(source: Any, opset: int, rules: Sequence[Any] = ()) -> Outcome:
    """Convert a Keras model (or a .tflite path) with tf2onnx at `opset`, with `rules`'
    handlers installed; tf2onnx's 'Unsupported ops' log line is parsed, not printed."""
    import tf2onnx

    from rewrites.tensorflow.registry import extra_handlers

    with _captured() as cap, extra_handlers(list(rules)):
        try:
            if isinstance(source, str):
                proto, _ = tf2onnx.convert.from_tflite(source, opset=opset)
            else:
                proto, _ = tf2onnx.convert.from_keras(source, opset=opset)
        except Exception as exc:  # noqa: BLE001 - a refused conversion is an outcome
            return Outcome(None, cap.unsupported, str(exc).splitlines()[0])
    return Outcome(proto, cap.unsupported)


def max_error(outcome: Outcome, reference: Callable[[np.ndarray], Any],
              x: np.ndarray) -> float:
    import onnxruntime as ort

    session = ort.InferenceSession(outcome.model.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
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
