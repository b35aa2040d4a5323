"""Build the Inventory of an ONNX model: every node with its resolved version and element types.

Types come from ONNX shape inference. Model-local functions are inlined first (with
`onnx.inliner`), because ONNX Runtime inlines them too before it assigns kernels: the nodes that
need kernels are the body nodes, with the types of each call site.
"""

from __future__ import annotations

import os
import tempfile
from collections import ChainMap, deque
from dataclasses import dataclass, field

import onnx
import onnx.inliner
import onnx.shape_inference

from analyzer.checks.ort_load_rules import split_inference_error
from analyzer.inventory import Inventory, NodeRecord
from analyzer.sources.onnx_types import elem_type_name, shape_of, type_string
from analyzer.sources.weightless import for_inference
from opsets.query import ABSENT
from opsets.tables import SchemaTable, load_schemas

#: The value types a graph sees: its own, chained to those of the graphs enclosing it.
Scope = dict[str, "str | None"] | ChainMap[str, "str | None"]


@dataclass
class PreparedModel:
    """The model as the checks see it: local functions inlined, shapes and types inferred."""

    model: onnx.ModelProto
    inference_errors: list[str] = field(default_factory=list)
    inlined_functions: list[str] = field(default_factory=list)
    local_functions: list[tuple[str, str]] = field(default_factory=list)


def _tag_function_bodies(model: onnx.ModelProto) -> list[str]:
    """Name each function body node "<domain>.<fn>::<node>" so inlined copies say where they came
    from (the inliner keeps a body node's name and appends "__<call counter>")."""
    names = []
    for fn in model.functions:
        qual = f"{fn.domain}.{fn.name}" if fn.domain else fn.name
        names.append(qual)
        for i, node in enumerate(fn.node):
            node.name = f"{qual}::{node.name or f'{node.op_type}_{i}'}"
    return names


def prepare(
    model: onnx.ModelProto, path: str | os.PathLike[str] | None = None, *, over_2gb: bool = False,
) -> PreparedModel:
    """Inline local functions and run strict shape inference, keeping its errors as values.

    Strict inference plays the role of `check_model(full_check=True)`'s inference pass, so the
    analyzer pays for inference once. When it fails, a lenient pass still gives the types it can.
    For models with ops known to crash onnx's inference, run it through
    analyzer.sources.inference_guard.prepare_guarded, which runs this in a child process.
    """
    inlined: list[str] = []
    local = [(f.domain, f.name) for f in model.functions]
    if model.functions:
        model = onnx.ModelProto.FromString(model.SerializeToString())
        inlined = _tag_function_bodies(model)
        try:
            model = onnx.inliner.inline_local_functions(model)
        except Exception as exc:  # noqa: BLE001 - the inliner's errors are findings, not crashes
            return PreparedModel(
                model, [f"inlining local functions failed: {_first_line(exc)}"], [], local
            )
    if over_2gb and path is not None and not inlined:
        return _prepare_by_path(model, str(path))
    errors: list[str] = []
    model = for_inference(model)  # without the large float weights' bytes: same types
    try:
        inferred = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    except Exception as exc:  # noqa: BLE001 - onnx raises several types for bad graphs
        errors.extend(split_inference_error(str(exc) or type(exc).__name__))
        try:
            inferred = onnx.shape_inference.infer_shapes(model, check_type=False, strict_mode=False)
        except Exception as exc2:  # noqa: BLE001
            errors.append(_first_line(exc2))
            inferred = model
    return PreparedModel(inferred, errors, inlined, local)


def _prepare_by_path(model: onnx.ModelProto, path: str) -> PreparedModel:
    """Path-based inference for models over protobuf's 2 GB limit (the weights stay on disk)."""
    errors: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "inferred.onnx")
        try:
            onnx.shape_inference.infer_shapes_path(path, out, check_type=True, strict_mode=True)
        except Exception as exc:  # noqa: BLE001
            errors.extend(split_inference_error(str(exc) or type(exc).__name__))
            try:
                onnx.shape_inference.infer_shapes_path(path, out)
            except Exception as exc2:  # noqa: BLE001
                errors.append(_first_line(exc2))
                return PreparedModel(model, errors)
        inferred = onnx.load(out, load_external_data=False)
    return PreparedModel(inferred, errors)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    # onnx prefixes "[ShapeInferenceError]" lines with context; keep the informative tail short.
    msg = " ".join(lines[:3])
    return msg if len(msg) <= 400 else msg[:397] + "..."


