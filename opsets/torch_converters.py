"""Which ATen ops each torch.onnx exporter converts, and from which opset, read off installed torch.

Two exporters ship in torch 2.13 and they answer differently:

- dynamo (``torch.onnx.export(..., dynamo=True)``, the default since 2.9): ``_compat.export_compat``
  builds ``ONNXRegistry.from_torchlib(max(opset_version, 18))`` (torch's own
  ``_torchlib`` ops plus onnxscript's torchlib; per op the implementation with the highest
  ``opset_introduced`` <= that opset wins), runs ``ExportedProgram.run_decompositions`` with the
  ONNX-friendly table of ``_decomp.create_onnx_friendly_decomposition_table`` (torch's
  decompositions minus every op that has a translation), translates at the registry opset and,
  when ``opset_version`` is below 18, down-converts the finished model (see
  ``opsets.onnx_downconvert``: on failure it warns and keeps opset 18). For
  ``opset_version >= 18`` the registry and the model are built at that opset; no conversion runs.
  A CompositeImplicitAutograd op missing from that table is preserved by ``run_decompositions``
  (a dict table means "keep the CIA ops not listed") and then needs a translation.
- TorchScript (``dynamo=False``, deprecated: a DeprecationWarning on every call): symbolic
  functions registered per opset in ``torchscript_exporter.registration.registry``; for a
  target >= 9 the highest registration <= target is used, for targets 7 and 8 the lowest
  registration in [target, 9]. Some registrations exist only to raise ("not supported in this
  opset"): they are recognised from the function source (calls to symbolic_helper's
  ``_onnx_opset_unsupported`` & co. as the first statement, or ``_block_list_in_opset``).

``build_torch_converter_table()`` (run by ``python -m opsets.generate``) reads torch in a child
interpreter, so the answer does not depend on what the caller imported; the lookup API below
reads only the shipped JSON, so the analyzer never imports torch.
"""

from __future__ import annotations

import ast
import copy
import functools
import inspect
import json
import logging
import re
import textwrap
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

DATA_DIR = Path(__file__).parent / "data"
TORCH_CONVERTERS_PATH = DATA_DIR / "torch_converters.json"
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
_QUALIFIED = re.compile(r"^(?:torch\.ops\.)?(?P<ns>[A-Za-z_][\w]*)(?:::|\.)(?P<rest>.+)$")


# ---------------------------------------------------------------------------------------------
# names


def normalize_aten_name(name: str) -> str:
    """'aten.add.Tensor' / 'torch.ops.aten.add.Tensor' / 'aten::add.Tensor' -> 'aten::add.Tensor';
    the default overload is dropped ('aten.relu.default' -> 'aten::relu'), as
    ``OpOverload.name()`` and both exporters' registries spell it."""
    name = name.strip()
    match = _QUALIFIED.match(name)
    if match is None:
        raise ValueError(f"not a qualified op name: {name!r} (expected e.g. 'aten::add.Tensor')")
    ns, rest = match.group("ns"), match.group("rest")
    op, _, overload = rest.partition(".")
    if not op:
        raise ValueError(f"not a qualified op name: {name!r}")
    return f"{ns}::{op}" if overload in ("", "default") else f"{ns}::{op}.{overload}"


def packet_name(name: str) -> str:
    """'aten.add.Tensor' -> 'aten::add': the overload-free name the TorchScript exporter uses."""
    return normalize_aten_name(name).partition(".")[0]


def dotted_name(name: str) -> str:
    """'aten::add.Tensor' -> 'aten.add.Tensor', 'aten::relu' -> 'aten.relu.default'
    (how torch.ops / FX graphs print an OpOverload)."""
    canonical = normalize_aten_name(name)
    ns, _, rest = canonical.partition("::")
    op, _, overload = rest.partition(".")
    return f"{ns}.{op}.{overload or 'default'}"


