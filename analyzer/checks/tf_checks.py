"""TFC6xx: what tf2onnx will do with a TensorFlow / TFLite graph, before converting it.

Each op type that reaches the outputs is looked up in the tf2onnx handler table
(opsets/data/tf2onnx_handlers.json) at the target opset. Ops that tf2onnx removes before its
handlers run are not judged: calls of tf.functions (inlined), variable reads in a model it
freezes itself (SavedModel, checkpoint, Keras), and the ops its rewriters consume.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from analyzer.finding_ids import (
    TFC601,
    TFC602,
    TFC603,
    TFC604,
    TFC605,
    TFC606,
    TFC607,
    TFC608,
    TFC609,
    TFC613,
)
from analyzer.findings import Finding, Fix
from analyzer.sources.tf_graph import VARIABLE_OPS
from analyzer.sources.tf_io import TfGraph, TfNode
from opsets.tf2onnx_handlers import HandlerSupport, Tf2OnnxTable

#: At most this many node names in one finding (the report's op table has them all).
MAX_NODES = 20
#: Handled before the handlers run: freezing, function inlining, graph optimization
#: (tf2onnx's tf_optimize / grappler), or consumed by a rewriter (tfonnx.process_parsed_graph).
REMOVED_BEFORE_HANDLERS = frozenset({
    "NoOp", "_Arg", "_Retval", "_DeviceArg", "_DeviceRetval",
    # (tf.function calls are inlined by tf2onnx's grappler pass; the graph reader records a
    # call node only when freezing keeps it (`_noinline` / XLA-compiled functions), and then
    # tf2onnx really has no handler for it: TFC601, answered by rule tf:inline-noinline)
    # rewrite_random_uniform / rewrite_dropout / rewrite_eye fold these patterns
})
#: Training-only ops: gradients, optimizer updates, checkpoint I/O.
_TRAINING_PREFIXES = ("Apply", "ResourceApply", "SparseApply", "ResourceSparseApply")
_TRAINING_OPS = frozenset({
    "SaveV2", "RestoreV2", "MergeV2Checkpoints", "ShardedFilename", "Save", "Restore",
    "Conv2DBackpropFilter", "Conv3DBackpropFilterV2", "DepthwiseConv2dNativeBackpropFilter",
    "BroadcastGradientArgs", "AssignVariableOp", "AssignAddVariableOp", "AssignSubVariableOp",
    "Assign", "AssignAdd", "AssignSub",
})
_EXTRA_OPSET_HINT = {
    "ai.onnx.contrib": "tf2onnx's extra_opset=[OperatorSetIdProto ai.onnx.contrib v1] "
                       "(CLI: --extra_opset ai.onnx.contrib:1); run with onnxruntime-extensions",
    "com.microsoft": "tf2onnx's extra_opset=[com.microsoft v1] (CLI: --extra_opset "
                     "com.microsoft:1); onnxruntime runs com.microsoft ops",
}


def is_training_op(op: str) -> bool:
    """Gradient, optimizer and checkpoint ops: never part of an inference graph."""
    return (op in _TRAINING_OPS or op.startswith(_TRAINING_PREFIXES)
            or (op.endswith(("Grad", "GradV2", "GradGrad")) and op[0].isupper()))


@dataclass(frozen=True)
class Refusal:
    """A node the handler in force refuses (a make_sure on its type / attributes fails), and
    the lowest opset whose handler takes it (None: none does)."""

    node: str
    message: str
    works_from: int | None


@dataclass(frozen=True)
class OpJudgement:
    """One op type's answer, and the nodes it covers."""

    op: str
    support: HandlerSupport | None  # None: removed before the handlers run
    nodes: tuple[str, ...]
    refusals: tuple[Refusal, ...] = ()
    #: refusals at the op's handler versions below the target (for the lowest opset of the
    #: whole model, which must count a refusal the target opset is already past)
    floor_refusals: tuple[Refusal, ...] = ()


