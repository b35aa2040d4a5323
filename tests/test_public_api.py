"""The public Python API: importable from the documented places, declared in `__all__`, light to
import, and listed in the README's Python section (so the README stays true)."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: module -> the names the README's "Python API" section documents for it
PUBLIC = {
    "analyzer": ("analyze", "analyze_torch", "export_torch", "analyze_tensorflow",
                 "export_tensorflow", "Report", "InputError"),
    "rewrites": ("apply", "Rule", "Reason", "Match", "ModelPass", "UnknownRule"),
    "rewrites.registry": ("rule", "rules"),
    "analyzer.workflows.rewrite_pipeline": ("run_pass",),
    "analyzer.runtime": ("verify", "bench", "ParityResult", "BenchResult", "OnnxrtRunner",
                         "OnnxReferenceRunner", "TorchRunner", "TensorFlowRunner",
                         "ExpectedOutputsRunner", "create_session", "compare"),
}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_public_names_are_importable_and_declared(module: str) -> None:
    mod = importlib.import_module(module)
    for name in PUBLIC[module]:
        assert callable(getattr(mod, name)), f"{module}.{name}"
    declared = getattr(mod, "__all__", None)
    if module in ("analyzer", "rewrites", "analyzer.runtime"):
        assert declared is not None, f"{module} has no __all__"
        assert set(PUBLIC[module]) <= set(declared)
        assert all(hasattr(mod, name) for name in declared)


def test_readme_python_section_lists_the_public_api() -> None:
    text = (ROOT / "README.md").read_text()
    section = re.search(r"^## Python API\n(.*?)^## ", text, re.S | re.M)
    assert section, "README.md has no '## Python API' section"
    body = section.group(1)
    for module, names in PUBLIC.items():
        for name in names:
            assert re.search(rf"\b{re.escape(name)}\b", body), f"README misses {module}.{name}"


def test_the_api_imports_no_framework() -> None:
    """torch and tensorflow are imported by the functions that run them, never by the API."""
    code = ("import sys, analyzer, rewrites, analyzer.runtime, "
            "analyzer.workflows.rewrite_pipeline, analyzer.cli.main; "
            "print(sorted(m for m in ('torch', 'tensorflow', 'tf2onnx', 'keras', 'matplotlib', "
            "'ray') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=ROOT)
    assert out.stdout.strip() == "[]"
