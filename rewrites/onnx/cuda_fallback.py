"""onnx:cuda-fallback: keep a node on CUDA when ORT's CUDA provider has a kernel for its op but not
for its element type (the tables, opsets/data/ort_kernels.json: Clip-13 has no int32 kernel,
Pad-18 none for int32/int64, ArgMax-13 and ArgMin-13 none for integers, GatherND-13 none for
int32, Relu-14 none for int8/int32, ...). Such a node falls back to CPU and splits the CUDA
graph into partitions with device copies between them.

The rule widens the node's inputs of the failing type to a type CUDA has a kernel for, and casts
its outputs of that type back. Exact only where both hold: the widening is lossless (int32 ->
int64 or double, int8/uint8/int16 -> float, float16 -> float, ...) and the op only selects,
moves or compares values (Clip, Pad, Gather*, ArgMax, Max, Relu, ...), so the widened op yields
the same values, which cast back exactly. Arithmetic ops (MatMul, Einsum, ReduceSum) could
overflow or round differently when widened; they are declined with a reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import onnx
import onnx.helper

from analyzer.finding_ids import EP301, EP302
from analyzer.inventory import NodeRecord
from opsets.query import match_kernel, short_type
from opsets.tables import SchemaVersion, load_kernels, load_schemas
from rewrites.onnx.rule import Match, OnnxRuleBase, Reason, RewriteModel, Target

CUDA = "CUDAExecutionProvider"

#: Ops whose outputs are input values (or the op's constants) selected, reordered or compared:
#: running them on a losslessly widened type and casting back gives the same values.
SELECTION_OPS: tuple[str, ...] = (
    "ArgMax", "ArgMin", "Clip", "Concat", "Expand", "Flatten", "Gather", "GatherElements",
    "GatherND", "Identity", "Max", "Min", "Pad", "ReduceMax", "ReduceMin", "Relu", "Reshape",
    "Slice", "Squeeze", "Tile", "TopK", "Transpose", "Unsqueeze", "Where",
)

#: Lossless conversions, preferred first (integers stay integers where a kernel allows).
WIDER: dict[str, tuple[str, ...]] = {
    "tensor(int8)": ("tensor(int16)", "tensor(int32)", "tensor(int64)", "tensor(float)",
                     "tensor(double)"),
    "tensor(uint8)": ("tensor(int16)", "tensor(int32)", "tensor(int64)", "tensor(float)",
                      "tensor(double)"),
    "tensor(int16)": ("tensor(int32)", "tensor(int64)", "tensor(float)", "tensor(double)"),
    "tensor(uint16)": ("tensor(int32)", "tensor(int64)", "tensor(float)", "tensor(double)"),
    "tensor(int32)": ("tensor(int64)", "tensor(double)"),
    "tensor(uint32)": ("tensor(int64)", "tensor(uint64)", "tensor(double)"),
    "tensor(float16)": ("tensor(float)", "tensor(double)"),
    "tensor(bfloat16)": ("tensor(float)", "tensor(double)"),
    "tensor(float)": ("tensor(double)",),
}


def _elem(type_str: str) -> int:
    return int(onnx.TensorProto.DataType.Value(type_str[len("tensor("):-1].upper()))


@dataclass(frozen=True)
class Widening:
    """Which inputs / outputs (positions) are cast, to which wider type, and back to which."""

    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    wide: str
    narrow: str | None


class CudaFallback(OnnxRuleBase):
    """Casts around a node so that CUDA's kernel for a wider type runs it (exact)."""

    id = "onnx:cuda-fallback"
    summary = ("widen a node's element type to one CUDA has a kernel for, casting back after "
               "(exact for selection ops)")
    exact = True
    answers: tuple[str, ...] = (EP301.id, EP302.id)
    targets = tuple(Target(op, "", None, (CUDA,)) for op in SELECTION_OPS)

    def fits(self, node: NodeRecord, opsets: dict[str, int],
             target_opset: int | None = None) -> bool:
        """Static test for findings' fixes: a lossless widening has a CUDA kernel."""
        schema = load_schemas().resolve(node.domain, node.op, node.opset) if node.opset else None
        return schema is not None and _widening(schema, node) is not None

    def check(self, model: RewriteModel, node: NodeRecord) -> Match[Widening] | Reason:
        if CUDA not in model.providers:
            return Reason(self.id, node.name, "CUDA is not among the target providers "
                          "(--providers cuda,cpu)", quiet=True)
        schema = load_schemas().resolve(node.domain, node.op, node.opset) if node.opset else None
        if schema is None:
            return Reason(self.id, node.name, f"{node.op} has no schema at this opset")
        found = match_kernel(CUDA, schema, node.domain, node.op, node.since_version,
                             node.input_types, node.output_types)
        if found.ok:
            return Reason(self.id, node.name, f"no fallback: {found.reason}", quiet=True)
        if not found.type_checked:
            return Reason(self.id, node.name, f"not a type gap: {found.reason}")
        plan = _widening(schema, node)
        if plan is None:
            return Reason(self.id, node.name, f"{found.reason}, and no lossless widening of "
                          "its types has a CUDA kernel")
        constraint, wide = plan
        inputs = [i for i, p in enumerate(_params(schema.inputs, len(node.inputs)))
                  if p == constraint and node.inputs[i]]
        outputs = [i for i, p in enumerate(_params(schema.outputs, len(node.outputs)))
                   if p == constraint and node.outputs[i]]
        added = ("Cast",) * len(inputs) + (node.op,) + ("Cast",) * len(outputs)
        return Match(self.id, Widening(tuple(inputs), tuple(outputs), wide,
                                       node.input_types[inputs[0]]),
                     node.name, model.index_of(node), (node.op,), added)

    def apply(self, model: RewriteModel, match: Match[Widening]) -> None:
        widening = match.payload
        inputs, outputs, wide, narrow = (widening.inputs, widening.outputs, widening.wide,
                                         widening.narrow)
        node = model.node(match.index)
        prefix = node.name or match.node
        nodes: list[onnx.NodeProto] = []
        widened = onnx.NodeProto()
        widened.CopyFrom(node)
        widened.name = prefix
        for i in inputs:
            cast = model.fresh_name(f"{node.input[i]}/{short_type(wide)}")
            nodes.append(onnx.helper.make_node("Cast", [node.input[i]], [cast], to=_elem(wide),
                                               name=model.fresh_name(f"{prefix}/Cast")))
            widened.input[i] = cast
        nodes.append(widened)
        for i in outputs:
            wide_out = model.fresh_name(f"{node.output[i]}/{short_type(wide)}")
            widened.output[i] = wide_out
            nodes.append(onnx.helper.make_node("Cast", [wide_out], [node.output[i]],
                                               to=_elem(narrow),
                                               name=model.fresh_name(f"{prefix}/Cast")))
        model.replace(match.index, nodes, self.id)


