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

- It refuses two things onnx.checker accepts: a value declared with element type 0 (a
  value_info entry too: "Invalid tensor data type 0"), and an opset import newer than the newest
  opset it knows for a domain it defines (ValidateOpsetForDomain; its domains' newest opsets are
  the newest since_versions in the schema table, which comes from its registries).
- Some kernel constructors want an attribute the schema calls optional; the session fails in
  the constructor ("Exception during initialization"). KERNEL_ATTRIBUTE_RULES lists the ones
  measured; the placement prediction gives such a node no kernel.
- At a model opset below 6 its float16 Cast insertion fails: the Casts it inserts around a
  node without a float16 kernel set Cast's `to` as an int, and Cast-1's `to` is a string
  ("Mismatched attribute type in 'InsertedPrecisionFreeCast_...'"). `CAST_INSERTION_MIN_OPSET`;
  the placement prediction uses it.

`load_blockers` lists what ORT refuses of a model that onnx.checker rejects, `load_refusals` what
it refuses of one that onnx.checker accepts; `inference_verdict` classifies one inference error;
`kernel_attribute_problem` says why a kernel constructor refuses a node.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass

import onnx
import onnx.checker

from analyzer.sources.onnx_walk import walk_graphs
from opsets.tables import load_schemas, normalize_domain

__all__ = ["CAST_INSERTION_MIN_OPSET", "KERNEL_ATTRIBUTE_OPS", "KERNEL_ATTRIBUTE_RULES",
           "InferenceVerdict", "KernelAttributeRule", "inference_verdict",
           "kernel_attribute_problem", "load_blockers", "load_refusals", "split_inference_error"]

#: The lowest ai.onnx opset at which onnxruntime's float16 Cast insertion works: Cast-6 made
#: `to` an int; below it the inserted Cast fails the node check (measured, onnxruntime 1.32).
CAST_INSERTION_MIN_OPSET = 6


@dataclass(frozen=True)
class KernelAttributeRule:
    """A kernel constructor that refuses a node lacking attributes the schema calls optional:
    each group of `required` needs one of its names present; `since_versions` None: every
    version of the op."""

    domain: str
    op: str
    required: tuple[tuple[str, ...], ...]
    where: str
    since_versions: tuple[int, ...] | None = None


_HIDDEN = (("hidden_size",),)
#: Measured on onnxruntime 1.32 (tests/fixtures/ort_agreement.py, the "bare" cases: the session
#: fails with "Exception during initialization" at the named source file).
KERNEL_ATTRIBUTE_RULES: tuple[KernelAttributeRule, ...] = (
    KernelAttributeRule("", "Reshape", (("shape",),), "cpu/tensor/reshape.h", (1,)),
    KernelAttributeRule("", "RNN", _HIDDEN, "cpu/rnn/rnn.h"),
    KernelAttributeRule("", "GRU", _HIDDEN, "cpu/rnn/deep_cpu_gru.h"),
    KernelAttributeRule("", "LSTM", _HIDDEN, "cpu/rnn/lstm_base.h"),
    KernelAttributeRule("", "RegexFullMatch", (("pattern",),), "cpu/text/regex_full_match.cc"),
    KernelAttributeRule("com.microsoft", "AttnLSTM", _HIDDEN,
                        "contrib_ops/cpu/attnlstm/deep_cpu_attn_lstm.h"),
    KernelAttributeRule("com.microsoft", "DynamicQuantizeLSTM", _HIDDEN, "cpu/rnn/lstm_base.h"),
    KernelAttributeRule("com.microsoft", "MaxpoolWithMask", (("kernel_shape",),),
                        "contrib_ops/cpu/maxpool_with_mask.h"),
    KernelAttributeRule("ai.onnx.ml", "FeatureVectorizer", (("inputdimensions",),),
                        "cpu/ml/feature_vectorizer.h"),
    KernelAttributeRule("ai.onnx.ml", "Imputer",
                        (("imputed_value_floats", "imputed_value_int64s"),), "cpu/ml/imputer.cc"),
    KernelAttributeRule("ai.onnx.ml", "Scaler", (("scale",), ("offset",)), "cpu/ml/scaler.cc"),
    KernelAttributeRule("ai.onnx.ml", "LinearRegressor", (("coefficients",),),
                        "cpu/ml/linearregressor.cc"),
    KernelAttributeRule("ai.onnx.ml", "LinearClassifier",
                        (("classlabels_strings", "classlabels_ints"),),
                        "cpu/ml/linearclassifier.cc"),
)
_RULES_BY_OP = {(r.domain, r.op): r for r in KERNEL_ATTRIBUTE_RULES}
#: The op types with a rule: a cheap test before the node's attributes are read.
KERNEL_ATTRIBUTE_OPS = frozenset(r.op for r in KERNEL_ATTRIBUTE_RULES)


def kernel_attribute_problem(domain: str, op: str, since_version: int | None,
                             attributes: Collection[str]) -> str | None:
    """Why onnxruntime's kernel constructor refuses this node, or None."""
    rule = _RULES_BY_OP.get((normalize_domain(domain), op))
    if rule is None or (rule.since_versions is not None
                        and since_version not in rule.since_versions):
        return None
    missing = [group for group in rule.required if not any(a in attributes for a in group)]
    if not missing:
        return None
    wanted = ", ".join(" or ".join(f"`{a}`" for a in group) for group in missing)
    return (f"onnxruntime's {op}-{since_version} kernel constructor requires the attribute "
            f"{wanted} ({rule.where}), which the node lacks (the schema calls it optional): "
            "session creation fails")


@functools.lru_cache(maxsize=1)
def newest_opsets() -> dict[str, int]:
    """The newest opset onnxruntime knows per domain it defines: the newest since_version in
    the schema table (onnx's and onnxruntime's registries, which every opset release changes)."""
    table = load_schemas()
    return {d: max(v.since_version for op in table.ops(d) for v in table.versions(d, op))
            for d in table.domains()}

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


def load_refusals(model: onnx.ModelProto, limit: int = 5) -> list[str]:
    """What onnxruntime refuses at load in a model that onnx.checker accepts: an opset import
    newer than it knows, a value declared with element type 0 (value_info included)."""
    found = list(_opset_refusals(model))
    for g in walk_graphs(model.graph):
        found += _undefined_declarations(g)
    return found[:limit]


def _undefined_declarations(g: onnx.GraphProto) -> list[str]:
    """Values declared with element type 0. A value_info entry for an initializer or a
    Constant's output is not read (onnxruntime folds Constants into initializers first)."""
    constants = {t.name for t in g.initializer} | {
        out for n in g.node if n.op_type == "Constant" and n.domain in ("", "ai.onnx")
        for out in n.output}
    declared = [*g.input, *g.output, *(vi for vi in g.value_info if vi.name not in constants)]
    return [f"'{vi.name}' is declared with an undefined element type (0)"
            for vi in declared if _undefined_elem_type(vi.type)]


def _opset_refusals(model: onnx.ModelProto) -> Iterator[str]:
    newest = newest_opsets()
    for imp in model.opset_import:
        domain = normalize_domain(imp.domain)
        if domain in newest and imp.version > newest[domain]:
            yield (f"it imports opset {imp.version} of {imp.domain or 'ai.onnx'}; onnxruntime "
                   f"knows up to {newest[domain]}")


def _blockers(model: onnx.ModelProto) -> Iterator[str]:
    if model.ir_version <= 0:
        yield "the model has no ir_version"
    if not model.opset_import:
        yield "the model imports no opset"
    yield from _opset_refusals(model)
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
        yield from _undefined_declarations(g)
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
