"""Crash isolation of the real torch.onnx.export: a crash or a hang in the exporter's process
becomes finding EXP109, the report still comes out, and no model file is left behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parents[2]

# forward() misbehaves only in a child process (multiprocessing.parent_process() is set there):
# the pre-flight in the parent captures it normally, the isolated export then crashes or hangs.
MODULE = """
import multiprocessing, os, signal, time
import torch

class Fragile(torch.nn.Module):
    def forward(self, x):
        if multiprocessing.parent_process() is not None:
            if os.environ.get("RB_EXPORT_MODE") == "hang":
                time.sleep(3600)
            os.kill(os.getpid(), signal.SIGSEGV)
        return torch.relu(x)

def build():
    return Fragile().eval(), (torch.randn(2, 3),)
"""


def _export(tmp_path: Path, mode: str, *flags: str) -> tuple[subprocess.CompletedProcess[str],
                                                              Path]:
    (tmp_path / "fragile_rb.py").write_text(MODULE)
    out = tmp_path / "out"
    out.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RB_EXPORT_MODE": mode}
    res = subprocess.run(
        [sys.executable, "-m", "analyzer.cli.main", "export", "fragile_rb:build", "-o",
         str(out / "model.onnx"), "--format", "json", *flags],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    return res, out


@pytest.mark.slow
def test_a_crashing_export_becomes_a_finding(tmp_path: Path) -> None:
    res, out = _export(tmp_path, "crash")
    assert res.returncode == 1, res.stderr[-800:]
    report = json.loads(res.stdout)
    (finding,) = [f for f in report["findings"] if f["id"] == "EXP109"]
    assert "signal 11" in finding["message"] and "SIGSEGV" in finding["message"]
    assert report["exported"] is False
    assert list(out.iterdir()) == []  # no model, no temporary folder


@pytest.mark.slow
def test_a_hanging_export_is_stopped_at_the_time_limit(tmp_path: Path) -> None:
    res, out = _export(tmp_path, "hang", "--time-limit", "6")
    assert res.returncode == 1, res.stderr[-800:]
    report = json.loads(res.stdout)
    (finding,) = [f for f in report["findings"] if f["id"] == "EXP109"]
    assert "hung" in finding["message"]
    assert list(out.iterdir()) == []


@pytest.mark.slow
def test_a_crash_under_source_rules_is_isolated_too(tmp_path: Path) -> None:
    """--rewrite exports in a child as well (the rules' swaps live there): a crash is EXP109."""
    res, out = _export(tmp_path, "crash", "--rewrite")
    assert res.returncode == 1, res.stderr[-800:]
    report = json.loads(res.stdout)
    (finding,) = [f for f in report["findings"] if f["id"] == "EXP109"]
    assert "signal 11" in finding["message"]
    assert report["exported"] is False
    assert list(out.iterdir()) == []
