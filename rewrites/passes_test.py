"""The pass: opt-in for approximate rules, per-rule verification on onnxruntime, rollback."""

from __future__ import annotations

import onnx
import onnx.helper
import onnx.numpy_helper
import onnx.parser
import pytest

from analyzer.inventory import NodeRecord
from analyzer.runtime.session import SHARE_WEIGHTS_BYTES
from rewrites import apply
from rewrites.contract import Match, Reason
from rewrites.onnx.rule import RewriteModel, Target


class _ReluToIdentity:
    """A deliberately wrong rule: approximate, it is kept with its measured error; declared
    exact, it must be rolled back."""

    id = "relu-to-identity"
    summary = "test only"
    targets = (Target("Relu"),)
    exact = False

    def check(self, model: RewriteModel, node: NodeRecord) -> Match[None] | Reason:
        return Match(self.id, None, node.name, model.index_of(node), ("Relu",), ("Identity",))

    def apply(self, model: RewriteModel, match: Match[None]) -> None:
        node = onnx.NodeProto()
        node.CopyFrom(model.node(match.index))
        node.op_type = "Identity"
        model.replace(match.index, [node], self.id)


MODEL = onnx.parser.parse_model(
    '<ir_version: 8, opset_import: ["" : 14]>\n'
    "g (float[4,8] x) => (float[4,8] y) { h = HardSwish(x)\n y = Relu(h) }"
)


class _ExactReluToIdentity(_ReluToIdentity):
    id = "exact-relu-to-identity"
    exact = True


def test_approximate_rule_needs_naming_and_is_applied_with_its_measured_error() -> None:
    rules = (_ReluToIdentity(),)
    assert apply(MODEL, rules=rules).log == []
    result = apply(MODEL, rules=rules, only=["relu-to-identity"])
    assert [e.status for e in result.log] == ["applied"]
    assert [n.op_type for n in result.model.graph.node] == ["HardSwish", "Identity"]
    # HardSwish(x) has negative values down to -0.375, which Relu zeroed and Identity keeps.
    errors = result.output_errors["relu-to-identity"]["y"]
    assert 0 < errors["max_abs"] <= 0.375 + 1e-6
    assert result.log[0].max_abs_error == errors["max_abs"]
    # max_rel is analyzer.runtime.compare's elementwise |a - e| / |e| over nonzero expected
    # values (docs/verify.md): every element this rule changed was 0 before it (Relu's zeros),
    # so the relative error is 0 although the absolute one is not.
    assert result.log[0].max_rel_error == errors["max_rel"] == 0.0


def test_exact_rule_that_changes_outputs_is_rolled_back() -> None:
    result = apply(MODEL, rules=(_ExactReluToIdentity(),))
    assert [e.status for e in result.log] == ["rolled_back"]
    assert "outputs differ" in (result.log[0].reason or "")
    assert [n.op_type for n in result.model.graph.node] == ["HardSwish", "Relu"]


def test_unknown_rule_id_is_a_usage_error() -> None:
    with pytest.raises(ValueError, match="unknown rewrite rule"):
        apply(MODEL, only=["no-such-rule"])


def test_local_function_nodes_get_a_reason_not_a_rewrite() -> None:
    model = onnx.parser.parse_model(
        '<ir_version: 8, opset_import: ["" : 14, "local" : 1]>\n'
        "g (float[4,8] x) => (float[4,8] y) { h = HardSwish(x)\n y = local.act(h) }\n"
        '<domain: "local", opset_import: ["" : 14]>\n'
        "act (a) => (b) { b = HardSwish(a) }"
    )
    result = apply(model)
    by_node = {e.node: e for e in result.log}
    assert by_node["HardSwish_0"].status == "applied"
    inner = by_node["local.act::HardSwish_0"]
    assert inner.status == "skipped" and "inside local function local.act" in (inner.reason or "")
    assert result.model.functions[0].node[0].op_type == "HardSwish"


def test_in_place_rollback_returns_the_snapshot_and_keeps_the_caller_copy_safe() -> None:
    """copy=False (the caller gives the model up, one copy of the weights less): the rules work
    on `model` itself; a rolled-back rule's result is the snapshot from before it, and the
    default (copy=True) never touches the caller's proto."""
    given = onnx.ModelProto()
    given.CopyFrom(MODEL)
    result = apply(given, rules=(_ExactReluToIdentity(),), copy=False)
    assert [e.status for e in result.log] == ["rolled_back"]
    assert result.model is not given
    assert [n.op_type for n in result.model.graph.node] == ["HardSwish", "Relu"]
    kept = onnx.ModelProto()
    kept.CopyFrom(MODEL)
    applied = apply(kept, rules=(_ReluToIdentity(),), only=["relu-to-identity"], copy=False)
    assert applied.model is kept and kept.graph.node[1].op_type == "Identity"
    assert MODEL.graph.node[1].op_type == "Relu"


def test_a_rollback_with_large_weights_gives_them_back_intact() -> None:
    """With 16 MiB of weights or more the rule's snapshot leaves their bytes out (one copy of the
    weights less); a rolled-back rule's result must still carry every byte, as before it."""
    import numpy as np  # only this test builds weights

    n = 1024
    count = SHARE_WEIGHTS_BYTES // (n * n * 4) + 1
    inits = [onnx.numpy_helper.from_array(np.full((n, n), k + 0.5, np.float32), f"w{k}")
             for k in range(count)]
    nodes = [onnx.helper.make_node("MatMul", ["x", f"w{k}"], [f"p{k}"]) for k in range(count)]
    nodes += [onnx.helper.make_node("Sum", [f"p{k}" for k in range(count)], ["s"]),
              onnx.helper.make_node("Neg", ["s"], ["t"]), onnx.helper.make_node("Relu", ["t"],
                                                                              ["y"])]
    graph = onnx.helper.make_graph(
        nodes, "g", [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [2, n])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [2, n])], inits)
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 18)])
    model.ir_version = 9
    result = apply(model, rules=(_ExactReluToIdentity(),))
    assert [e.status for e in result.log] == ["rolled_back"]
    assert result.model.graph.initializer == model.graph.initializer
    assert result.model == model