class _Unknown(Exception):
    """The condition reads something the graph does not say before conversion."""


def _eval(node: ast.expr, tf_node: TfNode) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and (
            node.value.id == "node") and node.attr == "type":
        return tf_node.op
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Subscript):
        sub = node.value
        if isinstance(sub.value, ast.Attribute) and sub.value.attr == "attr" and isinstance(
                sub.slice, ast.Constant) and sub.slice.value in tf_node.attrs:
            value = tf_node.attrs[sub.slice.value]
            if node.attr in ("i", "b"):
                return int(value) if isinstance(value, bool | int) else value
            if node.attr == "s":
                return str(value).encode()
            if node.attr == "f":
                return float(value)
        raise _Unknown
    if isinstance(node, ast.Attribute) and node.attr == "attr" and isinstance(
            node.value, ast.Name) and node.value.id == "node":
        return tf_node.attrs
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return not _eval(node.operand, tf_node)
    if isinstance(node, ast.BoolOp):
        values = [_eval(v, tf_node) for v in node.values]
        return all(values) if isinstance(node.op, ast.And) else any(values)
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        left, right = _eval(node.left, tf_node), _eval(node.comparators[0], tf_node)
        op = node.ops[0]
        if isinstance(op, ast.Eq):
            return left == right
        if isinstance(op, ast.NotEq):
            return left != right
        if isinstance(op, ast.In):
            return left in right
        if isinstance(op, ast.NotIn):
            return left not in right
    raise _Unknown


def evaluate_condition(condition: str, node: TfNode) -> bool | None:
    """A handler's make_sure condition on this node: True / False, or None when it reads
    anything but the node's type and attributes (or an attribute the node lacks)."""
    try:
        tree = ast.parse(condition, mode="eval")
        return bool(_eval(tree.body, node))
    except (_Unknown, SyntaxError, TypeError, ValueError):
        return None


def _refusal(table: Tf2OnnxTable, op: str, opset: int, node: TfNode) -> str | None:
    for check in table.checks(op, opset):
        if evaluate_condition(check["condition"], node) is False:
            return check["message"].replace(" for node %s", "").replace("%s", node.name)
    return None


def _refusals(table: Tf2OnnxTable, op: str, opset: int, nodes: list[TfNode]) -> tuple[
        Refusal, ...]:
    out = []
    later = [v for v in table.onnx_versions(op) if v > opset]
    for node in nodes:
        message = _refusal(table, op, opset, node)
        if message is None:
            continue
        works = next((v for v in sorted(later) if _refusal(table, op, v, node) is None), None)
        out.append(Refusal(node.name if not node.graph else f"{node.graph}/{node.name}",
                           message, works))
    return tuple(out)


def judge_ops(graph: TfGraph, table: Tf2OnnxTable, opset: int,
              extra_domains: tuple[str, ...] = ()) -> list[OpJudgement]:
    """Per op type (sorted): the table's answer at `opset`, or None when tf2onnx removes it."""
    by_op: dict[str, list[TfNode]] = defaultdict(list)
    for node in graph.nodes:
        by_op[node.op].append(node)
    out = []
    for op, nodes in sorted(by_op.items()):
        names = tuple(n.name if not n.graph else f"{n.graph}/{n.name}" for n in nodes)
        # variables: frozen by tf2onnx (SavedModel, checkpoint, Keras) or TFC606 (a GraphDef)
        if op in REMOVED_BEFORE_HANDLERS or op in VARIABLE_OPS:
            out.append(OpJudgement(op, None, names))
            continue
        support = table.support(op, opset)
        if support.status == "extra_opset" and set(support.extra_domains) & set(extra_domains):
            support = HandlerSupport(support.op, opset, "ok", support.min_opset,
                                     support.extra_domains, support.caveats, support.via)
        refused = _refusals(table, op, opset, nodes) if support.status == "ok" else ()
        floor_refused: tuple[Refusal, ...] = ()
        if support.status == "ok" and support.min_opset is not None:
            # every handler version below the target: a user choosing an opset between the
            # lowest and the target must not land on one whose handler refuses these nodes
            for version in table.onnx_versions(op):
                if support.min_opset <= version < opset:
                    floor_refused += _refusals(table, op, version, nodes)
        out.append(OpJudgement(op, support, names, refused, floor_refused))
    return out


