"""The table lookups (every module directly in opsets/ except the generate entry point) read the
shipped JSON only: loading and querying every table in a fresh interpreter imports none of
torch, tensorflow or tf2onnx, and none of opsets.generators, which reads those libraries."""

from __future__ import annotations

import ast
import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import opsets

OPSETS_DIR = Path(opsets.__file__).parent
ROOT = OPSETS_DIR.parent
#: the generation side: `python -m opsets.generate` and the package it runs
GENERATION = ("generate", "generators")
#: heavy optional libraries that only generators may import
HEAVY = ("torch", "tensorflow", "tf2onnx", "onnxscript", "keras")

LOOKUPS = sorted(
    f"opsets.{m.name}" for m in pkgutil.iter_modules([str(OPSETS_DIR)]) if m.name not in GENERATION
)

#: imports every lookup, loads every table and asks each one question, then reports sys.modules
_CHILD = """
import importlib, json, sys
for name in {lookups!r}:
    importlib.import_module(name)
from opsets.onnx_downconvert import load_downconvert
from opsets.ort_inlining import ort_function
from opsets.query import describe_op, match_kernel
from opsets.tables import load_kernels, load_schemas
from opsets.tf2onnx_handlers import load_tf2onnx_handlers
from opsets.torch_converters import load_torch_converters

relu = load_schemas().resolve("", "Relu", 14)
match_kernel("cpu", relu, "", "Relu", 14, ["tensor(float)"], ["tensor(float)"])
describe_op("Relu", opset=14, providers=["cpu", "cuda"])
load_kernels().kernels("cuda", "", "Relu")
ort_function("com.microsoft", "Gelu", 1)
load_downconvert().converts("Relu", to_opset=13)
torch_table = load_torch_converters()
torch_table.dynamo_support("aten::relu")
torch_table.dynamo_downconvert_blockers("aten::relu", 13)
torch_table.torchscript_support("aten::relu", 13)
load_tf2onnx_handlers().support("TFL_CONV_2D", 13)
print(json.dumps(sorted(sys.modules)))
"""


def _imported_by_lookups() -> list[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [sys.executable, "-c", _CHILD.format(lookups=LOOKUPS)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    modules: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return modules


def _top(name: str) -> str:
    return name.split(".", 1)[0]


def test_every_table_has_a_lookup_module() -> None:
    assert {
        "opsets.onnx_downconvert",
        "opsets.ort_inlining",
        "opsets.provenance",
        "opsets.query",
        "opsets.tables",
        "opsets.tf2onnx_handlers",
        "opsets.torch_converters",
    } <= set(LOOKUPS)


def test_lookups_import_no_heavy_library_and_no_generator() -> None:
    modules = _imported_by_lookups()
    heavy = sorted(m for m in modules if _top(m) in HEAVY)
    assert not heavy, f"reading the tables imported {heavy[:10]}"
    generation = sorted(
        m for m in modules if m.startswith(tuple(f"opsets.{g}" for g in GENERATION))
    )
    assert not generation, f"reading the tables imported {generation}"


def _imports(path: Path) -> list[str]:
    """Every module a file imports, at top level or inside functions (lazily)."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module)
    return names


def test_lookup_sources_do_not_import_heavy_libraries_even_lazily() -> None:
    """Also the code paths the child above does not run."""
    for name in LOOKUPS:
        path = OPSETS_DIR / f"{name.rsplit('.', 1)[1]}.py"
        for imported in _imports(path):
            assert _top(imported) not in HEAVY, f"{path.name} imports {imported}"
            assert not imported.startswith("opsets.generat"), f"{path.name} imports {imported}"


def test_opsets_imports_neither_analyzer_nor_rewrites() -> None:
    """opsets is the bottom layer: the analyzer and the rewrites build on it, never the reverse."""
    for path in sorted(OPSETS_DIR.rglob("*.py")):
        for imported in _imports(path):
            assert _top(imported) not in ("analyzer", "rewrites"), (
                f"{path.relative_to(ROOT)} imports {imported}"
            )