def torchscript_key(node_kind: str) -> str:
    """The registry key the TorchScript exporter looks up for a node kind: one trailing '_'
    (in-place variant) is dropped, exactly as ``_run_symbolic_function`` does ('aten::relu_' ->
    'aten::relu', and also 'aten::__and__' -> 'aten::__and_', which is how torch registers it)."""
    kind = node_kind if "::" in node_kind else packet_name(node_kind)
    return kind[:-1] if kind.endswith("_") else kind


# ---------------------------------------------------------------------------------------------
# lookup records


@dataclass(frozen=True)
class Provenance:
    """What the table was generated from."""

    library: str
    version: str
    generated: str
    source: str
    onnxscript_version: str
    torchvision_version: str | None


@dataclass(frozen=True)
class DynamoImpl:
    """One torchlib translation of an op: the function, the registry opset from which it is
    chosen, whether it is the complex-input variant, and the ONNX op types it may emit (None:
    could not be read off)."""

    function: str
    opset_introduced: int
    complex: bool
    onnx_ops: tuple[str, ...] | None


@dataclass(frozen=True)
class DynamoOp:
    """What the dynamo exporter does with an ATen op at a requested opset.

    status: "translated" (a torchlib function handles it), "decomposed" (torch decomposes it
    into other ATen ops before dispatch; those need translations in turn) or "missing"
    (preserved but untranslatable: export fails). registry_opset is the opset the model is built
    at (18 below 18, where the finished model is down-converted)."""

    name: str
    opset: int
    registry_opset: int
    status: Literal["translated", "decomposed", "missing"]
    impls: tuple[DynamoImpl, ...]
    decomposed: bool
    cia: bool
    min_opset: int | None

    @property
    def translated(self) -> bool:
        return self.status == "translated"

    @property
    def onnx_ops(self) -> tuple[str, ...] | None:
        """Union of the ONNX op types the chosen (non-complex) translations may emit; None when
        one of them could not be read off."""
        chosen = [i for i in self.impls if not i.complex] or list(self.impls)
        if not chosen or any(i.onnx_ops is None for i in chosen):
            return None
        return tuple(sorted({op for i in chosen for op in i.onnx_ops or ()}))

    @property
    def needs_downconvert(self) -> bool:
        return self.opset < self.registry_opset


@dataclass(frozen=True)
class SymbolicRegistration:
    """One TorchScript symbolic registered at `opset`: "ok", "unsupported" (it only raises) or
    "conditional" (it raises for some inputs: `conditions`)."""

    opset: int
    function: str
    status: Literal["ok", "unsupported", "conditional"]
    message: str | None
    supported_opset: int | None
    conditions: tuple[str, ...]


@dataclass(frozen=True)
class TorchScriptOp:
    """The TorchScript exporter's answer for (op, opset).

    status: "ok" (a symbolic handles it; `conditions` lists inputs it still rejects),
    "needs_opset" (nothing usable at this opset, `min_opset` works), "unsupported" (registered
    but raises at every opset >= this one) or "missing" (no symbolic at all)."""

    name: str
    opset: int
    status: Literal["ok", "needs_opset", "unsupported", "missing"]
    min_opset: int | None
    registration: SymbolicRegistration | None
    conditions: tuple[str, ...]
    note: str


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
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in ("torch", "onnxscript"))


def generate_json() -> str:
    """The table as JSON, read from the torch imported in this interpreter."""
    import importlib.metadata

    import onnxscript

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


@functools.lru_cache(maxsize=1)
def _build_cached() -> str:
    """Runs generate_json() in a fresh interpreter: torch's decomposition tables depend on what
    the calling process happened to import (or register) before, the shipped table must not."""
    import os
    import subprocess
    import sys
    import tempfile

    root = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "torch_converters.json"
        done = subprocess.run(
            [sys.executable, "-m", "opsets.torch_converters", str(out)],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"generating the torch converter table failed:\n{done.stderr}")
        return out.read_text(encoding="utf-8")