def _nodes(names: tuple[str, ...]) -> list[str]:
    return list(names[:MAX_NODES])


def _count(names: tuple[str, ...]) -> str:
    return f"{len(names)} node(s)"


def op_findings(judged: list[OpJudgement], opset: int) -> list[Finding]:
    """TFC601-604: unsupported, needs a higher opset, needs an extra opset, known caveats."""
    findings: list[Finding] = []
    for j in judged:
        s = j.support
        if s is None or is_training_op(j.op):
            continue
        via = f" (converted through the TF op {s.via})" if s.via else ""
        if s.status == "unsupported":
            findings.append(Finding.of(
                TFC601,
                f"tf2onnx {'has no handler' if not s.via else 'cannot convert'} for the "
                f"{'TFLite' if j.op.startswith('TFL_') else 'TensorFlow'} op {j.op}{via} at any "
                f"opset ({_count(j.nodes)}): the conversion leaves it unconverted",
                op=j.op, nodes=_nodes(j.nodes),
                fixes=[Fix("source", hint=f"express {j.op} with supported ops in the model "
                           "(or, for a TFLite model, convert the TF model instead)"),
                       Fix("source", hint=f"tf2onnx custom_ops={{'{j.op}': 'my.domain'}} keeps "
                           "it as a custom-domain node; onnxruntime then needs a custom-op "
                           "kernel for it")]))
        elif s.status == "needs_opset":
            findings.append(Finding.of(
                TFC602,
                f"tf2onnx converts {j.op}{via} only from opset {s.min_opset}; the target is "
                f"opset {opset} ({_count(j.nodes)})",
                op=j.op, nodes=_nodes(j.nodes), fixes=[Fix("opset", min=s.min_opset)]))
        elif s.status == "extra_opset":
            domains = ", ".join(s.extra_domains)
            findings.append(Finding.of(
                TFC603,
                f"tf2onnx converts {j.op}{via} only into the custom domain {domains}, which is "
                f"used only when passed as an extra opset ({_count(j.nodes)})",
                op=j.op, domain=s.extra_domains[0], nodes=_nodes(j.nodes),
                fixes=[Fix("source", hint=_EXTRA_OPSET_HINT.get(
                    d, f"extra_opset {d}:1")) for d in s.extra_domains]))
        elif j.refusals:
            first = j.refusals[0]
            works = [r.works_from for r in j.refusals]
            fix = max((w for w in works if w is not None), default=None)
            findings.append(Finding.of(
                TFC613,
                f"tf2onnx's {j.op} handler{via} at opset {opset} refuses {len(j.refusals)} of "
                f"{len(j.nodes)} node(s): {first.message}"
                + (f"; it converts from opset {fix}" if fix and None not in works else ""),
                op=j.op, nodes=[r.node for r in j.refusals][:MAX_NODES],
                fixes=[Fix("opset", min=fix)] if fix and None not in works else [
                    Fix("source", hint="change the attribute the message names")]))
        elif s.caveats:
            shown = "; ".join(s.caveats[:2]) + (f"; +{len(s.caveats) - 2} more" if len(
                s.caveats) > 2 else "")
            findings.append(Finding.of(
                TFC604,
                f"tf2onnx's {j.op} handler{via} at opset {opset} refuses some attribute/type "
                f"combinations: {shown}", op=j.op, nodes=_nodes(j.nodes),
                fixes=[Fix("source", hint="check the listed conditions against these nodes")]))
    return findings


