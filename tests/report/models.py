"""Small real ONNX models for the HTML report tests (built with onnx.helper: node names matter
here, and the parser text format cannot give a node a name like `<script>`)."""

from __future__ import annotations

import onnx
import onnx.helper as oh
from onnx import TensorProto

HOSTILE = "<script>alert(1)</script>"
UNSUPPORTED = "frob_bad"  # com.example::Frobnicate: no schema, no kernel anywhere
FALLBACK = "celu_fallback"  # Celu: CUDA has no kernel, so it falls back to CPU


def problem_model() -> onnx.ModelProto:
    """x -> Relu -> Celu -> Frobnicate (unknown custom op) -> Sigmoid named like a script tag."""
    nodes = [
        oh.make_node("Relu", ["x"], ["a"], name="relu_ok"),
        oh.make_node("Celu", ["a"], ["b"], name=FALLBACK),
        oh.make_node("Frobnicate", ["b"], ["c"], name=UNSUPPORTED, domain="com.example"),
        oh.make_node("Sigmoid", ["c"], ["y"], name=HOSTILE),
    ]
    graph = oh.make_graph(nodes, "problems",
                          [oh.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
                          [oh.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])])
    return oh.make_model(graph, opset_imports=[oh.make_opsetid("", 17),
                                               oh.make_opsetid("com.example", 1)])


def chain_model(n: int, scoped: bool = False, width: int = 1) -> onnx.ModelProto:
    """A chain of n unary nodes (Relu / Sigmoid / Neg, Celu every 97th). With `scoped`, names
    look like TorchScript's (/layers/layers.K/op_i, 50 nodes per layer), so the report groups them
    by module. `width` > 1 adds side branches that join back (Add), for a less trivial layout."""
    ops = ("Relu", "Sigmoid", "Neg")
    nodes = []
    prev = "x"
    for i in range(n):
        op = "Celu" if i % 97 == 96 else ops[i % 3]
        name = f"/layers/layers.{i // 50}/{op}_{i}" if scoped else f"{op.lower()}_{i}"
        if width > 1 and i % 10 == 9 and i > 0:
            nodes.append(oh.make_node("Add", [prev, f"t{i - 5}"], [f"t{i}"], name=name))
        else:
            nodes.append(oh.make_node(op, [prev], [f"t{i}"], name=name))
        prev = f"t{i}"
    nodes[-1].output[0] = "y"
    graph = oh.make_graph(nodes, "chain",
                          [oh.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])],
                          [oh.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8])])
    return oh.make_model(graph, opset_imports=[oh.make_opsetid("", 17)])
