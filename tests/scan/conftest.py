"""A small mixed zoo and one local scan of it, shared by the scan tests (a scan runs real
pre-flights in child processes: seconds per cell, so it runs once per module)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from analyzer.cli.main import main
from tests.fixtures.onnx_models import ONNX_TEST_DATA, parse

REPO = Path(__file__).resolve().parents[2]

#: an op of a domain no provider has: verdict fail, blocked by EP301 on Mystery
MYSTERY_TEXT = """
    <ir_version: 8, opset_import: ["" : 17, "com.example" : 1]>
    g (float[2, 3] x) => (float[2, 3] y) { t = Relu(x)  y = com.example.Mystery(t) }
"""

MANIFEST = """
[defaults]
opsets = [17]
exporters = ["dynamo", "torchscript"]

[[source]]
source = "onnx/*.onnx"
tags = ["onnx-zoo"]

[[source]]
source = "tests.scan.zoo_models:mlp"
id = "mlp"
tags = ["torch"]

[[source]]
source = "tests.scan.zoo_models:norm"
id = "norm"
exporters = ["torchscript"]
opsets = [16, 17]

[[source]]
source = "tests.scan.zoo_models:aborts"
id = "aborts"
exporters = ["torchscript"]
"""


@dataclass
class Zoo:
    root: Path
    manifest: Path

    def args(self, out: Path, *extra: str) -> list[str]:
        return ["scan", "--manifest", str(self.manifest), "-o", str(out), "--jobs", "2",
                "--time-limit", "120", *extra]


def make_zoo(root: Path) -> Zoo:
    onnx_dir = root / "onnx"
    onnx_dir.mkdir(parents=True)
    for name in ("light_bvlc_alexnet.onnx", "light_zfnet512.onnx"):
        shutil.copy(ONNX_TEST_DATA / "light" / name, onnx_dir / name)
    import onnx

    onnx.save(parse(MYSTERY_TEXT), onnx_dir / "mystery.onnx")
    manifest = root / "zoo.toml"
    manifest.write_text(MANIFEST, encoding="utf-8")
    return Zoo(root, manifest)


def run_cli(argv: list[str]) -> int:
    return main(argv)


@pytest.fixture(scope="session")
def zoo(tmp_path_factory: pytest.TempPathFactory) -> Zoo:
    return make_zoo(tmp_path_factory.mktemp("zoo"))


@pytest.fixture(scope="session")
def local_scan(zoo: Zoo, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The zoo scanned once with the local executor: (DIR, matrix)."""
    import json

    out = tmp_path_factory.mktemp("scan") / "out"
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(REPO)  # the factories are tests.scan.zoo_models, imported from the repo root
        assert run_cli(zoo.args(out)) == 0
    return out, json.loads((out / "matrix.json").read_text())


def comparable(cell: dict[str, Any]) -> dict[str, Any]:
    """A cell without what differs between runs of the same cell (timing, cache hit)."""
    return {k: v for k, v in cell.items() if k not in ("duration_s", "cached")}
