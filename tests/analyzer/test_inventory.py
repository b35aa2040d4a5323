from __future__ import annotations

from analyzer.sources.onnx_inventory import build_inventory, prepare
from tests.fixtures.onnx_models import parse


def _inventory(text: str):
    prepared = prepare(parse(text))
    return build_inventory(prepared), prepared


def test_types_and_versions_are_resolved_for_main_graph_nodes():
    inv, prepared = _inventory(
        """<ir_version: 9, opset_import: ["" : 17]>
        g (float16[2,3] x, int64[2] shape) => (float16[3,2] y) {
            r = Relu(x)
            y = Reshape(r, shape)
        }"""
    )
    assert prepared.inference_errors == []
    relu, reshape = inv.nodes
    assert (relu.op, relu.since_version) == ("Relu", 14)
    assert relu.input_types == ("tensor(float16)",)
    assert reshape.since_version == 14
    assert reshape.input_types == ("tensor(float16)", "tensor(int64)")
    assert inv.opset_imports == {"": 17}


def test_subgraph_nodes_are_listed_with_outer_scope_types():
    inv, _ = _inventory(
        """<ir_version: 9, opset_import: ["" : 17]>
        g (bool cond, double[4] x) => (double[4] y) {
            y = If(cond) <
                then_branch = t () => (double[4] a) { a = Erf(x) },
                else_branch = e () => (double[4] b) { b = Neg(x) }
            >
        }"""
    )
    by_op = {n.op: n for n in inv.nodes}
    assert set(by_op) == {"If", "Erf", "Neg"}
    assert by_op["Erf"].input_types == ("tensor(double)",)
    assert by_op["Erf"].graph.endswith("then_branch")
    assert by_op["Neg"].graph.endswith("else_branch")


def test_local_functions_are_inlined_and_body_nodes_typed():
    inv, prepared = _inventory(
        """<ir_version: 10, opset_import: ["" : 17, "local" : 1]>
        g (double[4] x) => (double[4] y) {
            t = local.Twice(x)
            y = local.Twice(t)
        }
        <domain: "local", opset_import: ["" : 17]>
        Twice (a) => (b) {
            c = Erf(a)
            b = Neg(c)
        }"""
    )
    assert prepared.inlined_functions == ["local.Twice"]
    assert [n.op for n in inv.nodes] == ["Erf", "Neg", "Erf", "Neg"]
    assert all(n.location == "function local.Twice" for n in inv.nodes)
    assert inv.nodes[0].input_types == ("tensor(double)",)
    assert inv.local_functions == [("local", "Twice")]


def test_parameters_counted_without_reading_values():
    import numpy as np
    import onnx.numpy_helper

    model = parse(
        """<ir_version: 9, opset_import: ["" : 17]>
        g (float[2,3] x) => (float[2,4] y) { y = MatMul(x, w) }"""
    )
    model.graph.initializer.append(onnx.numpy_helper.from_array(np.zeros((3, 4), np.float32), "w"))
    prepared = prepare(model)
    inv = build_inventory(prepared.model)
    assert inv.parameters == 12
    assert [i[0] for i in inv.graph_inputs] == ["x"]
