"""reduce_axes: Reduce*-18 with constant axes (noop_with_empty_axes=0, as the exporters write
it) down to the attribute form; empty axes keep "all axes"; run-time axes stay a blocker."""

from __future__ import annotations

import onnx
import onnx.parser
import pytest

from rewrites.onnx.adapters import reduce_axes
from rewrites.onnx.adapters.common import ADAPTED_DOMAIN
from rewrites.onnx.adapters.testing import adapter_note, converted
from rewrites.onnx.rule import RewriteModel
from rewrites.passes import apply

#: ReduceL1 / L2 / LogSum / LogSumExp / SumSquare have schema bodies: onnx:expand-function
#: turns them into ReduceSum & co. before the conversion, so the adapter meets those
OPS = ("ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd")
BODIES = ("ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare")


def _model(op: str, axes: str, keepdims: int = 1, noop: int = 0) -> onnx.ModelProto:
    kept = [int(a) % 3 for a in axes.split(",")] if axes else ([] if noop else [0, 1, 2])
    dims = [1 if i in kept else d for i, d in enumerate((2, 3, 4))] if keepdims else [
        d for i, d in enumerate((2, 3, 4)) if i not in kept]
    count = axes.count(",") + 1 if axes else 0
    return onnx.parser.parse_model(f"""
<ir_version: 9, opset_import: ["" : 18]>
g (float[2,3,4] x) => (float[{",".join(map(str, dims))}] y) <int64[{count}] a = {{{axes}}}> {{
    y = {op} <keepdims = {keepdims}, noop_with_empty_axes = {noop}> (x, a)
}}""")


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("target", [17, 13, 11])
def test_constant_axes_become_the_attribute(op: str, target: int) -> None:
    result, out = converted(_model(op, "1, -1", keepdims=0), target)
    node = next(n for n in out.graph.node if n.op_type == op)
    assert node.domain == ""
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    if op == "ReduceSum" and target >= 13:  # ReduceSum-13 takes axes as an input too
        assert list(node.input) == ["x", "a"]
        return
    assert list(node.input) == ["x"]
    assert attrs == {"axes": [1, -1], "keepdims": 0}
    assert "reduce-axes adapter" in adapter_note(result)


@pytest.mark.parametrize("op", OPS + BODIES)
def test_the_adapter_writes_the_attribute_form_of_every_reduce(op: str) -> None:
    model = RewriteModel(_model(op, "0, 2"))
    assert reduce_axes.adapt(model, 11) == 1
    node = next(n for n in model.proto.graph.node if n.op_type == op)
    assert node.domain == ADAPTED_DOMAIN and list(node.input) == ["x"]
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    assert attrs == {"axes": [0, 2], "keepdims": 1}


@pytest.mark.parametrize("op", BODIES)
def test_reduce_with_a_body_converts(op: str) -> None:
    converted(_model(op, "1"), 11)


def test_empty_axes_mean_all_axes_in_both_forms() -> None:
    _, out = converted(_model("ReduceMean", ""), 13)
    node = next(n for n in out.graph.node if n.op_type == "ReduceMean")
    assert "axes" not in {a.name for a in node.attribute}


def test_empty_axes_with_noop_stay_a_blocker() -> None:
    result = apply(_model("ReduceMean", "", noop=1), target_opset=13)
    assert result.blocked is not None and "ReduceMean" in result.blocked.text


def test_axes_from_a_graph_input_stay_a_blocker() -> None:
    model = onnx.parser.parse_model("""
<ir_version: 9, opset_import: ["" : 18]>
g (float[2,3,4] x, int64[1] a) => (float[?] y) { y = ReduceMean(x, a) }""")
    result = apply(model, target_opset=13)
    assert result.blocked is not None
    assert "graph input" in result.blocked.text
