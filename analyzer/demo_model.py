"""A small vision + attention model built in code (no downloads), for the demo and the tests.

It is chosen to exercise the analyzer: ops that need a recent opset (Gelu-20, HardSwish-14,
LayerNormalization-17), and an L2 normalization of the embedding (LpNormalization) that CUDA has
no kernel for: a CPU fallback with device copies on either side.
"""

from __future__ import annotations

import numpy as np
import onnx
import onnx.numpy_helper
import onnx.parser

DEMO_OPSET = 20

_TEXT = """
<ir_version: 10, opset_import: ["" : 20]>
demo_vit (float[1,3,32,32] image) => (float[1,10] logits) {
    conv = Conv <strides = [8, 8], kernel_shape = [8, 8]> (image, patch_w, patch_b)
    act = HardSwish (conv)
    flat = Reshape (act, tokens_shape)
    tokens = Transpose <perm = [0, 2, 1]> (flat)
    normed = LayerNormalization <axis = -1> (tokens, ln_scale, ln_bias)
    q = MatMul (normed, wq)
    k = MatMul (normed, wk)
    v = MatMul (normed, wv)
    kt = Transpose <perm = [0, 2, 1]> (k)
    scores = MatMul (q, kt)
    scaled = Mul (scores, inv_sqrt_d)
    probs = Softmax <axis = -1> (scaled)
    attn = MatMul (probs, v)
    hidden = Add (attn, tokens)
    up = MatMul (hidden, w_up)
    gelu = Gelu (up)
    pooled = ReduceMean <keepdims = 0> (gelu, pool_axes)
    embedding = LpNormalization <axis = -1, p = 2> (pooled)
    logits = MatMul (embedding, w_head)
}
"""


def build_demo_model(seed: int = 0) -> onnx.ModelProto:
    """The demo model with seeded weights; valid for onnx.checker (full check)."""
    rng = np.random.default_rng(seed)
    model = onnx.parser.parse_model(_TEXT)
    d = 16

    def w(name: str, *shape: int) -> onnx.TensorProto:
        return onnx.numpy_helper.from_array(
            (rng.standard_normal(shape) * 0.1).astype(np.float32), name
        )

    model.graph.initializer.extend(
        [
            w("patch_w", d, 3, 8, 8),
            w("patch_b", d),
            onnx.numpy_helper.from_array(np.array([1, d, 16], dtype=np.int64), "tokens_shape"),
            onnx.numpy_helper.from_array(np.ones(d, dtype=np.float32), "ln_scale"),
            onnx.numpy_helper.from_array(np.zeros(d, dtype=np.float32), "ln_bias"),
            w("wq", d, d),
            w("wk", d, d),
            w("wv", d, d),
            onnx.numpy_helper.from_array(np.array(1 / np.sqrt(d), dtype=np.float32), "inv_sqrt_d"),
            w("w_up", d, 2 * d),
            onnx.numpy_helper.from_array(np.array([1], dtype=np.int64), "pool_axes"),
            w("w_head", 2 * d, 10),
        ]
    )
    return model
