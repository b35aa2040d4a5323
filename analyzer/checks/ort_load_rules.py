"""Which of onnx's complaints onnxruntime also refuses when it loads a model.

The verdict says what onnxruntime will do, so the severity of a checker or inference complaint
(SCH204, SCH206) depends on whether ORT runs that check itself. What ORT does at load (measured
against onnxruntime 1.32, tests/analyzer/test_verdict_contract.py):

- It never calls `onnx.checker.check_model`. It does run `onnx.checker.check_node` on every
  node (Graph::VerifyNodeAndOpMatch), reads every initializer, requires the model's ir_version
  and opset imports, a type on every graph input, a defined element type on every declared
  tensor type, and a name on every graph output.
- It does not check the rest of what onnx.checker demands of declarations: a `shape` field on a
  value's type, a type on a graph output (it infers it), names of graphs, functions and
  initializers, nodes in topological order (it sorts them).
- It runs the same op inference functions as onnx's strict shape inference, and an error there
  is fatal: incompatible dimensions, a type outside the op's constraints, an invalid attribute.
  Two kinds of inference complaint are not: a declared shape that differs from the inferred one
  (ORT merges leniently and keeps the inferred shape; only a declared element type that differs
  is fatal), and an input of unknown type (a consequence of another failure, an op without a
  schema, or nodes out of order, which ORT sorts first). Nor is an error inside a function op's
  body (onnx infers MeanVarianceNormalization through its body, ORT does not at load: it runs
  the op's kernel, or inlines the body, which the placement prediction checks). An error
  inside an If / Loop / Scan body is fatal: ORT infers subgraphs.

`load_blockers` lists what ORT refuses of a model that onnx.checker rejects; `inference_verdict`
classifies one inference error.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import onnx
import onnx.checker

__all__ = ["InferenceVerdict", "inference_verdict", "load_blockers", "split_inference_error"]

#: onnx's messages for an op it has no schema for: unknown and custom ops are SCH201 / SCH205 /
#: EP301; onnxruntime knows its contrib schemas, which onnx's check_node does not.
_NO_SCHEMA = ("No Op registered", "No opset import")

#: Inference complaints that onnxruntime tolerates, each with why.
_TOLERATED: tuple[tuple[str, str], ...] = (
    ("Inferred shape and existing shape differ",
     "a declared shape differs from the inferred one; onnxruntime keeps the inferred shape"),
    ("expected to have type but instead is null",
     "an input's type is unknown to onnx's inference (a consequence of another finding, an op "
     "without a schema or nodes out of order); onnxruntime infers it in its own order"),
    ("Element type of input", "an input's element type is unknown to onnx's inference"),
)
#: An error reported inside another node's inference: "(op_type:OUTER, ...): [..] (op_type:".
_NESTED = re.compile(r"^\(op_type:(\w+)[^)]*\): \[\w+\] (?:Inference error\(s\): )?\(op_type:")
#: Ops whose nested errors come from subgraph attributes, which onnxruntime infers.
_CONTROL_FLOW = frozenset({"If", "Loop", "Scan", "SequenceMap"})
#: Inference that did not run to a verdict: an isolated crash, a failed inliner.
_UNDECIDED = ("in an isolated child process", "inlining local functions failed")


@dataclass(frozen=True)
class InferenceVerdict:
    """Whether onnxruntime refuses the model for this inference error, and why (or why not)."""

    fatal: bool
    why: str


def inference_verdict(error: str) -> InferenceVerdict:
    """Fatal unless the error is one that onnxruntime's own inference tolerates (see above)."""
    if any(marker in error for marker in _UNDECIDED):
        return InferenceVerdict(False, "onnx's inference could not run; onnxruntime runs its own")
    for marker, why in _TOLERATED:
        if marker in error:
            return InferenceVerdict(False, why)
    nested = _NESTED.match(error)
    if nested and nested.group(1) not in _CONTROL_FLOW:
        return InferenceVerdict(False, f"the error is inside {nested.group(1)}'s function body, "
                                "which onnxruntime does not infer at load (it runs the op's "
                                "kernel or inlines the body; the placement checks that)")
    return InferenceVerdict(True, "onnxruntime runs the op's inference at load and refuses the "
                            "model for this error")


