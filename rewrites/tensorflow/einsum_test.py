"""tf:einsum-11: Keras MultiHeadAttention and EinsumDense at opsets 9 and 11 (Einsum needs 12
in tf2onnx), and the MatMul / Mul-ReduceSum forms on other equations, against TensorFlow."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from rewrites.contract import Match, Reason
from rewrites.tensorflow.conftest import convert, max_error
from rewrites.tensorflow.einsum import RULE, parse_equation
from rewrites.tensorflow.rule import TFNode


def _einsum_layer(tf: Any, equation: str, weight_shape: tuple[int, ...] | None) -> Any:
    class Einsum(tf.keras.layers.Layer):
        def build(self, _: Any) -> None:
            if weight_shape is not None:
                self.w = self.add_weight(shape=weight_shape)

        def call(self, x: Any) -> Any:
            return tf.einsum(equation, x, self.w if weight_shape is not None else x)
    return Einsum()


@pytest.mark.parametrize("opset", [9, 11])
def test_multi_head_attention_converts_below_12(tf: Any, keras_model: Any, opset: int) -> None:
    model = keras_model(lambda x: tf.keras.layers.MultiHeadAttention(2, 4)(x, x), (5, 8))
    assert convert(model, opset).unsupported["Einsum"] >= 2
    fixed = convert(model, opset, [RULE])
    assert fixed.converted, fixed.error
    ops = {n.op_type for n in fixed.model.graph.node}
    assert "Einsum" not in ops and "MatMul" in ops
    x = np.random.default_rng(4).standard_normal((2, 5, 8)).astype(np.float32)
    assert max_error(fixed, model, x) < 1e-5


@pytest.mark.parametrize("equation,weight", [
    ("abc,cd->abd", (4, 6)),        # EinsumDense: many free letters on the left
    ("abc,cde->abde", (4, 2, 3)),   # many free letters on the right (operands swapped)
    ("abc,c->ab", (4,)),            # matrix-vector
    ("abc,d->abcd", (3,)),          # outer product: no contraction (Mul)
    ("abc,bce->ae", (5, 4, 3)),     # two contracted letters (Mul + ReduceSum)
    ("abc,abd->acd", None),         # batch letter, both operands the input
    ("abc,cd->dba", (4, 6)),        # output order differs
])
def test_equations_match_tensorflow_at_opset_9(tf: Any, keras_model: Any, equation: str,
                                               weight: tuple[int, ...] | None) -> None:
    model = keras_model(lambda x: _einsum_layer(tf, equation, weight)(x), (5, 4))
    fixed = convert(model, 9, [RULE])
    assert fixed.converted, fixed.error
    x = np.random.default_rng(5).standard_normal((2, 5, 4)).astype(np.float32)
    assert max_error(fixed, model, x) < 1e-5


def test_parse_equation_reasons() -> None:
    assert parse_equation("BTNH,BSNH->BNTS") == (["BTNH", "BSNH"], "BNTS")
    assert parse_equation("ij,jk") == (["ij", "jk"], "ik")
    assert "ellipsis" in str(parse_equation("...ij,jk->...ik"))
    assert "repeated" in str(parse_equation("ii->i"))
    assert "3 operands" in str(parse_equation("ab,bc,cd->ad"))


def test_check_reads_the_equation() -> None:
    good = TFNode("e", "Einsum", {"equation": "abc,cd->abd"})
    bad = TFNode("t", "Einsum", {"equation": "ii->i"})
    assert isinstance(RULE.check([good], 11), Match)
    reason = RULE.check([good, bad], 11)
    assert isinstance(reason, Reason) and "t:" in reason.text
    assert isinstance(RULE.check([good], 12), Reason)
