"""extra_handlers leaves tf2onnx's handler table as it found it, also after an exception."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from rewrites.registry import rules
from rewrites.tensorflow.handlers import extra_handlers


def _snapshot() -> Any:
    from tf2onnx.handler import tf_op

    return copy.copy([dict(d) for d in tf_op.get_opsets()[""]])


def test_table_restored_after_use_and_after_an_error(tf: Any) -> None:
    # every handler module extra_handlers imports must be registered before the snapshot, or
    # the TFLite handlers it imports itself would count as a change (order-dependent otherwise)
    import tf2onnx.onnx_opset  # noqa: F401
    import tf2onnx.tflite_handlers  # noqa: F401

    before = _snapshot()
    with extra_handlers(rules("tf")) as installed:
        assert "Erfc" in installed and "Einsum" in installed
        assert _snapshot() != before
    assert _snapshot() == before
    with pytest.raises(RuntimeError), extra_handlers(rules("tf")):
        raise RuntimeError("conversion failed")
    assert _snapshot() == before