_PREFIX = "[ShapeInferenceError] Inference error(s): "


def split_inference_error(text: str, limit: int = 20) -> list[str]:
    """onnx's strict-inference exception, one entry per node error (each line of its message);
    past `limit` lines, one entry says how many more there are."""
    body = text.strip()
    if body.startswith(_PREFIX):
        body = body[len(_PREFIX):]
    lines = [" ".join(ln.split()) for ln in body.splitlines() if ln.strip()]
    lines = [ln if len(ln) <= 400 else ln[:397] + "..." for ln in lines] or [type(text).__name__]
    if len(lines) > limit:
        lines = lines[:limit] + [f"... and {len(lines) - limit} more inference errors"]
    return lines


def load_blockers(model: onnx.ModelProto, limit: int = 5) -> list[str]:
    """What onnxruntime refuses in `model` at load, of the checks it shares with onnx.checker
    (at most `limit`, in graph order). Empty: ORT does not object to whatever onnx.checker
    rejects."""
    found: list[str] = []
    for problem in _blockers(model):
        found.append(problem)
        if len(found) >= limit:
            break
    return found


def _blockers(model: onnx.ModelProto) -> Iterator[str]:
    if model.ir_version <= 0:
        yield "the model has no ir_version"
    if not model.opset_import:
        yield "the model imports no opset"
    graph = model.graph
    initializers = {t.name for t in graph.initializer}
    for vi in graph.input:
        if vi.name not in initializers and vi.type.WhichOneof("value") is None:
            yield f"graph input '{vi.name}' has no type"
    for vi in graph.output:
        if not vi.name:
            yield "a graph output has no name"
    ctx = onnx.checker.C.CheckerContext()
    ctx.ir_version = model.ir_version
    ctx.opset_imports = {imp.domain: imp.version for imp in model.opset_import}
    stack = [graph]
    while stack:
        g = stack.pop()
        for vi in (*g.input, *g.output, *g.value_info):
            if _undefined_elem_type(vi.type):
                yield f"'{vi.name}' is declared with an undefined element type (0)"
        for tensor in g.initializer:
            if tensor.data_location != onnx.TensorProto.EXTERNAL:
                problem = _check(onnx.checker.check_tensor, tensor, ctx)
                if problem:
                    yield f"initializer '{tensor.name}': {problem}"
        for node in g.node:
            subgraphs = [a.g for a in node.attribute if a.type == onnx.AttributeProto.GRAPH]
            subgraphs += [s for a in node.attribute if a.type == onnx.AttributeProto.GRAPHS
                          for s in a.graphs]
            if subgraphs:
                # check_node has no outer scope for a body's names: the bodies' nodes are
                # checked one by one instead
                stack.extend(subgraphs)
                continue
            problem = _check(onnx.checker.check_node, node, ctx)
            if problem and not any(m in problem for m in _NO_SCHEMA):
                yield f"node {node.name or node.op_type} ({node.op_type}): {problem}"


def _undefined_elem_type(t: onnx.TypeProto) -> bool:
    kind = t.WhichOneof("value")
    if kind == "tensor_type":
        return t.tensor_type.elem_type == 0
    if kind == "sparse_tensor_type":
        return t.sparse_tensor_type.elem_type == 0
    return False


def _check(check: object, proto: object, ctx: object) -> str | None:
    try:
        check(proto, ctx)  # type: ignore[operator]
    except (onnx.checker.ValidationError, ValueError) as exc:
        return " ".join(str(exc).strip().splitlines()[:1])[:300]
    return None
