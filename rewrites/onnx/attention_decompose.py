"""onnx:attention-decompose: ai.onnx Attention (opset 23+) and com.microsoft MultiHeadAttention as
scaled dot-product attention in plain ops (and com.microsoft Attention, whose packed Q|K|V
projection becomes MatMul + Add + Slice first): Reshape / Transpose (3-D inputs), MatMul, Mul
(scale), Add (mask or attention bias), Softmax, MatMul.

Hand-written because ai.onnx Attention's schema body exists only at opset 23+ (onnx:expand-function
would emit ops of that opset), and MultiHeadAttention has no body at all; the plain form runs on
every provider at any opset from 13 (Softmax over the last axis) and lowers further with
onnx.version_converter. The basic case only: no causal mask, no KV cache, no softcap, equal query
and key/value head counts; every other combination is declined with a Reason naming it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import onnx

from analyzer.finding_ids import EP301, SCH202
from analyzer.inventory import NodeRecord
from rewrites.onnx.emit import Emitter, attribute
from rewrites.onnx.rule import Match, OnnxRuleBase, Reason, RewriteModel, Target

_ELEM = {"tensor(float)": onnx.TensorProto.FLOAT, "tensor(float16)": onnx.TensorProto.FLOAT16,
         "tensor(double)": onnx.TensorProto.DOUBLE,
         "tensor(bfloat16)": onnx.TensorProto.BFLOAT16}


@dataclass(frozen=True)
class AttentionPlan:
    """The decomposition's plan: q/k/v value names, heads, mask, scale, packed projection and
    element type, as the `_plan_*` readers build it."""

    steps: Mapping[str, Any]


class AttentionDecompose(OnnxRuleBase):
    """Exact decomposition of the basic attention ops."""

    id = "onnx:attention-decompose"
    summary = ("Attention-23 / com.microsoft MultiHeadAttention as MatMul/Transpose/Reshape/"
               "Softmax/Mul/Add (exact)")
    exact = True
    answers = (SCH202.id, EP301.id)
    targets = (Target("Attention", "", (1, 22)), Target("MultiHeadAttention", "com.microsoft"),
               Target("Attention", "com.microsoft"))

    def check(self, model: RewriteModel, node: NodeRecord) -> Match[AttentionPlan] | Reason:
        index = model.index_of(node)
        proto = model.node(index)
        elem = _ELEM.get(node.input_types[0] or "") if node.input_types else None
        if elem is None:
            return Reason(self.id, node.name, "query type is not a known float type")
        if node.domain == "":
            plan = _plan_onnx(model, proto)
        elif node.op == "MultiHeadAttention":
            plan = _plan_mha(model, proto)
        else:
            plan = _plan_packed(model, proto)
        if isinstance(plan, str):
            return Reason(self.id, node.name, plan)
        plan["elem"] = elem
        added = ["MatMul", "Transpose", "Mul", "Softmax", "MatMul"]
        if plan["mask"]:
            added.insert(3, "Add")
        if plan["heads"]:
            added = ["Reshape", "Transpose"] * 3 + added + ["Transpose", "Reshape"]
        packed = plan.get("packed")
        if isinstance(packed, tuple):
            added = ["MatMul"] + (["Add"] if packed[2] else []) + ["Slice"] * 3 + added
        return Match(self.id, AttentionPlan(plan), node.name, index, (node.op,), tuple(added))

    def apply(self, model: RewriteModel, match: Match[AttentionPlan]) -> None:
        node = model.node(match.index)
        plan = match.payload.steps
        e = Emitter(model, node.name or match.node, self.id)
        q, k, v = plan["q"], plan["k"], plan["v"]
        if plan.get("packed"):
            q, k, v = _project(e, plan["packed"])
        heads = plan["heads"]
        if heads:
            shape = e.const([0, 0, heads, -1], onnx.TensorProto.INT64)
            q, k, v = (e.op("Transpose", [e.op("Reshape", [t, shape])], perm=[0, 2, 1, 3])
                       for t in (q, k, v))
        scores = e.op("MatMul", [q, e.op("Transpose", [k], perm=[0, 1, 3, 2])])
        scores = e.op("Mul", [scores, e.const(plan["scale"], plan["elem"])])
        mask = plan["mask"]
        if mask:
            if plan["bool_mask"]:
                mask = e.op("Where", [mask, e.const(0.0, plan["elem"]),
                                      e.const(-math.inf, plan["elem"])])
            scores = e.op("Add", [scores, mask])
        probs = e.op("Softmax", [scores], axis=-1)
        out = plan["out"]
        if heads:
            y = e.op("Transpose", [e.op("MatMul", [probs, v])], perm=[0, 2, 1, 3])
            e.op("Reshape", [y, e.const([0, 0, -1], onnx.TensorProto.INT64)], out=out)
        else:
            e.op("MatMul", [probs, v], out=out)
        model.replace(match.index, e.nodes, self.id)


def _inputs(proto: onnx.NodeProto) -> list[str]:
    return list(proto.input) + [""] * 10


def _plan_onnx(model: RewriteModel, proto: onnx.NodeProto) -> dict[str, object] | str:
    """What the decomposition needs for ai.onnx Attention, or why it cannot."""
    q, k, v, mask, past_k, past_v = _inputs(proto)[:6]
    if past_k or past_v:
        return "past_key / past_value (KV cache) are not decomposed"
    if any(o for o in proto.output[1:]):
        return "present_key / present_value / qk_matmul_output outputs are not decomposed"
    if attribute(proto, "is_causal", 0):
        return "is_causal=1 (a causal mask) is not decomposed"
    if attribute(proto, "softcap", 0.0):
        return "softcap is not decomposed"
    if attribute(proto, "softmax_precision") is not None:
        return "softmax_precision is not decomposed"
    ranks = [model.rank(t) for t in (q, k, v)]
    if ranks not in ([4, 4, 4], [3, 3, 3]):
        return f"inputs of rank {ranks} (4-D, or 3-D with head counts, are decomposed)"
    heads = 0
    if ranks[0] == 3:
        qh, kvh = attribute(proto, "q_num_heads"), attribute(proto, "kv_num_heads")
        if not isinstance(qh, int) or not isinstance(kvh, int) or not qh or not kvh:
            return "3-D inputs without q_num_heads / kv_num_heads"
        if qh != kvh:
            return f"grouped-query attention (q_num_heads {qh} != kv_num_heads {kvh})"
        heads = qh
    else:
        qh_dim, kh_dim = _dim(model, q, 1), _dim(model, k, 1)
        if qh_dim is None or kh_dim is None or qh_dim != kh_dim:
            return (f"query heads {qh_dim} and key/value heads {kh_dim} must be known and "
                    "equal (grouped-query attention is not decomposed)")
    scale = attribute(proto, "scale")
    if not isinstance(scale, float):
        head_size = _dim(model, q, -1)
        if head_size is None:
            return "no scale attribute and the query's last dimension is unknown"
        if heads:
            if head_size % heads:
                return f"hidden size {head_size} is not a multiple of q_num_heads {heads}"
            head_size //= heads
        scale = 1.0 / math.sqrt(head_size)
    return {"q": q, "k": k, "v": v, "mask": mask, "bool_mask": _is_bool(model, mask),
            "heads": heads, "scale": float(scale), "out": proto.output[0]}


def _plan_mha(model: RewriteModel, proto: onnx.NodeProto) -> dict[str, object] | str:
    """com.microsoft MultiHeadAttention: 3-D query / key / value, optional attention_bias."""
    q, k, v, bias, padding, attn_bias, past_k, past_v = _inputs(proto)[:8]
    if bias:
        return "the packed bias input is not decomposed"
    if padding:
        return "key_padding_mask is not decomposed"
    if past_k or past_v or any(o for o in proto.output[1:]):
        return "past / present key and value (KV cache) are not decomposed"
    if attribute(proto, "unidirectional", 0):
        return "unidirectional=1 (a causal mask) is not decomposed"
    if [model.rank(t) if t else None for t in (q, k, v)] != [3, 3, 3]:
        return "only 3-D query, key and value are decomposed (packed QKV / KV are not)"
    heads = attribute(proto, "num_heads")
    if not isinstance(heads, int) or heads <= 0:
        return "num_heads is missing"
    scale = attribute(proto, "scale")
    if not isinstance(scale, float) or not scale:
        hidden = _dim(model, q, -1)
        if hidden is None or hidden % heads:
            return "no scale attribute and the query's hidden size is unknown"
        scale = 1.0 / math.sqrt(hidden // heads)
    return {"q": q, "k": k, "v": v, "mask": attn_bias, "bool_mask": False, "heads": heads,
            "scale": float(scale), "out": proto.output[0]}


def _plan_packed(model: RewriteModel, proto: onnx.NodeProto) -> dict[str, object] | str:
    """com.microsoft Attention: one input projected by packed Q|K|V weights (and bias), then
    multi-head attention; basic case only."""
    x, weights, bias, mask_index, past, attn_bias = _inputs(proto)[:6]
    if mask_index:
        return "mask_index is not decomposed"
    if past or any(o for o in proto.output[1:]):
        return "past / present (KV cache) are not decomposed"
    if attribute(proto, "unidirectional", 0):
        return "unidirectional=1 (a causal mask) is not decomposed"
    if attribute(proto, "do_rotary", 0):
        return "do_rotary=1 (rotary embeddings) is not decomposed"
    if attribute(proto, "qkv_hidden_sizes") is not None:
        return "qkv_hidden_sizes (unequal Q/K/V widths) is not decomposed"
    if model.rank(x) != 3:
        return "only a 3-D input is decomposed"
    heads = attribute(proto, "num_heads")
    width = _dim(model, weights, -1)
    if not isinstance(heads, int) or heads <= 0 or width is None or width % (3 * heads):
        return "num_heads or the packed weight width is unknown or inconsistent"
    hidden = width // 3
    scale = attribute(proto, "scale")
    if not isinstance(scale, float) or not scale:
        scale = 1.0 / math.sqrt(hidden // heads)
    return {"q": "", "k": "", "v": "", "packed": (x, weights, bias, hidden), "mask": attn_bias,
            "bool_mask": False, "heads": heads, "scale": float(scale), "out": proto.output[0]}


def _project(e: Emitter, packed: tuple[str, str, str, int]) -> tuple[str, str, str]:
    """x @ W (+ b), sliced into Q, K, V along the last axis."""
    x, weights, bias, hidden = packed
    qkv = e.op("MatMul", [x, weights])
    if bias:
        qkv = e.op("Add", [qkv, bias])
    axis = e.const([-1], onnx.TensorProto.INT64)
    parts = []
    for i in range(3):
        start = e.const([i * hidden], onnx.TensorProto.INT64)
        end = e.const([(i + 1) * hidden], onnx.TensorProto.INT64)
        parts.append(e.op("Slice", [qkv, start, end, axis]))
    return parts[0], parts[1], parts[2]


def _is_bool(model: RewriteModel, value: str) -> bool:
    return bool(value) and model.elem_type(value) == onnx.TensorProto.BOOL


def _dim(model: RewriteModel, value: str, axis: int) -> int | None:
    """A static dimension of a value, from its shape as the model declares or infers it."""
    shape = model.shape(value)
    if shape is None or not -len(shape) <= axis < len(shape):
        return None
    return shape[axis]
