"""`scan --executor ray` on a local Ray instance with 2 CPUs gives the local executor's matrix,
cell by cell (timings and cache hits aside)."""

from __future__ import annotations

import json

import pytest

from tests.fixtures.scan_fixtures import REPO, Zoo, comparable, run_cli

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


def test_ray_not_installed_is_one_line(monkeypatch, tmp_path, capsys) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    (tmp_path / "m.onnx").write_bytes(b"")
    assert run_cli(["scan", str(tmp_path / "m.onnx"), "--executor", "ray", "-o",
                    str(tmp_path / "o")]) == 2
    assert "[RAY_NOT_INSTALLED]" in capsys.readouterr().err
