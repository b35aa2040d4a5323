"""Tests and benchmarks share code through tests.fixtures only, in one direction.

Test modules and benchmarks import tests.fixtures; test modules never import benchmarks (nor
another test module, nor tests.conftest, which pytest loads itself); tests.fixtures imports
neither test modules nor benchmarks. Every import statement counts, in-function ones included.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import in the file, relative ones resolved; for
    `from pkg import name` both pkg and pkg.name are yielded (name may be a submodule)."""
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            if module:
                yield node.lineno, module
            for alias in node.names:
                yield node.lineno, f"{module}.{alias.name}" if module else alias.name


def _under(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _is_test_module(name: str) -> bool:
    """Whether a dotted name is, or is inside, a test module or a conftest."""
    return any(
        part.startswith("test_") or part.endswith("_test") or part == "conftest"
        for part in name.split(".")
    )


def violations(path: Path) -> list[str]:
    """What the file imports against the direction rules, as 'file:line: imports X (rule)', one
    per import statement."""
    module = _module_name(path)
    in_fixtures = _under(module, "tests.fixtures")
    in_tests = _under(module, "tests") or _is_test_module(module)
    found: dict[int, str] = {}
    for line, name in imported_modules(path):
        rule = None
        if _under(name, "benchmarks"):
            if in_tests:
                rule = "tests never import benchmarks"
        elif not _under(name, "tests") or name == "tests" or _under(name, "tests.fixtures"):
            continue
        elif in_fixtures:
            rule = "tests.fixtures imports no test module"
        elif not _under(module, "tests"):
            rule = f"{module.split('.')[0]} import tests.fixtures only"
        elif _is_test_module(name):
            rule = "shared test helpers live in tests.fixtures"
        if rule and line not in found:
            found[line] = f"{path.relative_to(ROOT)}:{line}: imports {name} ({rule})"
    return list(found.values())


def scanned_files() -> list[Path]:
    files = sorted((ROOT / "tests").rglob("*.py")) + sorted((ROOT / "benchmarks").rglob("*.py"))
    files += sorted(p for p in (ROOT / "rewrites").rglob("*.py") if _is_test_module(p.stem))
    return files


def test_tests_and_benchmarks_import_in_one_direction() -> None:
    files = scanned_files()
    assert any(_under(_module_name(p), "tests.fixtures") for p in files)
    assert any(_under(_module_name(p), "benchmarks") for p in files)
    found = [v for path in files for v in violations(path)]
    assert not found, "\n".join(found)


@pytest.mark.parametrize(
    ("where", "source", "reason"),
    [
        ("tests/cli/test_x.py", "from benchmarks.ort_agreement import main", "never import"),
        ("tests/fixtures/x.py", "def f():\n    import benchmarks.fuzz_analyze", "never import"),
        ("tests/fixtures/x.py", "from tests.report import test_html", "no test module"),
        ("tests/fixtures/x.py", "from tests import reliability", "no test module"),
        ("tests/fixtures/x.py", "from ..cli import test_batch", "no test module"),
        ("benchmarks/x.py", "from tests.torch_corpus.models import CORPUS", "fixtures only"),
        ("rewrites/x_test.py", "from tests.tf_corpus import reality", "fixtures only"),
        ("tests/cli/test_x.py", "from tests.cli.test_analyze_cli import cli", "live in"),
        ("tests/cli/test_x.py", "from tests.conftest import parse", "live in"),
        ("rewrites/x_test.py", "import benchmarks", "never import"),
    ],
)
def test_each_rule_catches_its_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str, source: str, reason: str
) -> None:
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    path = tmp_path / where
    path.parent.mkdir(parents=True)
    path.write_text(source + "\n", encoding="utf-8")
    (found,) = violations(path)
    assert reason in found


@pytest.mark.parametrize(
    ("where", "source"),
    [
        ("tests/cli/test_x.py", "from tests.fixtures.cli import cli"),
        ("tests/fixtures/x.py", "from tests.fixtures import torch_corpus\nfrom . import chromium"),
        ("benchmarks/x.py", "from tests.fixtures.ort_agreement import run_agreement"),
        ("benchmarks/x.py", "from benchmarks.bench_analyze import build_model"),
    ],
)
def test_allowed_imports_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str, source: str
) -> None:
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    path = tmp_path / where
    path.parent.mkdir(parents=True)
    path.write_text(source + "\n", encoding="utf-8")
    assert violations(path) == []
