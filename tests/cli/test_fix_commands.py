"""Fixes that run as printed (issue 14, item 5): one rule namespace (`onnx:`, `torch:`, `tf:`),
old ids accepted as aliases, and every rewrite fix that a report prints carries the command
that applies it; each such command is run here and must be accepted (exit 0 or 1, never 2).
The exports those commands make leave exactly the files they report (item 7)."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import onnx
import onnx.parser
import pytest

from rewrites import registry
from tests.fixtures.cli import cli, unreferenced_files

ONNX_MODELS = {
    "function_ops": ("""
<ir_version: 9, opset_import: ["" : 20]>
g (float[2,8] x) => (float[2,8] y) {
    h = HardSwish(x)
    y = Gelu(h)
}""", ["--opset", "13"]),
    "layer_norm": ("""
<ir_version: 9, opset_import: ["" : 17]>
g (float[2,8] x, float[8] s, float[8] b) => (float[2,8] y) {
    y = LayerNormalization <axis = -1> (x, s, b)
}""", ["--opset", "13"]),
    "cuda_fallback": ("""
<ir_version: 9, opset_import: ["" : 13]>
g (int32[4] x) => (int32[4] y) {
    lo = Constant <value = int32 {0}> ()
    hi = Constant <value = int32 {6}> ()
    y = Clip(x, lo, hi)
}""", ["--providers", "cuda,cpu"]),
}


def _commands(report: dict) -> list[str]:
    return [fix["command"] for f in report["findings"] for fix in f["fixes"]
            if fix["kind"] == "rewrite"]


def _run(command: str, cwd: Path):
    argv = shlex.split(command)
    assert argv[0] == "onnx-preflight"
    return cli(*argv[1:], cwd=cwd)


def test_rule_ids_are_one_namespace() -> None:
    ids = [r.id for r in registry.RULES] + [p.id for p in registry.PASSES]
    assert len(ids) == len(set(ids))
    for r in registry.RULES:
        assert r.id.startswith(f"{r.family}:"), r.id
    for old, new in registry.ALIASES.items():
        assert registry.family_of(old) is not None and registry.canonical(old) == new
    assert registry.rule("decompose-layer-norm").family == "torch"
    assert registry.rule("layer-norm-decompose").family == "onnx"


@pytest.mark.parametrize("name", sorted(ONNX_MODELS))
def test_onnx_fix_commands_run_as_printed(name: str, tmp_path: Path) -> None:
    text, options = ONNX_MODELS[name]
    src = tmp_path / f"{name}.onnx"
    onnx.save_model(onnx.parser.parse_model(text), src)
    res = cli("analyze", str(src), *options, "--format", "json")
    assert res.returncode in (0, 1), res.stderr
    report = json.loads(res.stdout)
    rewrite_fixes = [fix for f in report["findings"] for fix in f["fixes"]
                     if fix["kind"] == "rewrite"]
    assert rewrite_fixes, report["findings"]
    assert all("command" in fix for fix in rewrite_fixes)
    for command in sorted(set(_commands(report))):
        assert command.startswith(f"onnx-preflight rewrite {src} --rules onnx:")
        ran = _run(command, tmp_path)
        assert ran.returncode in (0, 1), (command, ran.stderr)
        assert "Traceback" not in ran.stderr
    text_report = cli("analyze", str(src), *options)
    assert f"run: {_commands(report)[0]}" in text_report.stdout  # printed whole, not wrapped
    md = cli("analyze", str(src), *options, "--format", "md")
    assert f"`{_commands(report)[0]}`" in md.stdout


def test_torch_fix_commands_run_as_printed(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    res = cli("analyze", "tests.fixtures.torch_models:norm_act", "--opset", "13",
              "--format", "json")
    assert res.returncode in (0, 1), res.stderr
    commands = sorted(set(_commands(json.loads(res.stdout))))
    assert any("--rules torch:decompose-layer-norm" in c for c in commands), commands
    for command in commands:
        assert command.startswith("onnx-preflight export tests.fixtures.torch_models:norm_act ")
        assert "--rewrite" in command
        ran = _run(command, tmp_path)
        assert ran.returncode in (0, 1), (command, ran.stderr)
        # one artifact: the model, and only the data files it names
        assert unreferenced_files(tmp_path) == []
        if ran.returncode == 0:  # exported: the model is where the command said
            assert (tmp_path / "norm_act.onnx").exists()


def test_old_ids_are_aliases_and_families_are_not_confusable(tmp_path: Path) -> None:
    src = tmp_path / "ln.onnx"
    onnx.save_model(onnx.parser.parse_model(ONNX_MODELS["layer_norm"][0]), src)
    old = cli("rewrite", str(src), "--dry-run", "--rules", "layer-norm-decompose")
    assert old.returncode == 0, old.stderr
    assert "note: rule layer-norm-decompose is now onnx:layer-norm-decompose" in old.stderr
    assert "onnx:layer-norm-decompose" in old.stdout
    torch_rule = cli("rewrite", str(src), "--dry-run", "--rules", "torch:decompose-layer-norm")
    assert torch_rule.returncode == 2
    assert "PyTorch source rule" in torch_rule.stderr
    assert "onnx-preflight export" in torch_rule.stderr
    onnx_rule = cli("export", "tests.fixtures.torch_models:norm_act", "-o",
                    str(tmp_path / "x.onnx"), "--rules", "onnx:layer-norm-decompose")
    assert onnx_rule.returncode == 2
    assert "ONNX graph rule" in onnx_rule.stderr and "onnx-preflight rewrite" in onnx_rule.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ln.onnx"]


def wide_block():  # noqa: ANN201 - a factory for `export tests.cli.test_fix_commands:wide_block`
    """LayerNorm + HardSwish over 64 features: 16 KiB of weights, which the dynamo exporter
    writes beside the model (small tensors it inlines)."""
    import torch  # only the export tests need torch

    class Wide(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = torch.nn.Linear(64, 64)
            self.norm = torch.nn.LayerNorm(64)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.norm(torch.nn.functional.hardswish(self.lin(x)))

    torch.manual_seed(0)
    return Wide().eval(), (torch.randn(2, 64),)


@pytest.mark.parametrize("spec", ["tests.fixtures.torch_models:norm_act",
                                  "tests.cli.test_fix_commands:wide_block"])
def test_export_rewrite_leaves_exactly_what_it_reports(spec: str, tmp_path: Path) -> None:
    pytest.importorskip("torch")
    res = cli("export", spec, "-o", "m.onnx", "--opset", "13", "--rewrite", "--format", "json",
              cwd=tmp_path)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr
    assert json.loads(res.stdout)["delivered_opset"] == 13
    model = onnx.load(str(tmp_path / "m.onnx"), load_external_data=False)
    named = {e.value for i in model.graph.initializer for e in i.external_data
             if e.key == "location"}
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted({"m.onnx", *named})
    assert unreferenced_files(tmp_path) == []
    onnx.checker.check_model(str(tmp_path / "m.onnx"), full_check=True)  # the weights load
