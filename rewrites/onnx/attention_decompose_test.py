"""onnx:attention-decompose from ONNX text: parity with onnxruntime's own Attention-23 and
com.microsoft MultiHeadAttention kernels, firings, node counts, full check, and reasons for the
combinations it declines."""

from __future__ import annotations

from collections import Counter

import numpy as np
import onnx
import onnx.checker
import onnx.parser
import pytest

from analyzer.runtime.session import create_session
from rewrites import apply
from rewrites.onnx.attention_decompose import AttentionDecompose

RULES = (AttentionDecompose(),)
B, H, L, S, E = 2, 3, 4, 5, 8


def _attention(inputs: str, call: str, out: str, opset: int = 23,
               extra_import: str = "") -> onnx.ModelProto:
    return onnx.parser.parse_model(
        f'<ir_version: 10, opset_import: ["" : {opset}{extra_import}]>\n'
        f"g ({inputs}) => ({out}) {{ {call} }}"
    )


Q4 = f"float[{B},{H},{L},{E}] q, float[{B},{H},{S},{E}] k, float[{B},{H},{S},{E}] v"
Q3 = f"float[{B},{L},{H * E}] q, float[{B},{S},{H * E}] k, float[{B},{S},{H * E}] v"
Y4, Y3 = f"float[{B},{H},{L},{E}] y", f"float[{B},{L},{H * E}] y"

CASES = [
    ("4d", _attention(Q4, "y = Attention(q, k, v)", Y4), False),
    ("4d-float-mask-scale",
     _attention(Q4 + f", float[{L},{S}] m", "y = Attention<scale=0.25>(q, k, v, m)", Y4), True),
    ("4d-bool-mask",
     _attention(Q4 + f", bool[{B},1,{L},{S}] m", "y = Attention(q, k, v, m)", Y4), True),
    ("3d-heads",
     _attention(Q3, f"y = Attention<q_num_heads={H}, kv_num_heads={H}>(q, k, v)", Y3), False),
    ("mha",
     _attention(Q3 + f", float[{B},{H},{L},{S}] ab",
                f'y = com.microsoft.MultiHeadAttention<num_heads={H}>(q, k, v, , , ab)', Y3,
                opset=17, extra_import=', "com.microsoft" : 1'), True),
    ("contrib-attention",
     _attention(f"float[{B},{L},{E}] x, float[{E},{3 * H * E}] w, float[{3 * H * E}] b",
                f"y = com.microsoft.Attention<num_heads={H}>(x, w, b)", Y3,
                opset=17, extra_import=', "com.microsoft" : 1'), False),
]


def _feeds(model: onnx.ModelProto) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(11)
    out = {}
    for i in model.graph.input:
        shape = [d.dim_value for d in i.type.tensor_type.shape.dim]
        if i.type.tensor_type.elem_type == onnx.TensorProto.BOOL:
            mask = rng.random(shape) > 0.3
            mask[..., 0] = True  # every query attends to something (no all -inf rows)
            out[i.name] = mask
        else:
            out[i.name] = rng.standard_normal(shape).astype(np.float32)
    return out


def _run(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> np.ndarray:
    session = create_session(model)
    return np.asarray(session.run(None, feeds)[0])


@pytest.mark.parametrize(("name", "model", "masked"), CASES, ids=[c[0] for c in CASES])
def test_matches_onnxruntime_kernel(name: str, model: onnx.ModelProto, masked: bool) -> None:
    result = apply(model, rules=RULES)
    applied = result.applied
    assert [e.rule for e in applied] == ["onnx:attention-decompose"]
    ops = Counter(n.op_type for n in result.model.graph.node)
    assert ops["Attention"] == ops["MultiHeadAttention"] == 0
    packed = name == "contrib-attention"  # + MatMul and Add of the Q|K|V projection
    assert ops["MatMul"] == 2 + packed and ops["Softmax"] == 1
    assert ops["Add"] == int(masked) + packed
    assert sum(ops.values()) - ops["Constant"] == len(applied[0].added) + ops["Where"]
    onnx.checker.check_model(result.model, full_check=True)
    feeds = _feeds(model)
    want = _run(model, feeds)  # onnxruntime's own attention kernel
    got = _run(result.model, feeds)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    assert result.max_abs_error["onnx:attention-decompose"] < 1e-4


REASONS = [
    (_attention(Q4, "y = Attention<is_causal=1>(q, k, v)", Y4), "is_causal"),
    (_attention(f"float[{B},{L},{H * E}] q, float[{B},{S},8] k, float[{B},{S},8] v",
                f"y = Attention<q_num_heads={H}, kv_num_heads=1>(q, k, v)", Y3),
     "grouped-query"),
    (_attention(Q4, "y = Attention<softcap=2.0>(q, k, v)", Y4), "softcap"),
]


@pytest.mark.parametrize(("model", "why"), REASONS, ids=[r[1] for r in REASONS])
def test_declines_with_a_reason(model: onnx.ModelProto, why: str) -> None:
    result = apply(model, rules=RULES)
    assert [e.status for e in result.log] == ["skipped"]
    assert why in (result.log[0].reason or "")
    assert [n.op_type for n in result.model.graph.node] == ["Attention"]
