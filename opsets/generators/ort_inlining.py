"""Generate opsets/data/ort_inlining.json: which contrib ops ONNX Runtime inlines, measured.

ORT inlines a node that no execution provider claims when the node's schema has a function body
(Node::TryGetFunctionProto). Some com.microsoft ops (Gelu, FastGelu, QuickGelu, ...) carry bodies
that onnxruntime registers itself, and its Python API exposes neither the flag nor the body. This
module measures them: for each contrib op and each type of its primary type constraint that no
CPU kernel of the op accepts, it creates a real CPU session of a one-node model (optimizations
off) and records whether ORT inlined the node and, from the session's saved graph, the body it
inlined (the Casts that InsertCastTransformer added around float16 nodes are stripped).

Only the types without a CPU kernel are probed: a kernel constructor then never runs on the
generic probe node (some contrib kernels abort the process on inputs they expect but a generic
node omits), and inlining can only be observed where no kernel claims the node.
"""

from __future__ import annotations

import os
import re
import tempfile
from typing import Any

import onnx
import onnxruntime as ort
from onnxruntime.capi import _pybind_state
from onnxruntime.capi import onnxruntime_pybind11_state as ort_state

from opsets.generators.cache import build_once

#: root > functions > domain > op > record fields (each field a line in the file)
INLINING_EXPAND_DEPTH = 5
PROBED_DOMAINS: tuple[str, ...] = ("com.microsoft",)
#: The ai.onnx opset of the probe models; the body's ai.onnx nodes are resolved at the opset of
#: the model being analyzed (as ORT resolves inlined nodes in the graph's opset).
PROBE_ONNX_OPSET = 21
PROBE_SOURCE = (
    "probe: one-node CPU sessions of the installed onnxruntime (ORT_DISABLE_ALL, "
    "optimized_model_filepath) per contrib op and type without a CPU kernel"
)
_INSERTED_CAST = "InsertedPrecisionFreeCast_"
_PREFERRED = ("tensor(float)", "tensor(int64)", "tensor(int32)", "tensor(uint8)", "tensor(bool)")
_NAMED_OP = re.compile(r"(?:implementation|kernel) for (?:([\w.]+)\.)?(\w+)\((\d+)\)")


def _type_proto(type_str: str) -> Any:
    elem = onnx.TensorProto.DataType.Value(type_str[len("tensor(") : -1].upper())
    return onnx.helper.make_tensor_type_proto(elem, None)


def _option(param: Any) -> str:
    return str(getattr(param.option, "name", param.option)).rsplit(".", 1)[-1].lower()


def _primary(schema: Any) -> tuple[str, tuple[str, ...]] | None:
    constraints = {
        tc.type_param_str: tuple(sorted(tc.allowed_type_strs)) for tc in schema.type_constraints
    }
    for param in schema.inputs:
        allowed = constraints.get(param.typeStr, ())
        if len(allowed) > 1 and all(t.startswith("tensor(") for t in allowed):
            return param.typeStr, allowed
    return None


def _probe_model(schema: Any, primary: str, elem: str) -> Any | None:
    """A one-node model with the required inputs typed; None when one cannot be typed."""
    constraints = {
        tc.type_param_str: tuple(sorted(tc.allowed_type_strs)) for tc in schema.type_constraints
    }
    names, inputs = [], []
    for i, param in enumerate(schema.inputs):
        if _option(param) == "optional":
            break
        if param.typeStr == primary:
            t = elem
        elif param.typeStr in constraints:
            allowed = constraints[param.typeStr]
            t = next((p for p in _PREFERRED if p in allowed), allowed[0])
        else:
            t = param.typeStr
        if not t.startswith("tensor("):
            return None
        names.append(f"in{i}")
        inputs.append(onnx.helper.make_value_info(f"in{i}", _type_proto(t)))
    outputs = [
        onnx.helper.make_value_info(f"out{i}", onnx.TypeProto())
        for i, p in enumerate(schema.outputs)
        if _option(p) != "optional"
    ]
    node = onnx.helper.make_node(
        schema.name, names, [o.name for o in outputs], name="probe", domain=schema.domain
    )
    graph = onnx.helper.make_graph([node], "probe", inputs, outputs)
    imports = [
        onnx.helper.make_opsetid("", PROBE_ONNX_OPSET),
        onnx.helper.make_opsetid(schema.domain, int(schema.since_version)),
    ]
    return onnx.helper.make_model(graph, opset_imports=imports, ir_version=10)


