"""subgraph_ops: If-16 / Loop-16 below 16, their bodies converted on their own (adapters too)."""

from __future__ import annotations

import numpy as np
import onnx
import onnx.parser
import pytest

from analyzer.runtime.session import create_session
from rewrites.onnx.adapters.subgraph_ops import outer_names
from rewrites.onnx.target_check import delivered_opset
from rewrites.passes import apply

# The then-branch reads outer values (x, y and the initializer ax) and holds ops that need
# converting: ReduceMean-18 with constant axes (reduce-axes adapter) and Add-14 (hold).
MODEL = onnx.parser.parse_model("""
<ir_version: 9, opset_import: ["" : 18]>
g (bool c, float[2,3] x, float[2,1] y) => (float[2,1] z) <int64[1] ax = {1}> {
    z = If (c) <then_branch = t () => (float[2,1] a) {
                    m = ReduceMean <keepdims = 1, noop_with_empty_axes = 0> (x, ax)
                    a = Add (m, y)
                },
                else_branch = e () => (float[2,1] b) { b = Relu (y) }>
}""")


def test_outer_names() -> None:
    then = MODEL.graph.node[0].attribute[0].g
    assert outer_names(then) == ["x", "ax", "y"]


@pytest.mark.parametrize("target", [15, 13, 11])
def test_if_with_converting_bodies(target: int) -> None:
    result = apply(MODEL, target_opset=target)
    assert result.blocked is None, result.blocked
    out = result.model
    assert delivered_opset(out) == target
    onnx.checker.check_model(out, full_check=True)
    node = out.graph.node[-1]
    assert node.op_type == "If" and node.domain == ""
    body = next(a.g for a in node.attribute if a.name == "then_branch")
    assert not body.input and not body.initializer  # outer values stay outer
    reduce = next(n for n in body.node if n.op_type == "ReduceMean")
    assert [a.ints for a in reduce.attribute if a.name == "axes"] == [[1]]
    rng = np.random.default_rng(0)
    for flag in (True, False):
        feeds = {"c": np.array(flag), "x": rng.standard_normal((2, 3)).astype(np.float32),
                 "y": rng.standard_normal((2, 1)).astype(np.float32)}
        want = create_session(MODEL).run(None, feeds)[0]
        got = create_session(out).run(None, feeds)[0]
        np.testing.assert_array_equal(got, want)


def test_a_body_that_cannot_convert_blocks_with_its_reason() -> None:
    model = onnx.parser.parse_model("""
<ir_version: 9, opset_import: ["" : 18]>
g (bool c, int64[3] x) => (int64[3] z) {
    z = If (c) <then_branch = t () => (int64[3] a) { a = BitwiseNot (x) },
                else_branch = e () => (int64[3] b) { b = Identity (x) }>
}""")
    result = apply(model, target_opset=13)
    assert result.blocked is not None
    assert "BitwiseNot" in result.blocked.text


SCAN = onnx.parser.parse_model("""
<ir_version: 9, opset_import: ["" : 18]>
g (float[2] s, float[3,2] xs) => (float[2] y, float[3,2] ys) {
    y, ys = Scan (s, xs) <num_scan_inputs = 1, scan_input_axes = [0],
        body = b (float[2] si, float[2] xi) => (float[2] so, float[2] yo) {
            so = Add (si, xi)
            yo = Relu (so)
        }>
}""")


def test_scan_with_non_negative_axes_goes_to_9() -> None:
    result = apply(SCAN, target_opset=9)
    assert result.blocked is None, result.blocked
    out = result.model
    assert delivered_opset(out) == 9
    onnx.checker.check_model(out, full_check=True)
    rng = np.random.default_rng(1)
    feeds = {"s": rng.standard_normal(2).astype(np.float32),
             "xs": rng.standard_normal((3, 2)).astype(np.float32)}
    for got, want in zip(create_session(out).run(None, feeds),
                         create_session(SCAN).run(None, feeds), strict=True):
        np.testing.assert_array_equal(got, want)


# What the dynamo exporter writes for EmbeddingBag: a Loop whose carried values (a counter and
# a sequence) are untyped in the body, an If in it whose untyped branch outputs come from
# Reduce*-18 nodes reading their axes from a main-graph initializer, and a main-graph Reduce
# with the same kind of axes.
LOOP = onnx.parser.parse_model("""
<ir_version: 9, opset_import: ["" : 18]>
g (float[4,3] x) => (float[1,3] m, float[2,3] y)
  <int64[1] ax = {0}, int64 two = {2}, bool t = {1}, int64 zero = {0}> {
    m = ReduceMean <keepdims = 1> (x, ax)
    seq = SequenceEmpty <dtype = 1> ()
    n, out = Loop (two, t, zero, seq) <body = body (int64 i, bool c, k, s) => (c2, k2, s2) {
        one = Constant <value = int64 {1}> ()
        k2 = Add (k, one)
        big = Greater (k, zero)
        r = If (big) <then_branch = th () => (rt) { rt = ReduceSum <keepdims = 1> (x, ax) },
                      else_branch = el () => (re) { re = ReduceMean <keepdims = 1> (x, ax) }>
        s2 = SequenceInsert (s, r)
        c2 = Identity (c)
    }>
    y = ConcatFromSequence <axis = 0> (out)
}""")


def _loop_outputs(model: onnx.ModelProto) -> list[np.ndarray]:
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    return list(create_session(model).run(None, {"x": x}))


@pytest.mark.parametrize("target", [17, 14, 13])
def test_untyped_loop_with_reduces_in_nested_bodies_converts(target: int) -> None:
    # 17: the main-graph ReduceMean and the ones in the If's branches are rewritten in one
    # batch (a body's edit used to land in a copy the main graph's rebuild had detached);
    # 14 / 13: the Loop and If bodies are typed from the Loop's inputs and converted each in
    # its own model, where the axes initializer is a constant
    result = apply(LOOP, target_opset=target)
    assert result.blocked is None, result.blocked
    out = result.model
    assert delivered_opset(out) == target
    onnx.checker.check_model(out, full_check=True)
    for want, got in zip(_loop_outputs(LOOP), _loop_outputs(out), strict=True):
        np.testing.assert_array_equal(got, want)


def test_a_loop_carrying_a_sequence_has_no_form_below_13() -> None:
    result = apply(LOOP, target_opset=11)
    assert result.blocked is not None
    assert "Loop node" in result.blocked.text and "seq(tensor(float))" in result.blocked.text
    assert "Loop-11 (at opset 11) does not take: no exact lower form" in result.blocked.text
