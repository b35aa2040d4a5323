"""Written files respect the umask (issue 16, item 5): a report, a rewritten model and its
external data land with the mode `cp` or `onnx.save` would give them (0666 less the umask, or
an existing target's own mode), not the 0600 of the temporary file they were written to, and
the writes stay atomic and refuse to overwrite inputs."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from analyzer.errors import InputError
from analyzer.safe_write import current_umask, save_onnx_atomically, write_atomically
from tests.fixtures.onnx_models import parse

ROOT = Path(__file__).resolve().parents[2]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask():
    """Set the process umask for one test, restored after."""
    saved = os.umask(0o022)
    os.umask(saved)
    yield os.umask
    os.umask(saved)


def _model() -> onnx.ModelProto:
    model = parse("""<ir_version: 9, opset_import: ["" : 17]>
        g (float[2,64] x) => (float[2,64] y) { y = MatMul(x, w) }""")
    model.graph.initializer.append(
        numpy_helper.from_array(np.ones((64, 64), dtype=np.float32), "w"))
    return model


@pytest.mark.parametrize(("mask", "expected"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_new_files_get_0666_less_the_umask(tmp_path, umask, mask, expected):
    umask(mask)
    assert current_umask() == mask
    write_atomically(tmp_path / "report.json", "{}")
    save_onnx_atomically(_model(), tmp_path / "m.onnx")
    save_onnx_atomically(_model(), tmp_path / "ext.onnx", external_data=True)
    for name in ("report.json", "m.onnx", "ext.onnx", "ext.onnx.data"):
        assert _mode(tmp_path / name) == expected, name
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "ext.onnx", "ext.onnx.data", "m.onnx", "report.json"]  # no temporary left behind


def test_an_existing_target_keeps_its_mode(tmp_path, umask):
    umask(0o022)
    target = tmp_path / "report.md"
    target.write_text("old")
    target.chmod(0o640)
    write_atomically(target, "new")
    assert target.read_text() == "new" and _mode(target) == 0o640


def test_inputs_are_still_refused(tmp_path, umask):
    umask(0o022)
    source = tmp_path / "m.onnx"
    onnx.save(_model(), source)
    with pytest.raises(InputError):
        save_onnx_atomically(_model(), source, protect=[source])


@pytest.mark.parametrize(("mask", "expected"), [(0o022, 0o644), (0o077, 0o600)])
def test_the_cli_writes_reports_and_models_by_the_umask(tmp_path, mask, expected):
    source = tmp_path / "in.onnx"
    onnx.save(parse("""<ir_version: 9, opset_import: ["" : 17]>
        g (float[1,4] x) => (float[1,4] y) { y = HardSwish(x) }"""), source)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    run = [sys.executable, "-m", "analyzer.cli.main"]

    def call(*args: str) -> None:
        res = subprocess.run([*run, *args], env=env, cwd=ROOT, capture_output=True, text=True,
                             timeout=300, preexec_fn=lambda: os.umask(mask))
        assert res.returncode in (0, 1), res.stderr

    call("analyze", str(source), "--format", "json", "-o", str(tmp_path / "r.json"))
    call("analyze", str(source), "--format", "html", "-o", str(tmp_path / "r.html"))
    call("rewrite", str(source), "-o", str(tmp_path / "out.onnx"))
    for name in ("r.json", "r.html", "out.onnx"):
        assert _mode(tmp_path / name) == expected, name
