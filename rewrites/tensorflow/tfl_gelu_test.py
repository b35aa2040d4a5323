"""tf:tfl-gelu: TFLite files with the GELU builtin (exact and tanh forms) convert with the rule
and match the TFLite interpreter's own output."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from analyzer.runtime.session import create_session
from rewrites.tensorflow.conftest import convert
from rewrites.tensorflow.tfl_gelu import RULE


@pytest.mark.parametrize("approximate", [False, True])
def test_tflite_gelu_converts(tf: Any, keras_model: Any, tmp_path: Path,
                              approximate: bool) -> None:
    model = keras_model(lambda x: tf.keras.layers.Activation(
        lambda t: tf.keras.activations.gelu(t, approximate=approximate))(
            tf.keras.layers.Dense(6)(x)), (4,))
    path = tmp_path / "gelu.tflite"
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    assert convert(str(path), 13).unsupported["TFL_GELU"] == 1
    fixed = convert(str(path), 13, [RULE])
    assert fixed.converted, fixed.error

    x = np.random.default_rng(8).standard_normal((1, 4)).astype(np.float32) * 2
    interp = tf.lite.Interpreter(model_path=str(path))
    interp.allocate_tensors()
    interp.set_tensor(interp.get_input_details()[0]["index"], x)
    interp.invoke()
    want = interp.get_tensor(interp.get_output_details()[0]["index"])
    s = create_session(fixed.model)
    got = s.run(None, {s.get_inputs()[0].name: x})[0]
    assert float(np.abs(got - want).max()) < 1e-5