def build_torch_converter_table() -> dict[str, Any]:
    """{"provenance", "dynamo", "torchscript"} without the generated date (the writer adds it).
    Cached per process (about 6 s in a child interpreter); a fresh copy each call."""
    return copy.deepcopy(json.loads(_build_cached()))


# ---------------------------------------------------------------------------------------------
# lookup (reads the shipped JSON only; no torch import)


def _dispatch(target: int, registered: list[int], base_opset: int) -> int | None:
    """torch's registration._dispatch_opset_version: the highest registration <= target, or for
    targets below the base opset (9) the lowest registration in [target, base]."""
    if not registered:
        return None
    if target >= base_opset:
        below = [v for v in registered if v <= target]
        return max(below) if below else None
    above = [v for v in registered if target <= v <= base_opset]
    return min(above) if above else None


class TorchConverterTable:
    """Both exporters' op coverage, as generated from one torch install."""

    def __init__(self, data: dict[str, Any]) -> None:
        header = data["provenance"]
        self.provenance = Provenance(
            header["library"],
            header["version"],
            header.get("generated", ""),
            header["source"],
            header["onnxscript_version"],
            header.get("torchvision_version"),
        )
        dynamo = data["dynamo"]
        self.dynamo_base_opset: int = dynamo["base_opset"]
        self.dynamo_default_opset: int = dynamo["default_opset"]
        self.dynamo_max_opset: int = dynamo["max_opset"]
        self._dynamo: dict[str, dict[str, Any]] = dynamo["ops"]
        ts = data["torchscript"]
        self.torchscript_min: int = ts["min_opset"]
        self.torchscript_max: int = ts["max_opset"]
        self._ts_base: int = ts["base_opset"]
        self.torchscript_default_opset: int = ts["default_opset"]
        self._ts: dict[str, dict[str, Any]] = ts["ops"]

    # -- dynamo ---------------------------------------------------------------------------------

    def dynamo_ops(self) -> list[str]:
        """Every op with a translation or a decomposition at some registry opset."""
        return sorted(self._dynamo)

    def dynamo_overloads(self, name: str) -> list[str]:
        """The overloads of a packet in the table: 'aten::add' -> ['aten::add.Scalar', ...]."""
        packet = packet_name(name)
        return [k for k in sorted(self._dynamo) if k == packet or k.startswith(packet + ".")]

    def dynamo_support(self, aten_op: str, opset: int | None = None) -> DynamoOp | None:
        """The dynamo exporter's answer for one op overload ('aten::add.Tensor',
        'aten.add.Tensor', 'aten.relu.default' all work) at `opset` (default: torch's default).
        None when torch neither translates nor decomposes it at any opset: export fails on it."""
        key = aten_op if aten_op in self._dynamo else _safe_normalize(aten_op)
        record = self._dynamo.get(key) if key is not None else None
        if record is None:
            return None
        requested = self.dynamo_default_opset if opset is None else opset
        registry_opset = min(max(requested, self.dynamo_base_opset), self.dynamo_max_opset)
        all_impls = [
            DynamoImpl(
                i["function"],
                i["opset"],
                i["complex"],
                tuple(i["onnx_ops"]) if i["onnx_ops"] is not None else None,
            )
            for i in record["impls"]
        ]
        # registry cleanup: keep the impls with the highest opset_introduced <= registry opset
        valid = [i for i in all_impls if i.opset_introduced <= registry_opset]
        top = max((i.opset_introduced for i in valid), default=None)
        chosen = tuple(i for i in valid if i.opset_introduced == top)
        decomposed = registry_opset in record["decomposed"]
        status: Literal["translated", "decomposed", "missing"] = (
            "translated" if chosen else "decomposed" if decomposed else "missing"
        )
        min_opset = min((i.opset_introduced for i in all_impls), default=None)
        return DynamoOp(
            name=key or aten_op,
            opset=requested,
            registry_opset=registry_opset,
            status=status,
            impls=chosen,
            decomposed=decomposed,
            cia=bool(record["cia"]),
            min_opset=min_opset,
        )

    def dynamo_downconvert_blockers(self, aten_op: str, opset: int) -> dict[str, str]:
        """For opset < 18: the ONNX ops of the op's translation that onnx's version converter
        cannot take from 18 down to `opset` (op -> reason), from opsets/data/onnx_downconvert.json.
        Any one blocker makes the whole model stay at opset 18 (torch only warns)."""
        support = self.dynamo_support(aten_op, opset)
        if support is None or not support.needs_downconvert or support.onnx_ops is None:
            return {}
        from opsets.onnx_downconvert import load_downconvert

        table = load_downconvert()
        out: dict[str, str] = {}
        for op in support.onnx_ops:
            if "::" in op:
                continue
            if table.converts(op, self.dynamo_base_opset, opset) is False:
                out[op] = table.reason(op, opset) or "does not convert"
        return out

    # -- TorchScript ----------------------------------------------------------------------------

    def torchscript_ops(self) -> list[str]:
        return sorted(self._ts)

    def torchscript_registrations(self, aten_op: str) -> list[SymbolicRegistration]:
        """The symbolics registered for a node kind, by opset (built-in ones only)."""
        return self._registrations(torchscript_key(aten_op))

    def _registrations(self, key: str) -> list[SymbolicRegistration]:
        record = self._ts.get(key)
        if record is None:
            return []
        return [
            SymbolicRegistration(
                r["opset"],
                r["function"],
                r["status"],
                r["message"],
                r["supported_opset"],
                tuple(r["conditions"]),
            )
            for r in record["registrations"]
        ]

    def torchscript_min_opset(self, aten_op: str) -> int | None:
        """Lowest opset (7..20) at which a usable symbolic exists; None if none does."""
        record = self._ts.get(torchscript_key(aten_op))
        return None if record is None else record["min_opset"]

    def torchscript_support(self, aten_op: str, opset: int) -> TorchScriptOp:
        """The TorchScript exporter's answer for a node kind ('aten::hardswish', 'aten::relu_',
        or an overload name, whose overload is ignored) at `opset`."""
        key = torchscript_key(aten_op)
        regs = self._registrations(key)
        above = (
            f"; torch warns above opset {self.torchscript_max} (the TorchScript exporter's highest)"
            if opset > self.torchscript_max
            else ""
        )
        if not regs:
            note = f"no symbolic function: UnsupportedOperatorError{above}"
            return TorchScriptOp(key, opset, "missing", None, None, (), note)
        min_opset = self._ts[key]["min_opset"]
        version = _dispatch(opset, [r.opset for r in regs], self._ts_base)
        reg = next((r for r in regs if r.opset == version), None)
        if reg is not None and reg.status != "unsupported":
            note = f"symbolic registered at opset {reg.opset}: {reg.function}{above}"
            return TorchScriptOp(key, opset, "ok", min_opset, reg, reg.conditions, note)
        later = min_opset is not None and min_opset > opset
        if reg is None:
            note = f"no symbolic for opset {opset}"
        else:
            note = f"registered at opset {reg.opset} only to raise: {reg.message}"
        if later:
            note += f"; available from opset {min_opset}"
            return TorchScriptOp(key, opset, "needs_opset", min_opset, reg, (), note + above)
        return TorchScriptOp(key, opset, "unsupported", min_opset, reg, (), note + above)


def _safe_normalize(name: str) -> str | None:
    try:
        return normalize_aten_name(name)
    except ValueError:
        return None


@functools.lru_cache(maxsize=1)
def load_torch_converters() -> TorchConverterTable:
    """The shipped table (parsed once per process; never imports torch)."""
    with TORCH_CONVERTERS_PATH.open("rb") as fh:
        return TorchConverterTable(json.load(fh))


if __name__ == "__main__":  # the child of _build_cached: python -m opsets.torch_converters OUT
    import sys

    Path(sys.argv[1]).write_text(generate_json(), encoding="utf-8")
