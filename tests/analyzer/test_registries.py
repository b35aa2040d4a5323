"""The finding-id and input-error-code registries: the docs they generate, the checks made when a
Finding or an InputError is built, and that no id or code in the sources escapes them."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from analyzer import error_codes, finding_ids
from analyzer.error_codes import ERROR_CODES, ErrorCode, UnknownErrorCode, error_code
from analyzer.errors import InputError
from analyzer.finding_ids import (
    EP301,
    EP307,
    FINDINGS,
    TRC404,
    FindingKind,
    UnknownFindingId,
    finding_kind,
)
from analyzer.findings import Finding
from analyzer.registry_docs import errors_markdown, findings_markdown, stale

ROOT = Path(__file__).resolve().parents[2]
FINDING_ID = re.compile(r"^[A-Z]{2,4}\d{3}$")
#: The registries themselves (and their docs renderer) hold every id and code by definition.
REGISTRY_FILES = {"analyzer/finding_ids.py", "analyzer/error_codes.py",
                  "analyzer/registry_docs.py"}


def _sources(*tops: str) -> Iterator[tuple[str, ast.Module]]:
    for top in tops:
        for path in sorted((ROOT / top).rglob("*.py")):
            yield path.relative_to(ROOT).as_posix(), ast.parse(path.read_text(encoding="utf-8"))


ALL_SOURCES = ("analyzer", "rewrites", "opsets", "benchmarks", "tests")
PRODUCT_SOURCES = ("analyzer", "rewrites", "opsets")


def test_checked_in_docs_are_generated_from_the_registries() -> None:
    assert stale() == [], "run: python -m analyzer.registry_docs --write"


def test_docs_list_every_id_and_code() -> None:
    findings, errors = findings_markdown(), errors_markdown()
    assert all(f"| {fid} |" in findings for fid in FINDINGS)
    assert all(f"| `{code}` |" in errors for code in ERROR_CODES)


def test_each_constant_is_named_for_its_id() -> None:
    kinds = {name: v for name, v in vars(finding_ids).items() if isinstance(v, FindingKind)}
    assert {name: k.id for name, k in kinds.items()} == {fid: fid for fid in FINDINGS}
    codes = {name: v for name, v in vars(error_codes).items() if isinstance(v, ErrorCode)}
    assert {name: c.code for name, c in codes.items()} == {c: c for c in ERROR_CODES}


def test_families_and_severities() -> None:
    assert {k.family for k in FINDINGS.values()} == set(finding_ids.FAMILIES)
    several = {k.id for k in FINDINGS.values() if len(k.severities) > 1}
    assert {"EP307", "TRC404"} <= several
    assert all(k.why for k in FINDINGS.values() if k.also)


def test_unknown_id_is_refused_with_one_clear_error() -> None:
    unknown = "EXP" + "999"
    with pytest.raises(UnknownFindingId, match="unknown finding id 'EXP999'"):
        finding_kind(unknown)
    with pytest.raises(UnknownFindingId):
        Finding(unknown, "error", "m")


def test_finding_checks_its_severity_against_the_kind() -> None:
    assert Finding.of(EP301, "m").severity == "error"
    assert Finding.of(EP307, "m", severity="info").severity == "info"
    assert Finding(TRC404.id, "warning", "m").kind is TRC404
    with pytest.raises(ValueError, match="EP301 cannot have severity 'info'"):
        Finding(EP301.id, "info", "m")


def test_input_error_takes_registered_codes_only() -> None:
    assert InputError(None, error_codes.USAGE, "m").code == "USAGE"
    assert InputError("x.onnx", "GRAPH_CYCLE", "m").one_line() == "x.onnx: m [GRAPH_CYCLE]"
    unknown = "NO_SUCH" + "_CODE"
    with pytest.raises(UnknownErrorCode, match="unknown input-error code 'NO_SUCH_CODE'"):
        InputError(None, unknown, "m")
    with pytest.raises(UnknownErrorCode):
        error_code(unknown)


def _codes_in(call: ast.Call, scope: ast.AST) -> list[tuple[int, object]]:
    """The string constants an InputError call's code can be: written there, either arm of a
    conditional, or assigned to the name it passes within the enclosing function."""
    arg = call.args[1] if len(call.args) > 1 else next(
        (k.value for k in call.keywords if k.arg == "code"), None)
    values: list[ast.AST] = [] if arg is None else [arg]
    if isinstance(arg, ast.Name):
        values = [n.value for n in ast.walk(scope) if isinstance(n, ast.Assign)
                  and any(isinstance(t, ast.Name) and t.id == arg.id for t in n.targets)]
    out: list[tuple[int, object]] = []
    for v in values:
        arms = [v.body, v.orelse] if isinstance(v, ast.IfExp) else [v]
        out += [(a.lineno, a.value) for a in arms if isinstance(a, ast.Constant)]
    return out


def _calls_with_scope(tree: ast.Module) -> Iterator[tuple[ast.Call, ast.AST]]:
    scopes: list[ast.AST] = [tree]
    scopes += [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    seen: set[int] = set()
    for scope in reversed(scopes):  # innermost functions first
        for node in ast.walk(scope):
            if isinstance(node, ast.Call) and id(node) not in seen:
                seen.add(id(node))
                yield node, scope


def _call_name(call: ast.Call) -> str | None:
    f = call.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None


def test_every_id_and_code_literal_in_the_sources_is_registered() -> None:
    """Sites not yet converted to the registry's constants still write ids and codes as strings:
    each must be a registered one, so nothing drifts."""
    unregistered = []
    for path, tree in _sources(*ALL_SOURCES):
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                    and FINDING_ID.match(node.value) and node.value not in FINDINGS):
                unregistered.append(f"{path}:{node.lineno}: finding id {node.value!r}")
            if isinstance(node, ast.keyword) and node.arg == "error_code" and isinstance(
                    node.value, ast.Constant) and node.value.value not in ERROR_CODES:
                unregistered.append(f"{path}:{node.value.lineno}: code {node.value.value!r}")
        for call, scope in _calls_with_scope(tree):
            if _call_name(call) == "InputError":
                unregistered += [f"{path}:{line}: code {code!r}"
                                 for line, code in _codes_in(call, scope)
                                 if code not in ERROR_CODES]
    assert unregistered == []


def test_every_registered_id_and_code_is_used() -> None:
    """A registered id or code that no product code names (as a constant or a string) is a
    retired check still documented: reconcile it."""
    names: set[str] = set()
    for path, tree in _sources(*PRODUCT_SOURCES):
        if path in REGISTRY_FILES:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                names.add(node.id)
            elif isinstance(node, ast.Attribute):
                names.add(node.attr)
            elif isinstance(node, ast.alias):
                names.add(node.name)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                names.add(node.value)
    assert sorted(set(FINDINGS) - names) == []
    assert sorted(set(ERROR_CODES) - names) == []


def test_error_codes_name_modules_that_exist() -> None:
    """`raised_by` is printed in docs/errors.md: a module that moved must be followed there."""
    import importlib.util

    from analyzer.error_codes import ERROR_CODES

    missing = sorted((c.code, m) for c in ERROR_CODES.values() for m in c.raised_by
                     if importlib.util.find_spec(m) is None)
    assert missing == []
