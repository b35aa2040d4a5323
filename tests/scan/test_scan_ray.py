"""`scan --executor ray` on a local Ray instance with 2 CPUs gives the local executor's matrix,
cell by cell (timings and cache hits aside), and a cell whose Ray worker dies is retried once,
then recorded as crashed, while the other cells run as they do locally."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.scan_fixtures import REPO, Zoo, comparable, run_cli
from tests.fixtures.scan_zoo import ATTEMPTS_ENV

pytestmark = pytest.mark.ray
ray = pytest.importorskip("ray")


def test_ray_matrix_equals_local_cell_by_cell(local_scan, zoo: Zoo, tmp_path,
                                              monkeypatch) -> None:
    _, local = local_scan
    out = tmp_path / "ray"
    monkeypatch.chdir(REPO)
    assert run_cli(zoo.args(out, "--executor", "ray")) == 0
    remote = json.loads((out / "matrix.json").read_text())
    assert not any(c["cached"] for c in remote["cells"])  # its own cache: every cell ran
    assert len(remote["cells"]) == len(local["cells"])
    for mine, theirs in zip(remote["cells"], local["cells"], strict=True):
        assert comparable(mine) == comparable(theirs)
    assert not ray.is_initialized()  # the local instance it started is stopped again


KILLER_MANIFEST = """
[defaults]
opsets = [17]
exporters = ["torchscript"]

[[source]]
source = "onnx/mystery.onnx"

[[source]]
source = "tests.fixtures.scan_zoo:mlp"
id = "mlp"
"""

KILLER_SOURCE = """
[[source]]
source = "tests.fixtures.scan_zoo:kills_ray_worker"
id = "kills"
"""


def _scan(root: Path, manifest: str, out: Path, *extra: str) -> dict[tuple[Any, ...], Any]:
    (root / "zoo.toml").write_text(manifest, encoding="utf-8")
    assert run_cli(["scan", "--manifest", str(root / "zoo.toml"), "-o", str(out), "--jobs",
                    "2", "--time-limit", "120", *extra]) == 0
    matrix = json.loads((out / "matrix.json").read_text())
    return {(c["source"], c["opset"], c["exporter"]): c for c in matrix["cells"]}


def test_a_dead_workers_cell_is_retried_once_then_crashed(zoo: Zoo, tmp_path,
                                                          monkeypatch) -> None:
    root = tmp_path / "zoo"
    (root / "onnx").mkdir(parents=True)
    shutil.copy(zoo.root / "onnx" / "mystery.onnx", root / "onnx")
    attempts = tmp_path / "attempts.txt"
    monkeypatch.setenv(ATTEMPTS_ENV, str(attempts))  # before ray.init: its workers inherit it
    monkeypatch.chdir(REPO)
    remote = _scan(root, KILLER_MANIFEST + KILLER_SOURCE, tmp_path / "ray", "--executor", "ray")
    assert not ray.is_initialized()

    killed = remote.pop(("kills", 17, "torchscript"))
    assert killed["verdict"] == "crashed" and killed["report_html"] is None
    assert killed["error"].startswith("the Ray worker died running this cell, also when "
                                      "retried (WorkerCrashedError")
    assert "\n" not in killed["error"]
    pids = attempts.read_text().split()
    assert len(pids) == 2 and pids[0] != pids[1]  # the first try and one retry, two workers

    local = _scan(root, KILLER_MANIFEST, tmp_path / "local")
    assert sorted(remote) == sorted(local) and len(local) == 2
    for key, cell in remote.items():
        assert comparable(cell) == comparable(local[key])
    assert {c["verdict"] for c in local.values()} == {"fail", "pass"}


def test_ray_not_installed_is_one_line(monkeypatch, tmp_path, capsys) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    (tmp_path / "m.onnx").write_bytes(b"")
    assert run_cli(["scan", str(tmp_path / "m.onnx"), "--executor", "ray", "-o",
                    str(tmp_path / "o")]) == 2
    assert "[RAY_NOT_INSTALLED]" in capsys.readouterr().err
