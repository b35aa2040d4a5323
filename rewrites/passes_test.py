"""The pass: opt-in for approximate rules, per-rule verification on onnxruntime, rollback."""

from __future__ import annotations

import onnx
import onnx.parser
import pytest

from analyzer.inventory import NodeRecord
from rewrites import apply
from rewrites.rule import Match, Reason, RewriteModel, Target


class _ReluToIdentity:
    """A deliberately wrong approximate rule: its result must be rolled back."""

    id = "relu-to-identity"
    summary = "test only"
    targets = (Target("Relu"),)
    exact = False

    def check(self, model: RewriteModel, node: NodeRecord) -> Match | Reason:
        return Match(self.id, node.name, model.index_of(node), ("Relu",), ("Identity",))

    def apply(self, model: RewriteModel, match: Match) -> None:
        node = onnx.NodeProto()
        node.CopyFrom(model.proto.graph.node[match.index])
        node.op_type = "Identity"
        model.replace(match.index, [node], self.id)


MODEL = onnx.parser.parse_model(
    '<ir_version: 8, opset_import: ["" : 14]>\n'
    "g (float[4,8] x) => (float[4,8] y) { h = HardSwish(x)\n y = Relu(h) }"
)


def test_approximate_rule_needs_naming_and_is_rolled_back_when_wrong() -> None:
    rules = (_ReluToIdentity(),)
    assert apply(MODEL, rules=rules).log == []
    result = apply(MODEL, rules=rules, only=["relu-to-identity"])
    assert [e.status for e in result.log] == ["rolled_back"]
    assert "outputs differ" in (result.log[0].reason or "")
    assert [n.op_type for n in result.model.graph.node] == ["HardSwish", "Relu"]


def test_unknown_rule_id_is_a_usage_error() -> None:
    with pytest.raises(ValueError, match="unknown rewrite rule"):
        apply(MODEL, only=["no-such-rule"])