def _value_types(graph: onnx.GraphProto) -> dict[str, str | None]:
    """The types of the names `graph` itself declares (outer scopes are chained, not copied)."""
    types: dict[str, str | None] = {}
    for vi in graph.input:
        types[vi.name] = type_string(vi.type)
    for init in graph.initializer:
        types.setdefault(init.name, _init_type(init))
    for sp in graph.sparse_initializer:
        types.setdefault(sp.values.name, _init_type(sp.values))
    for vi in graph.value_info:
        types[vi.name] = type_string(vi.type)
    for vi in graph.output:
        types[vi.name] = type_string(vi.type)
    return types


def _init_type(t: onnx.TensorProto) -> str | None:
    name = elem_type_name(t.data_type)
    return f"tensor({name})" if name else None


def _count_parameters(graph: onnx.GraphProto) -> int:
    total = 0
    for init in graph.initializer:
        n = 1
        for d in init.dims:
            n *= d
        total += n
    return total


def build_inventory(
    source: PreparedModel | onnx.ModelProto, schemas: SchemaTable | None = None
) -> Inventory:
    """Walk the main graph and every subgraph (breadth first, no recursion) into NodeRecords."""
    prepared = source if isinstance(source, PreparedModel) else PreparedModel(source)
    model = prepared.model
    schemas = schemas or load_schemas()
    functions = frozenset(prepared.inlined_functions)
    opsets = {imp.domain or "": imp.version for imp in model.opset_import}
    if "ai.onnx" in opsets and "" not in opsets:
        opsets[""] = opsets.pop("ai.onnx")
    resolved: dict[tuple[str, str], tuple[int | None, int | None]] = {}
    nodes: list[NodeRecord] = []
    append = nodes.append
    parameters = 0
    queue: deque[tuple[onnx.GraphProto, str, Scope]] = deque([(model.graph, "main", None)])
    # The loop below runs once per node of models with 100k+ nodes: it reads each repeated
    # field once (every read builds new Python strings) and caches the version per op.
    # Work per subgraph is proportional to its own size: its types chain to the enclosing
    # scopes' (a copy of them per subgraph would be quadratic in 1,000 Ifs side by side), and
    # its label names each enclosing node once (not by the node's full, label-bearing name).
    while queue:
        graph, label, outer = queue.popleft()
        own = _value_types(graph)
        own[""] = ABSENT  # an omitted optional argument, which ORT skips; None is "unknown"
        types: Scope = own if outer is None else ChainMap(own, *outer.maps) if isinstance(
            outer, ChainMap) else ChainMap(own, outer)
        get = types.get
        parameters += _count_parameters(graph)
        suffix = "" if label == "main" else f"@{label}"
        for index, node in enumerate(graph.node):
            op = node.op_type
            domain = node.domain
            if domain == "ai.onnx":
                domain = ""
            key = (domain, op)
            versions = resolved.get(key)
            if versions is None:
                opset = opsets.get(domain)
                schema = schemas.resolve(domain, op, opset) if opset else None
                versions = resolved[key] = (opset, schema.since_version if schema else None)
            inputs = tuple(node.input)
            outputs = tuple(node.output)
            name = node.name or f"{op}_{index}{suffix}"
            append(
                NodeRecord(
                    name,
                    op,
                    domain,
                    versions[0],
                    versions[1],
                    tuple(map(get, inputs)),
                    tuple(map(get, outputs)),
                    inputs,
                    outputs,
                    label,
                    _function_of(name, functions) if functions else None,
                    node,
                )
            )
            if len(node.attribute):
                local = node.name or f"{op}_{index}"
                for attr in node.attribute:
                    if attr.type == onnx.AttributeProto.GRAPH:
                        queue.append((attr.g, f"{label}/{local}.{attr.name}", types))
                    elif attr.type == onnx.AttributeProto.GRAPHS:
                        for k, g in enumerate(attr.graphs):
                            queue.append((g, f"{label}/{local}.{attr.name}[{k}]", types))
    return Inventory(
        framework="onnx",
        nodes=nodes,
        opset_imports=opsets,
        ir_version=model.ir_version or None,
        graph_inputs=_io(model.graph.input, {i.name for i in model.graph.initializer}),
        graph_outputs=_io(model.graph.output, set()),
        parameters=parameters,
        local_functions=prepared.local_functions or [(f.domain, f.name) for f in model.functions],
    )


def _function_of(name: str, functions: frozenset[str]) -> str | None:
    """Inlined body nodes carry "<domain>.<function>::..." (see _tag_function_bodies)."""
    if functions and "::" in name:
        qual = name.split("::", 1)[0]
        if qual in functions:
            return f"function {qual}"
    return None


def _io(
    values: object, skip: set[str]
) -> list[tuple[str, str | None, list[int | str | None] | None]]:
    out = []
    for vi in values:  # type: ignore[attr-defined]
        if vi.name in skip:
            continue
        out.append((vi.name, type_string(vi.type), shape_of(vi.type)))
    return out
