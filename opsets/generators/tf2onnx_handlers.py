"""Generate opsets/data/tf2onnx_handlers.json: which TensorFlow and TFLite ops tf2onnx
converts, from which opset, and with what caveats.

tf2onnx registers one handler class per op (or group of ops) with ``@tf_op`` / ``@tfl_op``; each
``version_N`` method is the handler used from ONNX opset N up. TFLite ops are named
``TFL_<BUILTIN>``; a first pass maps most of them onto a TensorFlow op (the
``com.google.tensorflow`` domain, ``to_tf`` with ``tf_op=`` or a rename in its source), which
then needs that TF op's handler; a few have their own ONNX handler.

``build_tf2onnx_table()`` (run by ``python -m opsets.generate``) reads tf2onnx in a child
interpreter, ``python -m opsets.generators.tf2onnx_handlers OUT``: importing tensorflow costs
seconds and must not leak into the caller. Caveats are read off the handler source: the messages
of ``raise`` statements and of ``utils.make_sure(cond, "... not supported ...")`` calls, with the
condition, so a report can say "converted, except when ...".
"""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import inspect
import json
import re
import textwrap
from typing import Any

from opsets.generators.cache import build_once, child_main, table_from_child
from opsets.tf2onnx_handlers import ONNX_DOMAIN

#: root > tf|tflite > op > record (one line per op in the file)
TF2ONNX_HANDLERS_EXPAND_DEPTH = 3

TFL_TO_TF_DOMAIN = "com.google.tensorflow"
_CAVEAT_WORDS = re.compile(r"not (?:yet )?(?:supported|implemented)|unsupported|only support|"
                           r"opset \d+ is required|requires opset", re.IGNORECASE)
#: make_sure conditions that read only the node's type and attributes can be evaluated
#: against a graph node before conversion (tf_checks.evaluate_condition).
_NODE_FACTS = re.compile(r"\bnode\.(?:type|attr)\b")
_MAX_CAVEAT = 200


def tf2onnx_available() -> bool:
    """Generation needs tf2onnx (and tensorflow); without them the shipped table stays."""
    return all(importlib.util.find_spec(m) is not None for m in ("tf2onnx", "tensorflow"))


