"""onnx:cuda-fallback from ONNX text: nodes the tables predict to fall back from CUDA to CPU
(Clip-13 on int32, Pad-18 on int32, ArgMax-13 on int32) are widened with Casts; the predicted
fallbacks and CUDA partitions go down, the outputs are bit-identical on onnxruntime, the checker
passes."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import onnx
import onnx.checker
import onnx.parser
import pytest

from analyzer.onnx_analysis import analyze_onnx as analyze
from analyzer.runtime.session import create_session
from rewrites import apply
from rewrites.onnx.cuda_fallback import CudaFallback

CUDA = "CUDAExecutionProvider"
RULES = (CudaFallback(),)

MODEL = onnx.parser.parse_model(
    '<ir_version: 9, opset_import: ["" : 18]>\n'
    "g (float[4,8] x) => (float[4,10] y, int64[4] i) {\n"
    "  a = Relu(x)\n  s = Mul(a, x)\n"
    "  n = Cast<to=6>(s)\n"  # int32
    "  lo = Constant<value=int32[1] {-2}>()\n  hi = Constant<value=int32[1] {3}>()\n"
    "  c = Clip(n, lo, hi)\n"
    "  p = Constant<value=int64[4] {0, 1, 0, 1}>()\n"
    "  d = Pad(c, p)\n"
    "  f = Cast<to=1>(d)\n  y = Relu(f)\n"
    "  i = ArgMax<axis=1, keepdims=0>(c)\n}"
)


def _placement(model: onnx.ModelProto) -> dict[str, Any]:
    return analyze(model, providers=["cuda", "cpu"]).placement[CUDA]


def _run(model: onnx.ModelProto, x: np.ndarray) -> list[np.ndarray]:
    session = create_session(model)
    return list(session.run(None, {"x": x}))


def test_removes_predicted_cuda_fallbacks_and_partitions() -> None:
    before = _placement(MODEL)
    assert sorted(before["fallback_nodes"]) == ["ArgMax_10", "Clip_5", "Pad_7"]
    result = apply(MODEL, rules=RULES, providers=["cuda", "cpu"])
    applied = result.applied
    assert sorted(e.node for e in applied) == ["ArgMax_10", "Clip_5", "Pad_7"]
    added = Counter(n.op_type for n in result.model.graph.node) - Counter(
        n.op_type for n in MODEL.graph.node)
    # Clip: 3 inputs widened + 1 output back; Pad: 1 + 1; ArgMax: 1 input (its output is int64)
    assert added == Counter({"Cast": 7})
    onnx.checker.check_model(result.model, full_check=True)
    after = _placement(result.model)
    assert after["fallback_nodes"] == []
    assert after["partitions"] < before["partitions"]
    assert after["device_copies"] < before["device_copies"]
    x = (np.random.default_rng(5).standard_normal((4, 8)) * 4).astype(np.float32)
    for got, want in zip(_run(result.model, x), _run(MODEL, x), strict=True):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)


def test_widening_types_come_from_the_cuda_table() -> None:
    result = apply(MODEL, rules=RULES, providers=["cuda"])
    casts = {n.input[0]: n.attribute[0].i for n in result.model.graph.node
             if n.op_type == "Cast" and n.input[0] in ("n", "c")}
    # Clip has an int64 CUDA kernel (lossless for int32); ArgMax only float kernels -> double
    assert casts == {"n": onnx.TensorProto.INT64, "c": onnx.TensorProto.DOUBLE}


@pytest.mark.parametrize("providers", [(), ("cpu",)])
def test_reason_without_cuda(providers: tuple[str, ...]) -> None:
    result = apply(MODEL, rules=RULES, providers=providers)
    assert result.applied == []
    assert result.log == []  # not a CUDA target: nothing to say about every Relu and Clip
    rule = CudaFallback()
    from rewrites.onnx.rule import Reason, RewriteModel
    work = RewriteModel(MODEL, providers=())
    found = rule.check(work, work.records()[5])
    assert isinstance(found, Reason) and "--providers cuda" in found.text


def test_arithmetic_ops_are_not_widened() -> None:
    model = onnx.parser.parse_model(
        '<ir_version: 9, opset_import: ["" : 18]>\n'
        "g (int32[4,8] x, int32[8,2] w) => (int32[4,2] y) { y = MatMul(x, w) }")
    result = apply(model, rules=RULES, providers=["cuda"])
    assert result.log == []  # MatMul is not a selection op: not a target at all
    assert _placement(model)["fallback_nodes"] == ["MatMul_0"]


def test_approximate_variant_widens_arithmetic_when_named() -> None:
    # MatMul-13 has no int32 CUDA kernel; in double the products are exact for these values,
    # but the rule cannot know the value range, so it is approximate and named only.
    model = onnx.parser.parse_model(
        '<ir_version: 9, opset_import: ["" : 18]>\n'
        "g (float[4,8] x, float[8,2] w) => (float[4,2] y) {\n"
        "  a = Cast<to=6>(x)\n  b = Cast<to=6>(w)\n  m = MatMul(a, b)\n  y = Cast<to=1>(m)\n}")
    assert apply(model, providers=["cuda"]).applied == []  # not an exact rule's job
    result = apply(model, only=["onnx:cuda-fallback-approx"], providers=["cuda", "cpu"])
    assert [(e.node, e.exact) for e in result.applied] == [("MatMul_2", False)]
    casts = [n.attribute[0].i for n in result.model.graph.node if n.op_type == "Cast"]
    assert casts.count(onnx.TensorProto.DOUBLE) == 2  # both MatMul inputs widened
    assert _placement(model)["fallback_nodes"] == ["MatMul_2"]
    assert _placement(result.model)["fallback_nodes"] == []
    assert result.output_errors["onnx:cuda-fallback-approx"]["y"]["max_abs"] == 0.0
