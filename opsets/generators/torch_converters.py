"""Generate opsets/data/torch_converters.json: which ATen ops each torch.onnx exporter
converts, and from which opset, read off the installed torch.

How each exporter decides is described in opsets.torch_converters (the lookup). This module
reads torch's registries: the dynamo exporter's ``ONNXRegistry.from_torchlib`` per registry
opset and ``_decomp.create_onnx_friendly_decomposition_table``; the TorchScript exporter's
``torchscript_exporter.registration.registry``, whose raising-only registrations are recognised
from the function source (calls to symbolic_helper's ``_onnx_opset_unsupported`` & co. as the
first statement, or ``_block_list_in_opset``).

``build_torch_converter_table()`` (run by ``python -m opsets.generate``) reads torch in a child
interpreter, ``python -m opsets.generators.torch_converters OUT``, so the answer does not depend
on what the caller imported. torch and onnxscript are optional: they are imported only inside
the functions that the child runs.
"""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import inspect
import json
import logging
import textwrap
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

from opsets.generators.cache import build_once, child_main, table_from_child

#: root > dynamo|torchscript > ops > one record per op (one line per op in the file)
TORCH_CONVERTERS_EXPAND_DEPTH = 3

#: torch.onnx._internal.exporter._constants.TORCHLIB_OPSET in torch 2.13 (regenerated: see header)
DYNAMO_BASE_OPSET = 18

#: Modules whose helper functions are followed when reading off the ONNX ops a translation emits.
_TORCHLIB_MODULES = ("onnxscript.function_libs", "torch.onnx._internal.exporter._torchlib")
_UNSUPPORTED_HELPERS = (
    "_unimplemented",
    "_onnx_unsupported",
    "_onnx_opset_unsupported",
    "_onnx_opset_unsupported_detailed",
)


# ---------------------------------------------------------------------------------------------
# generation: dynamo exporter (imports torch)


@contextmanager
def _quiet(*loggers: str) -> Iterator[None]:
    """The registry logs a warning per missing optional package (torchvision); not news here."""
    saved = [(logging.getLogger(n), logging.getLogger(n).level) for n in loggers]
    for logger, _ in saved:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in saved:
            logger.setLevel(level)


def _target_name(target: Any) -> str:
    """A stable key for a registry target: 'aten::add.Tensor', '_operator::add',
    'higher_order::cond', 'torch::sym_float'."""
    # optional (the torch extra) and slow to import: only the generating child imports it
    import torch

    if isinstance(target, str):
        return target
    if isinstance(target, torch._ops.OpOverload):
        return str(target.name())
    if isinstance(target, torch._ops.HigherOrderOperator):
        return f"{target.namespace}::{target.name()}"
    module = getattr(target, "__module__", None) or type(target).__module__
    return f"{module}::{getattr(target, '__qualname__', getattr(target, '__name__', target))}"


def _python_function(fn: Any) -> Callable[..., Any] | None:
    # optional (the torch extra) and slow to import: only the generating child imports it
    from onnxscript.values import OnnxFunction, TracedOnnxFunction

    if isinstance(fn, OnnxFunction):
        return fn.function  # type: ignore[no-any-return]
    if isinstance(fn, TracedOnnxFunction):
        return fn.func  # type: ignore[no-any-return]
    if isinstance(fn, types.FunctionType):
        return fn
    return None


def _function_name(fn: Any) -> str:
    py = _python_function(fn)
    target = py if py is not None else fn
    module = getattr(target, "__module__", "?")
    return f"{module}.{getattr(target, '__qualname__', getattr(target, '__name__', repr(target)))}"


def _proto_ops(fn: Any) -> set[str]:
    """Default-domain op types in a script function's FunctionProto, subgraphs included (this
    catches ops written as Python operators, e.g. `a + b` -> Add)."""
    out: set[str] = set()

    def walk(nodes: Any) -> None:
        for node in nodes:
            if node.domain in ("", "ai.onnx"):
                out.add(node.op_type)
            for attr in node.attribute:
                if attr.HasField("g"):
                    walk(attr.g.node)
                for graph in attr.graphs:
                    walk(graph.node)

    walk(fn.to_function_proto().node)
    return out