def _params(params: tuple[object, ...], count: int) -> list[str]:
    """The type constraint of each actual argument (variadic params repeat their last)."""
    names = [getattr(p, "type_str", "") for p in params]
    if not names:
        return [""] * count
    return [names[min(i, len(names) - 1)] for i in range(count)]


def _widening(schema: SchemaVersion, node: NodeRecord) -> tuple[str, str] | None:
    """(type constraint, wider type) whose substitution gives a CUDA kernel match."""
    in_params = _params(schema.inputs, len(node.input_types))
    out_params = _params(schema.outputs, len(node.output_types))
    for constraint in schema.type_constraints:
        actual = next((t for p, t in zip(in_params, node.input_types, strict=True)
                       if p == constraint and t), None)
        if actual is None:
            continue
        for wide in WIDER.get(actual, ()):
            ins = tuple(wide if p == constraint and t else t
                        for p, t in zip(in_params, node.input_types, strict=True))
            outs = tuple(wide if p == constraint and t else t
                         for p, t in zip(out_params, node.output_types, strict=True))
            if match_kernel(CUDA, schema, node.domain, node.op, node.since_version, ins,
                            outs).ok:
                return constraint, wide
    return None


def _cuda_ops() -> tuple[str, ...]:
    return tuple(sorted(load_kernels().ops(CUDA, "")))


class CudaFallbackApprox(CudaFallback):
    """The same Casts for any op with a CUDA kernel for a wider type, arithmetic ops included
    (GridSample-22 and RoiAlign-10 on float16 computed in float32, MatMul-13 or Einsum-12 on
    int32 in double): the values can differ (rounding of the narrower type, integer overflow),
    so it is approximate, runs only when named, and is reported with its measured error."""

    id = "onnx:cuda-fallback-approx"
    summary = ("widen any CUDA-fallback node's types to ones CUDA has kernels for, casting "
               "back after (approximate)")
    exact = False
    answers = (EP302.id,)

    @property
    def targets(self) -> tuple[Target, ...]:  # type: ignore[override]
        return tuple(Target(op, "", None, (CUDA,)) for op in _cuda_ops())
