"""onnx:layer-norm-decompose: LayerNormalization as ReduceMean / Sub / Mul / Add / Sqrt / Div /
Mul / Add, written in the ReduceMean form of the graph's opset (axes attribute below 18, axes input
from 18).

Hand-written instead of the schema body (onnx:expand-function) because onnx builds that body at the
op's since_version (17), with ReduceMean's axes attribute: invalid in a model at opset 18 or
later, and LayerNormalization does not exist below 17 at all, so a model going down to opset 13
needs a form that onnx.version_converter can then lower op by op. axis, epsilon and stash_type
(the precision of the statistics) are honoured, and the optional Mean / InvStdDev outputs are
produced when the node has them.
"""

from __future__ import annotations

from dataclasses import dataclass

import onnx

from analyzer.finding_ids import EP301, SCH202
from analyzer.inventory import NodeRecord
from rewrites.onnx.emit import Emitter, attribute
from rewrites.onnx.rule import Match, OnnxRuleBase, Reason, RewriteModel, Target

_FLOATS = {"tensor(float)": onnx.TensorProto.FLOAT, "tensor(float16)": onnx.TensorProto.FLOAT16,
           "tensor(double)": onnx.TensorProto.DOUBLE,
           "tensor(bfloat16)": onnx.TensorProto.BFLOAT16}


@dataclass(frozen=True)
class NormAxes:
    """The input's rank (None: unknown) and the normalized axis as the node gives it."""

    rank: int | None
    axis: int


class LayerNormDecompose(OnnxRuleBase):
    """Exact decomposition of ai.onnx LayerNormalization."""

    id = "onnx:layer-norm-decompose"
    summary = ("LayerNormalization as ReduceMean/Sub/Mul/Add/Sqrt/Div/Mul/Add in the graph's "
               "ReduceMean form (exact)")
    exact = True
    answers = (SCH202.id, EP301.id)
    targets = (Target("LayerNormalization", "", (1, 16)),)

    def check(self, model: RewriteModel, node: NodeRecord) -> Match[NormAxes] | Reason:
        if not node.input_types or node.input_types[0] not in _FLOATS:
            return Reason(self.id, node.name,
                          f"input type {node.input_types[0] if node.input_types else '?'} is "
                          "not a float type")
        proto = model.node(model.index_of(node))
        rank = model.rank(proto.input[0])
        axis = attribute(proto, "axis", -1)
        assert isinstance(axis, int)
        if axis >= 0 and rank is None:
            return Reason(self.id, node.name,
                          f"axis {axis} with an input of unknown rank: the reduced axes are "
                          "unknown")
        opset = model.opset_imports.get("", 0)
        if axis < 0 and opset < 11 and rank is None:
            return Reason(self.id, node.name, "negative axis below opset 11 needs a known rank")
        added = ["ReduceMean", "Sub", "Mul", "ReduceMean", "Add", "Sqrt", "Div", "Mul"]
        if len(proto.input) > 2 and proto.input[2]:
            added.append("Add")
        if len(proto.output) > 2 and proto.output[2]:
            added.append("Div")  # InvStdDev
        return Match(self.id, NormAxes(rank, axis), node.name, model.index_of(node), (node.op,),
                     tuple(added))

    def apply(self, model: RewriteModel, match: Match[NormAxes]) -> None:
        node = model.node(match.index)
        rank, axis = match.payload.rank, match.payload.axis
        opset = model.opset_imports.get("", 17)
        epsilon = attribute(node, "epsilon", 1e-5)
        stash = attribute(node, "stash_type", onnx.TensorProto.FLOAT)
        assert isinstance(epsilon, float) and isinstance(stash, int)
        if rank is not None:
            first = axis if axis >= 0 else axis + rank
            axes = list(range(first, rank)) if opset < 11 else list(range(first - rank, 0))
        else:
            axes = list(range(axis, 0))
        x_type = model.records()[match.index].input_types[0]
        elem = _FLOATS[x_type or "tensor(float)"]
        e = Emitter(model, node.name or match.node, self.id)
        x = node.input[0]
        outputs = list(node.output) + [""] * (3 - len(node.output))
        xs = e.op("Cast", [x], to=stash) if stash != elem else x
        mean = e.reduce_mean(xs, axes, opset, out=outputs[1] or None)
        d = e.op("Sub", [xs, mean])
        var = e.reduce_mean(e.op("Mul", [d, d]), axes, opset)
        std = e.op("Sqrt", [e.op("Add", [var, e.const(epsilon, stash)])])
        if outputs[2]:
            e.op("Div", [e.const(1.0, stash), std], out=outputs[2])
        normalized = e.op("Div", [d, std])
        if stash != elem:
            normalized = e.op("Cast", [normalized], to=elem)
        has_bias = len(node.input) > 2 and bool(node.input[2])
        scaled = e.op("Mul", [normalized, node.input[1]], out=None if has_bias else outputs[0])
        if has_bias:
            e.op("Add", [scaled, node.input[2]], out=outputs[0])
        model.replace(match.index, e.nodes, self.id)