class _EmittedOps:
    """Reads off which ONNX ops a torchlib translation may emit, over all its branches: calls
    `op.X(...)` on an onnxscript Opset, helpers that take `op_type` as a string, and (followed
    recursively) calls to other torchlib functions."""

    def __init__(self) -> None:
        self._cache: dict[int, frozenset[str]] = {}

    def of(self, fn: Any) -> tuple[str, ...] | None:
        ops = self._callee(fn, set())
        return tuple(sorted(ops)) if ops else None

    def _callee(self, target: Any, seen: set[int]) -> set[str]:
        # optional (the torch extra) and slow to import: only the generating child imports it
        from onnxscript.values import OnnxFunction

        if id(target) in self._cache:
            return set(self._cache[id(target)])
        py = _python_function(target)
        if py is None or not (py.__module__ or "").startswith(_TORCHLIB_MODULES):
            return set()
        if id(target) in seen:
            return set()
        seen.add(id(target))
        ops = self._source_ops(py, seen)
        if isinstance(target, OnnxFunction):
            with suppress(Exception):  # a function that does not compile keeps its source scan
                ops |= _proto_ops(target)
        self._cache[id(target)] = frozenset(ops)
        return ops

    def _source_ops(self, py: Callable[..., Any], seen: set[int]) -> set[str]:
        # optional (the torch extra) and slow to import: only the generating child imports it
        from onnxscript.values import Opset

        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(py)))
        except (OSError, TypeError, SyntaxError):
            return set()
        scope: dict[str, Any] = dict(getattr(py, "__globals__", {}))
        with suppress(TypeError, ValueError):
            scope.update(inspect.getclosurevars(py).nonlocals)

        def resolve(node: ast.expr) -> Any:
            if isinstance(node, ast.Name):
                return scope.get(node.id)
            if isinstance(node, ast.Attribute):
                base = resolve(node.value)
                return None if base is None else getattr(base, node.attr, None)
            return None

        out: set[str] = set()
        for call in ast.walk(tree):
            if not isinstance(call, ast.Call):
                continue
            if isinstance(call.func, ast.Attribute):
                base = resolve(call.func.value)
                if isinstance(base, Opset):
                    domain = base.domain
                    out.add(
                        call.func.attr
                        if domain in ("", "ai.onnx")
                        else f"{domain}::{call.func.attr}"
                    )
                    continue
            callee = resolve(call.func)
            if callee is None:
                continue
            op_type = _literal_op_type(callee, call)
            if op_type is not None:
                out.add(op_type)
            out |= self._callee(callee, seen)
        return out


def _literal_op_type(callee: Any, call: ast.Call) -> str | None:
    """`call_op("If", ...)`: a helper whose first parameter is `op_type`, given a literal."""
    if not isinstance(callee, types.FunctionType):
        return None
    try:
        params = list(inspect.signature(callee).parameters)
    except (TypeError, ValueError):
        return None
    if not params or params[0] != "op_type":
        return None
    arg: ast.expr | None = call.args[0] if call.args else None
    for kw in call.keywords:
        if kw.arg == "op_type":
            arg = kw.value
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return arg.value
    return None


