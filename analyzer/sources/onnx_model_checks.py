"""Vet a parsed ONNX model before any analysis trusts it: versions, opset imports, limits.

`vet_model` checks the IR version and every opset import against the installed onnx, walks
every graph (subgraphs, training graphs and local functions, iteratively) to enforce the node
and nesting limits, guards attributes that crash onnx's C++ code, checks the graph structure,
and returns what the walk found: the tensors held in external data (checked, never read, by
onnx_external_data) and the first node that makes shape inference risky.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import onnx
import onnx.defs

from analyzer.error_codes import (
    CORRUPT_PROTOBUF,
    IR_VERSION_INVALID,
    IR_VERSION_TOO_NEW,
    NESTING_TOO_DEEP,
    NOT_A_MODEL,
    OPSET_DUPLICATE,
    OPSET_INVALID,
    OPSET_MISSING,
    OPSET_TOO_NEW,
    TOO_MANY_NODES,
)
from analyzer.errors import InputError
from analyzer.limits import raise_hint
from analyzer.sources.inference_guard import is_risky
from analyzer.sources.onnx_attr_guard import GUARDED_OPS, check_attributes
from analyzer.sources.onnx_graph_check import check_graph_structure

__all__ = ["ModelLimits", "ModelSurvey", "vet_model"]


@dataclass(frozen=True)
class ModelLimits:
    """Nodes in all graphs (None: no limit) and subgraph nesting depth (analyzer.limits)."""

    nodes: int | None
    depth: int


@dataclass
class ModelSurvey:
    """What one pass over every graph found: default-domain node uses and external tensors.

    `default_uses` maps a scope (None for the model, else the index of a local function) to the
    count of default-domain nodes there and one example. `external` pairs each tensor held in
    external data with where it sits, for messages. `inference_risk` is a node whose op is
    known to crash onnx's shape inference on untyped inputs (the first one found), or None.
    """

    default_uses: dict[int | None, tuple[int, str]] = field(default_factory=dict)
    external: list[tuple[onnx.TensorProto, str]] = field(default_factory=list)
    nodes: int = 0
    inference_risk: str | None = None


def vet_model(path: Path | None, model: onnx.ModelProto, limits: ModelLimits) -> ModelSurvey:
    """Check versions, opset imports, limits and graph structure; return the survey."""
    if not model.HasField("graph"):
        raise InputError(path, NOT_A_MODEL, "model has no graph; nothing to analyze")
    _check_ir_version(path, model)
    model_imports = _check_opset_imports(path, model.opset_import, "the model")
    function_imports = [
        _check_opset_imports(path, fn.opset_import, f"local function '{_function_id(fn)}'")
        for fn in model.functions
    ]
    survey = _survey(path, model, limits)
    _check_default_domain(path, model, model_imports, survey.default_uses.get(None))
    for index, fn in enumerate(model.functions):
        uses = survey.default_uses.get(index)
        if uses is not None and "" not in function_imports[index]:
            raise InputError(
                path,
                OPSET_MISSING,
                f"local function '{_function_id(fn)}' has no opset import for the default "
                f"domain '' (ai.onnx) but {uses[0]} of its nodes use it (e.g. {uses[1]})",
            )
    check_graph_structure(path, model)
    return survey


def _check_ir_version(path: Path | None, model: onnx.ModelProto) -> None:
    if model.ir_version <= 0:
        shown = "missing (0)" if model.ir_version == 0 else str(model.ir_version)
        raise InputError(
            path,
            IR_VERSION_INVALID,
            f"ir_version is {shown}; every ONNX model must record an IR version of 1 or more",
        )
    if model.ir_version > onnx.IR_VERSION:
        raise InputError(
            path,
            IR_VERSION_TOO_NEW,
            f"ir_version {model.ir_version} is newer than the installed onnx {onnx.__version__} "
            f"supports (up to {onnx.IR_VERSION}); upgrade onnx or re-export with an older IR",
        )


@functools.cache
def _known_opset_max() -> dict[str, int]:
    """Highest opset version the installed onnx knows for each of its own domains."""
    known: dict[str, int] = {}
    for schema in onnx.defs.get_all_schemas_with_history():
        known[schema.domain] = max(known.get(schema.domain, 0), schema.since_version)
    known[""] = max(known.get("", 0), onnx.defs.onnx_opset_version())
    known["ai.onnx.ml"] = max(known.get("ai.onnx.ml", 0), onnx.defs.onnx_ml_opset_version())
    return known


def _check_opset_imports(
    path: Path | None, imports: Iterable[onnx.OperatorSetIdProto], owner: str
) -> dict[str, int]:
    """Validate one opset_import list; custom domains pass (later checks judge them)."""
    versions: dict[str, int] = {}
    for entry in imports:
        if entry.domain.__class__ is not str:
            raise _not_utf8(path, f"a domain that {owner} imports")
        domain = _normalise_domain(entry.domain)
        label = _domain_label(domain)
        if entry.version <= 0:
            raise InputError(
                path,
                OPSET_INVALID,
                f"{owner} imports opset {entry.version} for domain {label}; opset versions "
                "start at 1",
            )
        if domain in versions and versions[domain] != entry.version:
            raise InputError(
                path,
                OPSET_DUPLICATE,
                f"{owner} imports domain {label} twice, at versions {versions[domain]} and "
                f"{entry.version}",
            )
        newest = _known_opset_max().get(domain)
        if newest is not None and entry.version > newest:
            raise InputError(
                path,
                OPSET_TOO_NEW,
                f"{owner} imports opset {entry.version} for domain {label}, newer than the "
                f"installed onnx {onnx.__version__} knows (up to {newest})",
            )
        versions[domain] = entry.version
    return versions


def _check_default_domain(
    path: Path | None,
    model: onnx.ModelProto,
    imports: dict[str, int],
    uses: tuple[int, str] | None,
) -> None:
    """Default-domain nodes need an import for it; an import list cannot be empty (IR >= 3)."""
    if uses is not None and "" not in imports:
        raise InputError(
            path,
            OPSET_MISSING,
            f"no opset import for the default domain '' (ai.onnx) but {uses[0]} node(s) use it "
            f"(e.g. {uses[1]})",
        )
    if not imports and model.ir_version >= 3:
        raise InputError(
            path,
            OPSET_MISSING,
            "model imports no opset at all; ONNX (IR version 3 and later) requires at least one",
        )


def _not_utf8(path: Path | None, what: str) -> InputError:
    """Protobuf hands back bytes for a string field that is not UTF-8: the file is damaged."""
    return InputError(path, CORRUPT_PROTOBUF,
                      f"corrupt ONNX protobuf: {what} is not valid UTF-8 text")


def _node_label(node: onnx.NodeProto) -> str:
    return f"{node.op_type} '{node.name}'" if node.name else node.op_type


def _normalise_domain(domain: str) -> str:
    return "" if domain == "ai.onnx" else domain


def _domain_label(domain: str) -> str:
    return "'' (ai.onnx)" if domain == "" else f"'{domain}'"


def _function_id(fn: onnx.FunctionProto) -> str:
    return f"{fn.domain}:{fn.name}" if fn.domain else fn.name


_Body = onnx.GraphProto | onnx.FunctionProto


def _survey(path: Path | None, model: onnx.ModelProto, limits: ModelLimits) -> ModelSurvey:
    """Visit every graph and function body iteratively, enforcing the nesting and node limits."""
    survey = ModelSurvey()
    deepest, deepest_at = 0, ""
    # Items: (body, subgraph depth, scope, where the body sits, for messages). The walk goes on
    # past the limit (being iterative, depth costs it no stack) so the error names the true depth.
    stack: list[tuple[_Body, int, int | None, str]] = [(model.graph, 0, None, "main graph")]
    for info in model.training_info:
        for graph in (info.initialization, info.algorithm):
            stack.append((graph, 0, None, f"training graph '{graph.name}'"))
    for index, fn in enumerate(model.functions):
        stack.append((fn, 0, index, f"local function '{_function_id(fn)}'"))
    while stack:
        body, depth, scope, where = stack.pop()
        survey.nodes += len(body.node)
        if limits.nodes is not None and survey.nodes > limits.nodes:
            raise InputError(
                path,
                TOO_MANY_NODES,
                f"model has more than {limits.nodes} nodes (counting subgraphs and local "
                f"functions), over the node count limit; {raise_hint('node count')}",
            )
        if isinstance(body, onnx.GraphProto):
            _collect_graph_tensors(body, where, survey)
        # Once per node of models with 100k+ nodes: labels for messages are built only for nodes
        # that have attributes worth a look, and default-domain uses are counted per body.
        default_count, default_example = 0, ""
        for node in body.node:
            domain, op_type = node.domain, node.op_type
            if domain.__class__ is not str or op_type.__class__ is not str or (
                    node.name.__class__ is not str):
                raise _not_utf8(path, f"a node's op_type, domain or name in the {where}")
            if survey.inference_risk is None and is_risky(domain, op_type):
                survey.inference_risk = _node_label(node)
            if domain in ("", "ai.onnx"):
                if not default_count:
                    default_example = _node_label(node)
                default_count += 1
            if not len(node.attribute):
                continue
            if node.op_type in GUARDED_OPS:
                check_attributes(path, node, where)
            for attr in node.attribute:
                has_tensors = (attr.HasField("t") or len(attr.tensors)
                               or attr.HasField("sparse_tensor") or len(attr.sparse_tensors))
                has_graphs = attr.HasField("g") or len(attr.graphs)
                if not (has_tensors or has_graphs):
                    continue
                node_label = _node_label(node)
                if has_tensors:
                    _collect_attribute_tensors(
                        attr, f"attribute '{attr.name}' of {node_label}", survey
                    )
                if not has_graphs:
                    continue
                subgraphs = list(attr.graphs)
                if attr.HasField("g"):
                    subgraphs.insert(0, attr.g)
                for sub in subgraphs:
                    if depth + 1 > deepest:
                        deepest, deepest_at = depth + 1, f"attribute '{attr.name}' of {node_label}"
                    sub_where = f"subgraph '{sub.name}' of {node_label}"
                    stack.append((sub, depth + 1, scope, sub_where))
        if default_count:
            count, example = survey.default_uses.get(scope, (0, default_example))
            survey.default_uses[scope] = (count + default_count, example)
    if deepest > limits.depth:
        raise InputError(
            path,
            NESTING_TOO_DEEP,
            f"subgraph nesting depth {deepest} exceeds the limit {limits.depth} "
            f"(deepest at {deepest_at}); {raise_hint('subgraph depth')}",
        )
    return survey


def _uses_external_data(tensor: onnx.TensorProto) -> bool:
    return tensor.HasField("data_location") and tensor.data_location == onnx.TensorProto.EXTERNAL


def _add_if_external(tensor: onnx.TensorProto, where: str, survey: ModelSurvey) -> None:
    if _uses_external_data(tensor):
        survey.external.append((tensor, where))


def _collect_graph_tensors(graph: onnx.GraphProto, where: str, survey: ModelSurvey) -> None:
    for tensor in graph.initializer:
        _add_if_external(tensor, f"initializer of the {where}", survey)
    for sparse in graph.sparse_initializer:
        _add_if_external(sparse.values, f"sparse initializer values of the {where}", survey)
        _add_if_external(sparse.indices, f"sparse initializer indices of the {where}", survey)


def _collect_attribute_tensors(attr: onnx.AttributeProto, where: str, survey: ModelSurvey) -> None:
    """Constant-like attributes hold tensors too, and onnx would load their external data."""
    if attr.HasField("t"):
        _add_if_external(attr.t, where, survey)
    for tensor in attr.tensors:
        _add_if_external(tensor, where, survey)
    sparse_list = list(attr.sparse_tensors)
    if attr.HasField("sparse_tensor"):
        sparse_list.append(attr.sparse_tensor)
    for sparse in sparse_list:
        _add_if_external(sparse.values, where, survey)
        _add_if_external(sparse.indices, where, survey)
