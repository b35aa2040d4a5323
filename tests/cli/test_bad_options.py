"""Options out of range are bad input (issue 16, item 4): an --opset (or --target-opset) below 1
or newer than the installed onnx knows exits 2 with one line naming the option and the range,
on every subcommand that takes one; the Python API raises InputError OPSET_OUT_OF_RANGE."""

from __future__ import annotations

import onnx
import onnx.defs
import pytest

import analyzer
from analyzer.error_codes import OPSET_OUT_OF_RANGE
from analyzer.errors import InputError
from analyzer.workflows.rewrite_pipeline import run_pass
from tests.fixtures.cli import cli
from tests.fixtures.onnx_models import parse

NEWEST = onnx.defs.onnx_opset_version()
MODEL = """<ir_version: 8, opset_import: ["" : 17]>
g (float[2, 3] x) => (float[2, 3] y) { y = Relu(x) }"""


@pytest.fixture()
def model_path(tmp_path):
    path = tmp_path / "m.onnx"
    onnx.save(parse(MODEL), path)
    return path


def _one_line_refusal(res, option: str, value: int) -> None:
    assert res.returncode == 2, (res.stdout, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    assert f"{option} {value}" in lines[0] and f"1 to {NEWEST}" in lines[0]
    assert "OPSET_OUT_OF_RANGE" in lines[0]


@pytest.mark.parametrize("value", [NEWEST + 1, 99, 0, -3])
def test_analyze_refuses_an_opset_onnx_does_not_know(model_path, tmp_path, value):
    out = tmp_path / "r.json"
    res = cli("analyze", str(model_path), "--opset", str(value), "--format", "json", "-o",
              str(out))
    _one_line_refusal(res, "--opset", value)
    assert not out.exists()


def test_the_newest_opset_is_accepted(model_path):
    assert cli("analyze", str(model_path), "--opset", str(NEWEST)).returncode == 0


def test_other_subcommands_refuse_it_too(model_path, tmp_path):
    _one_line_refusal(cli("rewrite", str(model_path), "-o", str(tmp_path / "o.onnx"),
                          "--target-opset", "99"), "--target-opset", 99)
    assert not (tmp_path / "o.onnx").exists()
    _one_line_refusal(cli("opsets", "Relu", "--opset", "99"), "--opset", 99)
    # export refuses before it imports the factory (which does not exist here)
    _one_line_refusal(cli("export", "no_such_pkg.mod:build", "--input", "x:float32[1]", "-o",
                          str(tmp_path / "e.onnx"), "--opset", "0"), "--opset", 0)
    _one_line_refusal(cli("analyze", str(model_path), str(model_path), "--opset", "99"),
                      "--opset", 99)  # batch


@pytest.mark.parametrize("value", [NEWEST + 1, 0])
def test_the_python_api_raises_input_error(value):
    with pytest.raises(InputError) as info:
        analyzer.analyze(parse(MODEL), opset=value)
    assert info.value.code == OPSET_OUT_OF_RANGE.code and f"1 to {NEWEST}" in info.value.message
    with pytest.raises(InputError) as info:
        run_pass(parse(MODEL), target_opset=value)
    assert info.value.code == OPSET_OUT_OF_RANGE.code and "target_opset" in info.value.message