def _dynamo_tables() -> dict[str, Any]:
    """Registry and decomposition table per registry opset (18 .. torch's ONNX_MAX_OPSET)."""
    # optional (the torch extra) and slow to import: only the generating child imports it
    import torch

    # torch.export registers more decompositions as it imports (c10d_functional ops arrive with
    # torch.distributed._functional_collectives); an export has imported all of this by the
    # time the ONNX exporter builds its table, so the table is read in that state.
    import torch.export._trace  # noqa: F401
    from torch.export.exported_program import _collect_all_valid_cia_ops
    from torch.onnx import _constants as onnx_constants
    from torch.onnx._internal.exporter import _constants, _decomp, _registration

    base = int(_constants.TORCHLIB_OPSET)
    if base != DYNAMO_BASE_OPSET:
        raise RuntimeError(f"torch's TORCHLIB_OPSET is {base}; update DYNAMO_BASE_OPSET")
    top = int(onnx_constants.ONNX_MAX_OPSET)
    emitted = _EmittedOps()
    ops: dict[str, dict[str, Any]] = {}
    introduced: set[int] = set()
    cia = {_target_name(op) for op in _collect_all_valid_cia_ops()}
    with _quiet("torch.onnx._internal.exporter._registration"):
        for opset in range(base, top + 1):
            registry = _registration.ONNXRegistry.from_torchlib(opset_version=opset)
            for target, metas in registry.functions.items():
                record = ops.setdefault(_target_name(target), {"impls": {}, "decomposed": []})
                for meta in metas:
                    introduced.add(int(meta.opset_introduced))
                    key = (_function_name(meta.onnx_function), int(meta.opset_introduced))
                    impl = record["impls"].setdefault(
                        key + (bool(meta.is_complex),),
                        {
                            "function": key[0],
                            "opset": key[1],
                            "complex": bool(meta.is_complex),
                            "onnx_ops": emitted.of(meta.onnx_function),
                        },
                    )
                    impl.setdefault("registry_opsets", set()).add(opset)
            registered = set(_decomp.get_onnx_implemented_overloads(registry))
            table = _decomp.create_onnx_friendly_decomposition_table(registered)
            for op in table:
                record = ops.setdefault(_target_name(op), {"impls": {}, "decomposed": []})
                record["decomposed"].append(opset)
    out: dict[str, Any] = {}
    for name, record in sorted(ops.items()):
        impls = sorted(
            (
                {
                    "function": i["function"],
                    "opset": i["opset"],
                    "complex": i["complex"],
                    "onnx_ops": list(i["onnx_ops"]) if i["onnx_ops"] is not None else None,
                }
                for i in record["impls"].values()
            ),
            key=lambda i: (i["opset"], i["complex"], i["function"]),
        )
        out[name] = {"impls": impls, "decomposed": sorted(record["decomposed"]), "cia": name in cia}
    if max(introduced, default=base) > top:
        raise RuntimeError(
            "a torchlib function needs an opset above ONNX_MAX_OPSET; widen the range"
        )
    return {
        "base_opset": base,
        "default_opset": int(onnx_constants.ONNX_DEFAULT_OPSET),
        "max_opset": top,
        "ops": out,
        "torch_version": torch.__version__,
    }


# ---------------------------------------------------------------------------------------------
# generation: TorchScript exporter (imports torch)


def _render(node: ast.expr, nonlocals: dict[str, Any]) -> str:
    if isinstance(node, ast.Constant):
        return str(node.value)
    if isinstance(node, ast.Name) and isinstance(nonlocals.get(node.id), str | int):
        return str(nonlocals[node.id])
    return "{" + ast.unparse(node) + "}"


def _helper_name(call: ast.Call) -> str | None:
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    return name if name in _UNSUPPORTED_HELPERS else None


def _describe_helper(call: ast.Call, nonlocals: dict[str, Any]) -> tuple[str, int | None]:
    """(message, supported opset) for one call of a symbolic_helper "unsupported" helper,
    worded as torch words it after 'Unsupported: ONNX export of'."""
    helper = _helper_name(call)
    args = [_render(a, nonlocals) for a in call.args]
    supported: int | None = None
    if helper in ("_onnx_opset_unsupported", "_onnx_opset_unsupported_detailed"):
        raw = call.args[2] if len(call.args) > 2 else None
        if isinstance(raw, ast.Constant) and isinstance(raw.value, int):
            supported = raw.value
    if helper == "_unimplemented" and len(args) >= 2:
        return f"{args[0]}, {args[1]}", None
    if helper == "_onnx_opset_unsupported" and len(args) >= 3:
        return f"{args[0]} in opset {args[1]}; try opset {args[2]}", supported
    if helper == "_onnx_opset_unsupported_detailed" and len(args) >= 4:
        return f"{args[0]} in opset {args[1]}: {args[3]}; try opset {args[2]}", supported
    return (args[0] if args else "?"), supported


