"""Pre-flight findings a real export decided leave the verdict: a conditional TorchScript
symbolic (EXP108) that did not raise is resolved after torch.onnx.export wrote the file, so
`--fail-on warning` passes; when the export raises, it stays open (real torch exports)."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from analyzer.findings import Finding
from analyzer.report.model import ModelInfo, Report, Target
from analyzer.workflows.batch import BatchRow
from analyzer.workflows.decided import resolve_after_conversion
from analyzer.workflows.torch_export import export_torch
from analyzer.workflows.torch_preflight import analyze_torch
from tests.fixtures.cli import cli
from tests.fixtures.torch_models import upsample, upsample_aligned

X = (torch.randn(1, 2, 4, 4),)


def test_preflight_leaves_the_conditional_symbolic_open() -> None:
    pre = analyze_torch(upsample(), X, opset=10, exporter="torchscript")
    exp108 = [f for f in pre.findings if f.id == "EXP108"]
    assert exp108 and all(f.status == "open" for f in exp108)
    assert pre.verdict == "warn" and pre.fails("warning")


def test_export_resolves_the_symbolic_that_worked(tmp_path: Path) -> None:
    report = export_torch(upsample(), X, tmp_path / "up.onnx", opset=10, exporter="torchscript")
    assert report.extras["exported"] is True and (tmp_path / "up.onnx").exists()
    exp108 = [f for f in report.findings if f.id == "EXP108"]
    assert any(f.op == "aten::upsample_bilinear2d" for f in exp108)
    assert all(f.status == "resolved" and "torch.onnx.export" in (f.resolved_by or "")
               for f in exp108)
    assert report.verdict == "pass" and not report.fails("warning")
    data = report.to_dict()
    assert data["verdict"] == "pass"
    statuses = {f["id"]: f["status"] for f in data["findings"]}
    assert statuses["EXP108"] == "resolved" and statuses["EXP104"] == "open"
    assert all("resolved_by" in f for f in data["findings"] if f["status"] == "resolved")
    assert "resolved:" in report.to_markdown()


def test_export_that_raised_leaves_it_open(tmp_path: Path) -> None:
    report = export_torch(upsample_aligned(), X, tmp_path / "up.onnx", opset=10,
                          exporter="torchscript")
    assert report.extras["exported"] is False and not (tmp_path / "up.onnx").exists()
    ids = {f.id: f for f in report.findings}
    assert "EXP107" in ids and ids["EXP108"].status == "open"
    assert report.verdict == "fail"


def test_cli_fail_on_warning_passes_once_the_export_decided(tmp_path: Path) -> None:
    spec = ["tests.fixtures.torch_models:upsample", "--input", "x:float32[1,2,4,4]",
            "--exporter", "torchscript", "--opset", "10", "--fail-on", "warning"]
    before = cli("analyze", *spec)
    assert before.returncode == 1, before.stderr[-500:]
    out = tmp_path / "up.onnx"
    after = cli("export", *spec, "-o", str(out), "--format", "json")
    assert after.returncode == 0, after.stdout[-800:] + after.stderr[-500:]
    data = json.loads(after.stdout)
    assert data["verdict"] == "pass"
    assert {f["status"] for f in data["findings"] if f["id"] == "EXP108"} == {"resolved"}


def _report(findings: list[Finding]) -> Report:
    return Report(tool={}, environment={}, model=ModelInfo(None, "onnx", None, {}, 0, 0),
                  target=Target(None, None, []), ops=[], findings=findings)


def test_resolved_findings_never_count() -> None:
    err = Finding("TFC613", "error", "handler refuses", op="ResizeBilinear")
    warn = Finding("TFC611", "warning", "opset above tf2onnx's highest")
    report = _report([err, warn])
    assert report.verdict == "fail"
    assert resolve_after_conversion(report.findings, 13, clean=False) == []
    assert resolve_after_conversion(report.findings, 13, clean=True) == [err]
    assert err.status == "resolved" and "opset 13" in (err.resolved_by or "")
    assert warn.status == "open"  # not a handler prediction: the file does not answer it
    assert report.verdict == "warn" and not report.fails("error") and report.fails("warning")
    row = BatchRow("m.onnx", report=report.to_dict())
    assert not row.fails("error") and row.fails("warning")