def _function_from_graph(graph: Any, schema: Any) -> Any:
    """The inlined graph as a FunctionProto: initializers become Constant nodes, the Casts that
    InsertCastTransformer added are dropped and the values they renamed get their names back."""

    def name(value: str) -> str:
        return value[len(_INSERTED_CAST) :] if value.startswith(_INSERTED_CAST) else value

    nodes = [
        onnx.helper.make_node("Constant", [], [init.name], value=init) for init in graph.initializer
    ]
    for node in graph.node:
        if node.op_type == "Cast" and node.name.startswith(_INSERTED_CAST):
            continue
        copy = onnx.NodeProto()
        copy.CopyFrom(node)
        copy.name = ""
        copy.input[:] = [name(i) for i in node.input]
        copy.output[:] = [name(o) for o in node.output]
        nodes.append(copy)
    for n in nodes:
        for attr in n.attribute:
            if attr.type == onnx.AttributeProto.TENSOR:
                attr.t.name = ""
    return onnx.helper.make_function(
        schema.domain,
        schema.name,
        [i.name for i in graph.input],
        [o.name for o in graph.output],
        nodes,
        [onnx.helper.make_opsetid("", PROBE_ONNX_OPSET)],
    )


def _probe(schema: Any, primary: str, elem: str, workdir: str) -> tuple[str, Any | None]:
    """("kernel" | "inlined" | "none" | "unprobed", the inlined graph when the session loads)."""
    model = _probe_model(schema, primary, elem)
    if model is None:
        return "unprobed", None
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.log_severity_level = 4
    saved = os.path.join(workdir, "inlined.onnx")
    so.optimized_model_filepath = saved
    try:
        ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - a failing session is an answer, not an error
        match = _NAMED_OP.search(str(exc))
        if match is None:
            return "unprobed", None
        return ("none" if match.group(2) == schema.name else "inlined"), None
    graph = onnx.load(saved).graph
    if any(n.op_type == schema.name and n.domain == schema.domain for n in graph.node):
        return "kernel", None
    return "inlined", graph


def _cpu_kernel_types(domain: str, op: str) -> set[str]:
    types: set[str] = set()
    for k in _pybind_state.get_all_opkernel_def():
        if k.provider == "CPUExecutionProvider" and k.domain == domain and k.op_name == op:
            for allowed in dict(k.type_constraints).values():
                types.update(allowed)
    return types


def probe_functions(domains: tuple[str, ...] = PROBED_DOMAINS) -> dict[str, dict[str, Any]]:
    """domain -> op -> record, only for ops that ORT inlined for at least one type."""
    latest: dict[tuple[str, str], Any] = {}
    for s in ort_state.get_all_operator_schema():
        if s.domain in domains and not s.deprecated:
            key = (s.domain, s.name)
            if key not in latest or s.since_version > latest[key].since_version:
                latest[key] = s
    out: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as workdir:
        for (domain, op), schema in sorted(latest.items()):
            if any(a.required for a in schema.attributes.values()):
                continue
            primary = _primary(schema)
            if primary is None:
                continue
            with_kernel = _cpu_kernel_types(domain, op)
            statuses: dict[str, str] = {}
            body: Any = None
            body_type: str | None = None
            for elem in primary[1]:
                if elem in with_kernel:
                    continue
                status, graph = _probe(schema, primary[0], elem, workdir)
                if status in ("inlined", "none"):
                    statuses[elem[len("tensor(") : -1]] = status
                if graph is not None and body is None:
                    body = _function_from_graph(graph, schema)
                    body_type = elem[len("tensor(") : -1]
            if "inlined" in statuses.values():
                out.setdefault(domain, {})[op] = {
                    "since_version": int(schema.since_version),
                    "types": dict(sorted(statuses.items())),
                    "body": onnx.printer.to_text(body) if body is not None else None,
                    "body_type": body_type,
                }
    return out


def build_inlining_table() -> dict[str, Any]:
    """{"provenance": ..., "functions": ...}, without the generated date (the writer adds it).
    Built once per process (one ORT session per probe); a fresh copy each call."""
    return build_once(__name__, _inlining_table)


def _inlining_table() -> dict[str, Any]:
    return {
        "provenance": {
            "library": "onnxruntime",
            "version": ort.__version__,
            "source": PROBE_SOURCE,
        },
        "functions": probe_functions(),
    }