def training_findings(graph: TfGraph) -> list[Finding]:
    """TFC605: gradient / optimizer / checkpoint ops on the path to the outputs."""
    by_op: dict[str, list[str]] = defaultdict(list)
    for n in graph.nodes:
        if is_training_op(n.op):
            by_op[n.op].append(n.name)
    findings = []
    for op, names in sorted(by_op.items()):
        findings.append(Finding.of(
            TFC605,
            f"training-only op {op} reaches the outputs ({len(names)} node(s)); tf2onnx has no "
            "handler for it and an inference graph should not hold it",
            op=op, nodes=names[:MAX_NODES],
            fixes=[Fix("source", hint="export the inference graph: a SavedModel signature or "
                       "tf.function of the forward pass, not the training step; choose "
                       "--outputs at the model's predictions")]))
    return findings


def variable_findings(graph: TfGraph) -> list[Finding]:
    """TFC606: a GraphDef that should be frozen still reads variables."""
    if graph.kind != "graphdef":
        return []
    names = [n.name for n in graph.nodes if n.op in VARIABLE_OPS]
    if not names:
        return []
    ops = sorted({n.op for n in graph.nodes if n.op in VARIABLE_OPS})
    return [Finding.of(
        TFC606,
        f"the GraphDef is not frozen: {len(names)} variable node(s) ({', '.join(ops)}) reach "
        "the outputs; tf2onnx converts a GraphDef as it is and has no handler for them",
        op=ops[0], nodes=names[:MAX_NODES],
        fixes=[Fix("source", hint="freeze it (tf.compat.v1.graph_util."
                   "convert_variables_to_constants, or convert_variables_to_constants_v2 for a "
                   "concrete function), or convert the SavedModel / checkpoint instead")])]


def io_findings(graph: TfGraph, inputs_given: bool, outputs_given: bool) -> list[Finding]:
    """TFC607/608: names given by the user that the graph lacks; TFC609: a GraphDef or a
    checkpoint converted without names (tf2onnx needs them): the names found, to copy."""
    findings = []
    for kind, what, missing, found in (
            (TFC607, "input", graph.missing_inputs, graph.inputs),
            (TFC608, "output", graph.missing_outputs, graph.outputs)):
        if missing:
            known = ", ".join(t.name for t in found[:8]) or "none found"
            findings.append(Finding.of(
                kind,
                f"{what} name(s) {', '.join(missing)} not in the graph (tf2onnx would fail); "
                f"{what}s it has: {known}", nodes=list(missing),
                fixes=[Fix("source", hint=f"use the tensor names listed in the report's model "
                           f"{what}s (node:index)")]))
    if graph.kind in ("graphdef", "checkpoint") and not (inputs_given and outputs_given):
        ins = ",".join(t.name for t in graph.inputs) or "?"
        outs = ",".join(t.name for t in graph.outputs) or "?"
        findings.append(Finding.of(
            TFC609,
            f"tf2onnx needs the input and output tensor names of a {graph.kind}; found "
            f"placeholders --inputs {ins} and sinks --outputs {outs} (check them)",
            fixes=[Fix("source", hint=f"--inputs {ins} --outputs {outs}")]))
    return findings


def min_opset(judged: list[OpJudgement], table_max: int) -> int | None:
    """Lowest opset L such that every judged op has an ai.onnx handler that accepts its nodes
    at every opset from L up to the target (None: some never has). Handler acceptance is not
    monotonic (ResizeBilinear with half_pixel_centers: version 7 takes it, 9 and 10 refuse,
    11 takes it), so an opset below a refusal is not offered."""
    lowest = 1
    for j in judged:
        s = j.support
        if s is None or is_training_op(j.op):
            continue
        if s.status == "unsupported" or (s.status == "extra_opset" and s.min_opset is None):
            return None
        if s.min_opset is not None:
            lowest = max(lowest, s.min_opset)
        for r in (*j.refusals, *j.floor_refusals):
            if r.works_from is None:
                if r in j.refusals:
                    return None
                continue  # refused low down and at no later version: the target accepts it
            lowest = max(lowest, r.works_from)
    return min(max(lowest, 1), table_max)
