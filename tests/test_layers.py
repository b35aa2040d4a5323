"""The layers contract (pyproject.toml, checked by import-linter) covers every module of the
analyzer: a new top-level module that no layer names would escape the check silently."""

from __future__ import annotations

import pkgutil
from pathlib import Path

import tomllib

import analyzer

ROOT = Path(__file__).resolve().parents[1]


def _layer_modules() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (contract,) = [c for c in config["contracts"] if c["type"] == "layers"]
    names: set[str] = set()
    for layer in contract["layers"]:
        names.update(part.strip() for part in layer.replace("|", ":").split(":"))
    return names


def test_every_analyzer_module_is_in_a_layer() -> None:
    layered = _layer_modules()
    top = {f"analyzer.{m.name}" for m in pkgutil.iter_modules(analyzer.__path__)}
    assert top, "no modules found under analyzer/"
    assert top - layered == set(), "add these to a layer in pyproject.toml [tool.importlinter]"
    assert layered - top - {"rewrites", "opsets"} == set(), "layers name modules that are gone"


def test_the_core_never_names_the_layers_above_it() -> None:
    """A cheap textual twin of the contract that runs without import-linter: no core module
    mentions analyzer.workflows, analyzer.cli or rewrites in an import statement."""
    layered = _layer_modules() - {"analyzer.cli", "analyzer.workflows", "rewrites", "opsets"}
    offenders = []
    for name in sorted(layered):
        base = ROOT / Path(*name.split("."))
        files = sorted(base.rglob("*.py")) if base.is_dir() else [base.with_suffix(".py")]
        for path in files:
            for line in path.read_text().splitlines():
                text = line.strip()
                if text.startswith(("from ", "import ")) and any(
                        f" {up}" in text for up in ("analyzer.workflows", "analyzer.cli",
                                                    "rewrites")):
                    offenders.append(f"{path.relative_to(ROOT)}: {text}")
    assert offenders == []
