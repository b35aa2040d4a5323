"""onnx:expand-function on models from ONNX text: firings, op counts, full check, and ORT parity."""

from __future__ import annotations

from collections import Counter

import numpy as np
import onnx
import onnx.checker
import onnx.parser
import pytest

from analyzer.runtime.session import create_session
from rewrites import apply
from rewrites.onnx.expand_function import ExpandFunction


def _model(opset: int, body: str, extra: str = "") -> onnx.ModelProto:
    return onnx.parser.parse_model(
        f'<ir_version: 8, opset_import: ["" : {opset}]>\n'
        f"g (float[2,3,4] x{extra}) => (float[2,3,4] y) {{ {body} }}"
    )


CASES = [
    ("HardSwish", _model(14, "h = HardSwish(x)\n y = HardSwish(h)"), 2),
    ("Gelu", _model(20, 'y = Gelu<approximate="tanh">(x)'), 1),
    ("Mish", _model(18, "y = Mish(x)"), 1),
    ("Celu", _model(12, "y = Celu<alpha=0.5>(x)"), 1),
    ("LayerNormalization",
     _model(17, "y = LayerNormalization<axis=-1, epsilon=0.001>(x, s, b)",
            ", float[4] s, float[4] b"), 1),
]


def _run(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    session = create_session(model)
    return list(session.run(None, feeds))


@pytest.mark.parametrize(("op", "model", "firings"), CASES, ids=[c[0] for c in CASES])
def test_expands_function_op(op: str, model: onnx.ModelProto, firings: int) -> None:
    original = model.SerializeToString()
    result = apply(model, rules=(ExpandFunction(),))
    assert model.SerializeToString() == original, "the input model must not change"
    applied = [e for e in result.log if e.rule == "onnx:expand-function" and e.status == "applied"]
    assert len(applied) == firings
    before, after = Counter(n.op_type for n in model.graph.node), Counter(
        n.op_type for n in result.model.graph.node)
    assert after[op] == 0 and before[op] == firings
    expected_after = sum(len(e.added) for e in applied) + sum(before.values()) - firings
    assert sum(after.values()) == expected_after
    onnx.checker.check_model(result.model, full_check=True)
    names = [o for n in result.model.graph.node for o in n.output]
    assert len(names) == len(set(names)), "every value is produced once"
    rng = np.random.default_rng(7)
    feeds = {i.name: rng.standard_normal(
        [d.dim_value for d in i.type.tensor_type.shape.dim]).astype(np.float32)
        for i in model.graph.input}
    for got, want in zip(_run(result.model, feeds), _run(model, feeds), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    assert result.max_abs_error["onnx:expand-function"] < 1e-4


def test_dry_run_proposes_without_changing() -> None:
    model = _model(14, "y = HardSwish(x)")
    result = apply(model, dry_run=True)
    assert [e.status for e in result.log] == ["proposed"]
    assert result.log[0].removed == ("HardSwish",)
    assert "HardSigmoid" in result.log[0].added or "Mul" in result.log[0].added
    assert [n.op_type for n in result.model.graph.node] == ["HardSwish"]


def test_reason_when_no_body_at_opset() -> None:
    # Relu has a body only from ONNX 1.14 (registered at opset 18): at 14 the rule gives a reason
    # (a value in the log), the node stays, and nothing raises.
    model = _model(14, "y = Relu(x)")
    result = apply(model)
    assert [(e.status, e.node) for e in result.log] == [("skipped", "Relu_0")]
    assert "no function body valid at opset 14" in (result.log[0].reason or "")
    assert [n.op_type for n in result.model.graph.node] == ["Relu"]
    assert any(t.op == "Relu" for t in ExpandFunction().targets)


def test_unique_names_with_colliding_values() -> None:
    # Two Mish nodes whose bodies use the same internal names, plus a graph value that a
    # careless prefixing would collide with.
    model = onnx.parser.parse_model(
        '<ir_version: 8, opset_import: ["" : 18]>\n'
        "g (float[2,3,4] x) => (float[2,3,4] y) {\n"
        "  a = Mish(x)\n  b = Mish(a)\n  y = Add(a, b)\n}"
    )
    result = apply(model)
    assert len(result.applied) == 2
    onnx.checker.check_model(result.model, full_check=True)
    names = [o for n in result.model.graph.node for o in n.output]
    assert len(names) == len(set(names))
