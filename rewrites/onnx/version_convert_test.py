"""onnx:version-convert from ONNX text: opset 20 -> 13 and -> 11 through the function ops that
onnx.version_converter cannot lower on its own (its adapters: the node rules first, then the
hold adapter for type-only version steps), up-conversion, subgraphs, and the reason when a gap
stays."""

from __future__ import annotations

from collections import Counter

import numpy as np
import onnx
import onnx.checker
import onnx.parser
import onnx.version_converter
import pytest

from analyzer.runtime.session import create_session
from rewrites import apply
from rewrites.onnx.target_check import blockers

FUNCTION_OPS = onnx.parser.parse_model(
    '<ir_version: 9, opset_import: ["" : 20]>\n'
    "g (float[2,4,6] x, float[6] s, float[6] b, float[2] gs, float[2] gb, float[2,4,6] z) "
    "=> (float[2,4,6] y) {\n"
    "  a = Gelu(x)\n  c = LayerNormalization(a, s, b)\n  d = HardSwish(c)\n  e = Mish(d)\n"
    "  g = GroupNormalization<num_groups=2>(e, gs, gb)\n  f = Div(g, z)\n  y = Relu(f)\n}"
)


def _run(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    session = create_session(model)
    return list(session.run(None, feeds))


def _feeds(model: onnx.ModelProto) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(2)
    return {i.name: (rng.standard_normal([d.dim_value for d in i.type.tensor_type.shape.dim])
                     + (3.0 if i.name == "z" else 0.0)).astype(np.float32)
            for i in FUNCTION_OPS.graph.input}


def test_onnx_converter_alone_fails_on_function_ops() -> None:
    # The gap this rule fills (measured, not assumed): without the adapters onnx refuses.
    with pytest.raises(RuntimeError, match="No Previous Version of Gelu"):
        onnx.version_converter.convert_version(FUNCTION_OPS, 13)


@pytest.mark.parametrize("target", [13, 11])
def test_lowers_function_ops_model(target: int) -> None:
    result = apply(FUNCTION_OPS, target_opset=target)
    converted = [e for e in result.log if e.rule == "onnx:version-convert"]
    assert [e.status for e in converted] == ["applied"]
    assert converted[0].removed == ("opset 20",) and converted[0].added == (f"opset {target}",)
    assert "Div-14 kept as" in (converted[0].reason or "") or target == 11
    model = result.model
    assert {i.domain: i.version for i in model.opset_import}[""] == target
    ops = Counter(n.op_type for n in model.graph.node)
    for gone in ("Gelu", "LayerNormalization", "HardSwish", "Mish", "GroupNormalization",
                 "CastLike"):
        assert ops[gone] == 0, gone
    applied = Counter(e.rule for e in result.applied)
    assert applied["onnx:layer-norm-decompose"] == 1
    assert applied["onnx:expand-function"] >= 4  # Gelu, HardSwish, Mish, GroupNormalization
    onnx.checker.check_model(model, full_check=True)
    feeds = _feeds(model)
    got, want = _run(model, feeds)[0], _run(FUNCTION_OPS, feeds)[0]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_converts_up_and_inside_subgraphs() -> None:
    model = onnx.parser.parse_model(
        '<ir_version: 8, opset_import: ["" : 14]>\n'
        "g (bool c, float[2,3] x) => (float[2,3] y) {\n"
        "  y = If(c) <then_branch = t () => (float[2,3] a) { a = HardSwish(x) },\n"
        "             else_branch = e () => (float[2,3] b) { b = Relu(x) }>\n}"
    )
    up = apply(model, rules=(), target_opset=18)
    assert [e.status for e in up.log] == ["applied"]
    assert up.model.opset_import[0].version == 18
    down = apply(model, target_opset=13)
    by_rule = {e.rule: e for e in down.log if e.status == "applied"}
    # HardSwish-14 does not exist at 13: onnx:expand-function rewrites it inside the then-branch
    assert by_rule["onnx:expand-function"].node == "HardSwish_0@main/If_0.then_branch"
    assert "onnx:version-convert" in by_rule
    then = down.model.graph.node[0].attribute[0].g
    assert "HardSwish" not in [n.op_type for n in then.node]
    onnx.checker.check_model(down.model, full_check=True)
    x = np.random.default_rng(1).standard_normal((2, 3)).astype(np.float32)
    for c in (True, False):
        feeds = {"c": np.array(c), "x": x}
        np.testing.assert_allclose(_run(down.model, feeds)[0], _run(model, feeds)[0],
                                   rtol=1e-5, atol=1e-6)


def test_reason_when_a_gap_stays() -> None:
    # ReduceMean-18 with axes from a graph input has no attribute form at opset 13.
    model = onnx.parser.parse_model(
        '<ir_version: 9, opset_import: ["" : 18]>\n'
        "g (float[2,3] x, int64[1] axes) => (float[2,1] y) { y = ReduceMean(x, axes) }"
    )
    result = apply(model, target_opset=13)
    assert [(e.rule, e.status) for e in result.log] == [("onnx:version-convert", "skipped")]
    reason = result.log[0].reason or ""
    assert "ReduceMean" in reason and "graph input" in reason
    assert result.model.opset_import[0].version == 18


# hold, judged per node: the inputs / outputs a node uses exist at the lower version by position
BN_DROPOUT = onnx.parser.parse_model("""
<ir_version: 9, opset_import: ["" : 18]>
g (float[2,3,4] x, float[3] s, float[3] b, float[3] m, float[3] v) => (float[2,3,4] y) {
    n = BatchNormalization <epsilon = 0.001> (x, s, b, m, v)
    y = Dropout(n)
}""")


@pytest.mark.parametrize("target", [13, 11, 9])
def test_batchnorm15_and_dropout13_are_held_by_what_they_use(target: int) -> None:
    result = apply(BN_DROPOUT, target_opset=target)
    assert result.blocked is None, result.blocked
    assert {i.domain: i.version for i in result.model.opset_import}[""] == target
    onnx.checker.check_model(result.model, full_check=True)
    note = next(e.reason for e in result.applied if e.rule == "onnx:version-convert") or ""
    assert "BatchNormalization-15 kept as BatchNormalization-9" in note


SCATTER_ADD = onnx.parser.parse_model("""
<ir_version: 9, opset_import: ["" : 18]>
g (float[4,3] x, float[1,3] u) => (float[4,3] y) <int64[1,3] i = {1, 0, 3}> {
    y = ScatterElements <axis = 0, reduction = "add"> (x, i, u)
}""")


def test_scatter_reduction_is_kept_where_the_lower_version_has_it() -> None:
    kept = apply(SCATTER_ADD, target_opset=16)
    assert kept.blocked is None, kept.blocked
    node = kept.model.graph.node[0]
    assert [a.s for a in node.attribute if a.name == "reduction"] == [b"add"]
    refused = apply(SCATTER_ADD, target_opset=13)  # ScatterElements-13 has no reduction
    assert refused.blocked is not None and "ScatterElements" in refused.blocked.text


# the dynamo export of index_put / scatter_add: a reduction="none" node and an "add" one
SCATTER_NONE_AND_ADD = onnx.parser.parse_model("""
<ir_version: 9, opset_import: ["" : 18]>
g (float[2,6] x, int64[2,3] i, float[2,3] u) => (float[2,6] y) {
    s = ScatterElements <axis = 1, reduction = "none"> (x, i, u)
    y = ScatterElements <axis = 1, reduction = "add"> (s, i, u)
}""")

SCATTER_NONE = [onnx.parser.parse_model("""
<ir_version: 9, opset_import: ["" : 18]>
g (float[2,6] x, int64[2,3] i, float[2,3] u) => (float[2,6] y) {
    y = ScatterElements <axis = 1, reduction = "none"> (x, i, u)
}"""), onnx.parser.parse_model("""
<ir_version: 9, opset_import: ["" : 18]>
g (float[2,6] x, int64[2,1] i, float[2,6] u) => (float[2,6] y) {
    y = ScatterND <reduction = "none"> (x, i, u)
}""")]


@pytest.mark.parametrize("target", [13, 11])
def test_scatter_add_below_16_is_a_no_lower_form_blocker_naming_its_node(target: int) -> None:
    result = apply(SCATTER_NONE_AND_ADD, target_opset=target)
    assert result.blocked is not None and result.blocked.node == "ScatterElements"
    # the "add" node (ScatterElements_1), not the first that sets the attribute
    assert result.blocked.text.startswith("ScatterElements node ScatterElements_1: "
                                          "reduction='add' exists in ScatterElements from "
                                          "opset 16 only")
    found = blockers(result.model, target, result.log, result.blocked)
    assert [(b.op, b.cause) for b in found] == [("ScatterElements", "no-lower-form")]
    assert "from opset 16 only" in found[0].reason


def test_scatter_none_and_add_convert_to_16() -> None:
    result = apply(SCATTER_NONE_AND_ADD, target_opset=16)
    assert result.blocked is None, result.blocked
    assert {i.domain: i.version for i in result.model.opset_import}[""] == 16


@pytest.mark.parametrize("target", [15, 13, 11])
def test_scatter_reduction_none_drops_to_the_version_without_it(target: int) -> None:
    for model in SCATTER_NONE:
        result = apply(model, target_opset=target)
        assert result.blocked is None, result.blocked
        assert {i.domain: i.version for i in result.model.opset_import}[""] == target
        onnx.checker.check_model(result.model, full_check=True)
        for node in result.model.graph.node:
            assert not [a for a in node.attribute if a.name == "reduction"]
        step = next(e for e in result.log if e.rule == "onnx:version-convert")
        assert step.status == "applied" and "unverified" not in (step.reason or "")
