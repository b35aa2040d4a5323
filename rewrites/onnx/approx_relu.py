"""onnx:approx-relu: HardSwish, SiLU / Swish (x * Sigmoid(x), ai.onnx Swish, com.microsoft
QuickGelu) -> Relu. The seed's approximate replacement for runtimes and accelerators without
these ops: all of them are x * gate(x) with a gate that tends to step(x), so Relu keeps the
large values and drops the small negative bump. Approximate: runs only when named (--rules
onnx:approx-relu), and the pass reports its measured effect (max abs / rel error per output)."""

from __future__ import annotations

from dataclasses import dataclass

from analyzer.finding_ids import EP301, SCH202
from analyzer.inventory import NodeRecord
from rewrites.onnx.rule import Match, OnnxRuleBase, Reason, RewriteModel, Target

_GATED = {("", "HardSwish"), ("", "Swish"), ("com.microsoft", "QuickGelu")}
_FLOAT = ("tensor(float)", "tensor(float16)", "tensor(double)", "tensor(bfloat16)")


@dataclass(frozen=True)
class ReluInput:
    """The gated input x, and the record index of a Sigmoid that dies with the Mul."""

    x: str
    dead: tuple[int, ...] = ()


class ApproxRelu(OnnxRuleBase):
    """Replace x * gate(x) activations by Relu(x) (approximate)."""

    id = "onnx:approx-relu"
    summary = "HardSwish / SiLU (x*Sigmoid(x), Swish, QuickGelu) -> Relu (approximate)"
    exact = False
    answers = (SCH202.id, EP301.id)
    targets = (Target("HardSwish"), Target("Swish"), Target("QuickGelu", "com.microsoft"),
               Target("Mul"))

    def check(self, model: RewriteModel, node: NodeRecord) -> Match[ReluInput] | Reason:
        index = model.index_of(node)
        if node.input_types and node.input_types[0] not in _FLOAT:
            return Reason(self.id, node.name, f"{node.op} on {node.input_types[0]}: Relu takes "
                          "float types only", quiet=node.op == "Mul")
        if (node.domain, node.op) in _GATED:
            return Match(self.id, ReluInput(node.inputs[0]), node.name, index, (node.op,),
                         ("Relu",))
        sigmoid = _silu_gate(model, node)
        if sigmoid is None:
            return Reason(self.id, node.name, "not x * Sigmoid(x)", quiet=True)
        x, gate = sigmoid
        # The Sigmoid goes too when this Mul is its only reader.
        dead = (gate,) if model.uses(model.records()[gate].outputs[0]) == 1 else ()
        removed = ("Mul", "Sigmoid") if dead else ("Mul",)
        return Match(self.id, ReluInput(x, dead), node.name, index, removed, ("Relu",))

    def apply(self, model: RewriteModel, match: Match[ReluInput]) -> None:
        import onnx.helper

        x, dead = match.payload.x, match.payload.dead
        node = model.node(match.index)
        relu = onnx.helper.make_node("Relu", [x], [node.output[0]],
                                     name=model.fresh_name(f"{node.name or match.node}/Relu"))
        model.replace(match.index, [relu], self.id)
        for gate in dead:
            model.replace(gate, [], self.id)


def _silu_gate(model: RewriteModel, node: NodeRecord) -> tuple[str, int] | None:
    """(x, index of the Sigmoid) when the Mul is x * Sigmoid(x), in either order."""
    if node.domain or len(node.inputs) != 2:
        return None
    for a, b in (node.inputs, node.inputs[::-1]):
        producer = model.producer(b)
        if producer is None:
            continue
        gate = model.records()[producer]
        if gate.op == "Sigmoid" and not gate.domain and gate.inputs[:1] == (a,):
            return a, producer
    return None