def _text(node: ast.expr, source: str) -> str | None:
    """A message argument as text: a literal, an f-string or a %-formatted literal."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        return _text(node.left, source)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _text(node.left, source), _text(node.right, source)
        return f"{left or '{...}'}{right or '{...}'}"
    if isinstance(node, ast.JoinedStr):
        return ast.get_source_segment(source, node)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and (
            node.func.attr == "format"):
        return _text(node.func.value, source)
    return None


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_CAVEAT else text[: _MAX_CAVEAT - 3] + "..."


def _callees(fn: Any, tree: ast.AST) -> list[Any]:
    """Helpers a handler calls that live in tf2onnx (cls.helper(...), module_function(...)),
    so that checks made one call away are found too."""
    owner = getattr(fn, "__self__", None)
    scope = getattr(getattr(fn, "__func__", fn), "__globals__", {})
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        target: Any = None
        if isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name) and (
                node.func.value.id == "cls") and owner is not None:
            target = getattr(owner, node.func.attr, None)
        elif isinstance(node.func, ast.Name):
            target = scope.get(node.func.id)
        if callable(target) and str(getattr(target, "__module__", "")).startswith("tf2onnx.") and (
                not str(getattr(target, "__module__", "")).startswith("tf2onnx.utils")):
            found.append(target)
    return found


def _own_caveats(source: str, tree: ast.AST) -> list[str]:
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and node.exc.args:
            message = _text(node.exc.args[0], source)
            if message and _CAVEAT_WORDS.search(message):
                found.append(_clip(message))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute | ast.Name):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id
            if name != "make_sure" or len(node.args) < 2:
                continue
            message = _text(node.args[1], source)
            if message and _CAVEAT_WORDS.search(message):
                condition = ast.get_source_segment(source, node.args[0]) or "?"
                found.append(_clip(f"{message} (requires {condition})"))
    return found


def _parse_once(fn: Any, seen: set[int]) -> tuple[str, ast.Module] | None:
    """(source, syntax tree) of `fn`, or None when it was read already in this walk (`seen`)
    or has no readable Python source (a builtin, a lambda in a REPL)."""
    key = id(getattr(fn, "__func__", fn))
    if key in seen:
        return None
    seen.add(key)
    try:
        source = textwrap.dedent(inspect.getsource(fn))
        return source, ast.parse(source)
    except (OSError, TypeError, SyntaxError):
        return None


def handler_checks(fn: Any, depth: int = 2, _seen: set[int] | None = None) -> list[dict[str, str]]:
    """`make_sure(cond, msg)` calls whose condition reads only node.type / node.attr (in the
    handler and the tf2onnx helpers it calls): checkable against a graph node."""
    seen = _seen if _seen is not None else set()
    parsed = _parse_once(fn, seen)
    if parsed is None:
        return []
    source, tree = parsed
    found: list[dict[str, str]] = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute | ast.Name)):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id
        if name != "make_sure" or len(node.args) < 2:
            continue
        condition = ast.get_source_segment(source, node.args[0]) or ""
        message = _text(node.args[1], source) or ""
        if _NODE_FACTS.search(condition) and "ctx." not in condition:
            found.append({"condition": " ".join(condition.split()), "message": _clip(message)})
    if depth > 0:
        for callee in _callees(fn, tree):
            found += handler_checks(callee, depth - 1, seen)
    unique = {json.dumps(c, sort_keys=True): c for c in found}
    return [unique[k] for k in sorted(unique)]


def handler_caveats(fn: Any, depth: int = 2, _seen: set[int] | None = None) -> list[str]:
    """Conditions under which a handler refuses, read off its source (and that of the tf2onnx
    helpers it calls, `depth` calls deep): `raise X("msg")` and `make_sure(cond, "msg")` whose
    message says "not supported" / "not implemented"."""
    seen = _seen if _seen is not None else set()
    parsed = _parse_once(fn, seen)
    if parsed is None:
        return []
    source, tree = parsed
    found = _own_caveats(source, tree)
    if depth > 0:
        for callee in _callees(fn, tree):
            found += handler_caveats(callee, depth - 1, seen)
    return sorted(set(found))


def _qualname(fn: Any) -> str:
    owner = getattr(fn, "__self__", None)
    if isinstance(owner, type):
        return f"{owner.__module__}.{owner.__qualname__}"
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


_RENAME = re.compile(r"node\.type\s*=\s*[\"'](\w+)[\"']")


def _tfl_target(fn: Any, kwargs: dict[str, Any]) -> str | None:
    """The TF op a TFLite op becomes in the first pass: tf_op=..., or a rename in to_tf."""
    if kwargs.get("tf_op"):
        return str(kwargs["tf_op"])
    try:
        renames = _RENAME.findall(inspect.getsource(fn))
    except (OSError, TypeError):
        return None
    return renames[-1] if renames else None


def _collect() -> dict[str, Any]:
    # tf2onnx imports tensorflow (optional, seconds): only the child interpreter imports it
    import tf2onnx.tfonnx  # noqa: F401 - registers every handler tf2onnx's converter uses
    from tf2onnx.handler import tf_op

    records: dict[str, dict[str, Any]] = {}
    tfl_targets: dict[str, str | None] = {}
    for domain, per_opset in tf_op.get_opsets().items():
        for version, mapping in enumerate(per_opset):
            for name, (fn, kwargs) in mapping.items():
                if domain == TFL_TO_TF_DOMAIN:
                    tfl_targets[name] = _tfl_target(fn, dict(kwargs or {}))
                    continue
                record = records.setdefault(name, {"domains": {}, "handler": _qualname(fn),
                                                   "onnx_op": None, "caveats": {}})
                record["domains"].setdefault(domain, []).append(version)
                if domain == ONNX_DOMAIN and kwargs and kwargs.get("onnx_op"):
                    record["onnx_op"] = str(kwargs["onnx_op"])
                caveats = handler_caveats(fn)
                if caveats:
                    record["caveats"][f"{domain or 'ai.onnx'}:{version}"] = caveats
                checks = handler_checks(fn)
                if checks:
                    record.setdefault("checks", {})[f"{domain or 'ai.onnx'}:{version}"] = checks
    tf: dict[str, Any] = {}
    tflite: dict[str, Any] = {}
    for name in sorted(set(records) | set(tfl_targets)):
        record = records.get(name, {"domains": {}, "handler": None, "onnx_op": None,
                                    "caveats": {}, "checks": {}})
        domains = {d: sorted(set(v)) for d, v in sorted(record["domains"].items())}
        onnx_versions = domains.get(ONNX_DOMAIN, [])
        out = {
            "domains": domains,
            "min_opset": min(onnx_versions) if onnx_versions else None,
            "handler": record["handler"],
            "onnx_op": record["onnx_op"],
            "caveats": dict(sorted(record["caveats"].items())),
            "checks": dict(sorted(record.get("checks", {}).items())),
        }
        if name.startswith("TFL_"):
            out["tf_op"] = tfl_targets.get(name)
            out["to_tf"] = name in tfl_targets
            tflite[name] = out
        else:
            tf[name] = out
    return {"tf": tf, "tflite": tflite}


def generate_json() -> str:
    """The table as JSON, from the tf2onnx imported in this interpreter."""
    # tf2onnx imports tensorflow (optional, seconds): only the child interpreter imports it
    import tf2onnx
    from tf2onnx import constants

    def version(dist: str) -> str | None:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            return None

    table = {
        "provenance": {
            "library": "tf2onnx",
            "version": tf2onnx.__version__,
            "tensorflow_version": version("tensorflow-cpu") or version("tensorflow"),
            "source": "tf2onnx.handler.tf_op.get_opsets() after import tf2onnx.tfonnx "
                      "(onnx_opset, custom_opsets, tflite_handlers); caveats read off the "
                      "handler source (raise / make_sure messages)",
            "default_opset": int(constants.PREFERRED_OPSET),
            "max_opset": max(int(k) for k in constants.OPSET_TO_IR_VERSION),
        },
        **_collect(),
    }
    return json.dumps(table, sort_keys=True)



def build_tf2onnx_table() -> dict[str, Any]:
    """{"provenance", "tf", "tflite"} without the generated date (the writer adds it).
    Built once per process in a child interpreter (tensorflow never enters the caller)."""
    return build_once(
        __name__,
        lambda: table_from_child(
            __name__, "the tf2onnx handler table", env={"TF_CPP_MIN_LOG_LEVEL": "3"}
        ),
    )


if __name__ == "__main__":  # the child of build_tf2onnx_table
    child_main(generate_json)