def _classify_symbolic(fn: Callable[..., Any], opset: int) -> dict[str, Any]:
    """Reads a registered symbolic's source: does it always raise, raise for some inputs, or
    translate?"""
    # optional (the torch extra) and slow to import: only the generating child imports it
    from torch.onnx._internal.torchscript_exporter import symbolic_helper

    func = inspect.unwrap(fn)
    record: dict[str, Any] = {
        "opset": opset,
        "function": f"{func.__module__}.{func.__qualname__}",
        "status": "ok",
        "message": None,
        "supported_opset": None,
        "conditions": [],
    }
    try:
        nonlocals = dict(inspect.getclosurevars(func).nonlocals)
    except (TypeError, ValueError):
        nonlocals = {}
    if func.__code__ is symbolic_helper._block_list_in_opset("probe").__code__:
        record["status"] = "unsupported"
        record["message"] = f"{nonlocals.get('name', '?')} is not implemented for opset {opset}"
        return record
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    except (OSError, TypeError, SyntaxError):
        record["conditions"] = ["source unavailable: not checked for 'unsupported' branches"]
        return record
    definition = tree.body[0]
    body = list(getattr(definition, "body", []))
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # docstring
    first = body[0] if body else None
    call = first.value if isinstance(first, ast.Return | ast.Expr) else None
    if isinstance(call, ast.Call) and _helper_name(call) is not None:
        message, supported = _describe_helper(call, nonlocals)
        record.update(status="unsupported", message=message, supported_opset=supported)
        return record
    if isinstance(first, ast.Raise):
        record.update(status="unsupported", message=ast.unparse(first)[:200])
        return record
    conditions = [
        _describe_helper(call, nonlocals)[0]
        for call in ast.walk(definition)
        if isinstance(call, ast.Call) and _helper_name(call) is not None
    ]
    if conditions:
        record["status"] = "conditional"
        record["conditions"] = sorted(set(conditions))
    return record


def _torchscript_table() -> dict[str, Any]:
    # optional (the torch extra) and slow to import: only the generating child imports it
    from torch.onnx import _constants as onnx_constants
    from torch.onnx._internal.torchscript_exporter import registration, utils

    utils._trigger_symbolic_function_registration()
    lo, hi = (
        int(onnx_constants.ONNX_MIN_OPSET),
        int(onnx_constants.ONNX_TORCHSCRIPT_EXPORTER_MAX_OPSET),
    )
    ops: dict[str, Any] = {}
    for name in sorted(registration.registry.all_functions()):
        group = registration.registry.get_function_group(name)
        # built-in registrations only: custom_onnx_symbolic overrides (a test or a user may
        # have registered some in this process) are not torch's answer
        base: dict[int, Callable[..., Any]] = dict(group._functions._base) if group else {}
        if not base:
            continue
        registered = sorted(base)  # the opsets it is registered at
        records = [_classify_symbolic(base[o], o) for o in registered]
        by_opset = {r["opset"]: r for r in records}
        usable = []
        for target in range(lo, hi + 1):
            version = registration._dispatch_opset_version(target, registered)
            if version is not None and by_opset[version]["status"] != "unsupported":
                usable.append(target)
        ops[name] = {"registrations": records, "min_opset": min(usable, default=None)}
    return {
        "min_opset": lo,
        "max_opset": hi,
        "base_opset": int(onnx_constants.ONNX_BASE_OPSET),
        "default_opset": int(onnx_constants.ONNX_DEFAULT_OPSET),
        "ops": ops,
    }


def torch_available() -> bool:
    """Generation needs torch and onnxscript; without them the shipped table is left as is."""
    return all(importlib.util.find_spec(m) is not None for m in ("torch", "onnxscript"))


def generate_json() -> str:
    """The table as JSON, read from the torch imported in this interpreter."""
    import onnxscript  # optional (the torch extra): only the child interpreter imports it

    dynamo = _dynamo_tables()
    torch_version = dynamo.pop("torch_version")
    try:
        torchvision: str | None = importlib.metadata.version("torchvision")
    except importlib.metadata.PackageNotFoundError:
        torchvision = None
    table = {
        "provenance": {
            "library": "torch",
            "version": torch_version,
            "onnxscript_version": onnxscript.__version__,
            "torchvision_version": torchvision,
            "source": (
                "dynamo: torch.onnx._internal.exporter._registration.ONNXRegistry.from_torchlib "
                "(opset 18..ONNX_MAX_OPSET) and _decomp.create_onnx_friendly_decomposition_table; "
                "torchscript: torch.onnx._internal.torchscript_exporter.registration.registry"
            ),
        },
        "dynamo": dynamo,
        "torchscript": _torchscript_table(),
    }
    return json.dumps(table, sort_keys=True)


def build_torch_converter_table() -> dict[str, Any]:
    """{"provenance", "dynamo", "torchscript"} without the generated date (the writer adds it).
    Built once per process in a child interpreter (about 6 s): torch's decomposition tables
    depend on what the calling process happened to import (or register) before, the shipped
    table must not. A fresh copy each call."""
    return build_once(__name__, lambda: table_from_child(__name__, "the torch converter table"))


if __name__ == "__main__":  # the child of build_torch_converter_table
    child_main(generate_json)
