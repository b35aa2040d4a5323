"""Inputs that cannot fit are bad input (issue 16, item 7): verify, bench and a PyTorch source's
--input compute what the example inputs would take before allocating them, and past
--max-input-bytes (default: a quarter of the machine's memory) exit 2 with one line naming the
input, its shape and the bytes it would need. Before, bench on a model with a fixed dimension of
2^40 ended in "internal error ... MemoryError" (exit 3)."""

from __future__ import annotations

import os

import onnx
import pytest
from onnx import TensorProto, helper

from analyzer.error_codes import INPUT_TOO_LARGE
from analyzer.errors import InputError
from analyzer.limits import DEFAULT_MAX_INPUT_BYTES, default_max_input_bytes
from analyzer.runtime import bench, verify
from analyzer.runtime.inputs import random_inputs
from tests.fixtures.cli import cli

HUGE = 2**40


def _relu(shape: list[int], elem: int = TensorProto.FLOAT) -> onnx.ModelProto:
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", elem, shape)],
                              [helper.make_tensor_value_info("y", elem, shape)])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


@pytest.fixture()
def huge_path(tmp_path):
    path = tmp_path / "huge.onnx"
    onnx.save(_relu([HUGE, 8]), path)
    return path


def _refusal(res, source: str, needle: str) -> str:
    assert res.returncode == 2, (res.returncode, res.stderr[-2000:])
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    line = lines[0]
    assert source in line and "INPUT_TOO_LARGE" in line and needle in line
    return line


@pytest.mark.parametrize("command", ["bench", "verify"])
def test_bench_and_verify_refuse_an_input_of_2_to_the_40(huge_path, tmp_path, command):
    out = tmp_path / "out.json"
    res = cli(command, str(huge_path), "--format", "json", "-o", str(out))
    line = _refusal(res, str(huge_path), f"input 'x' of shape [{HUGE}, 8] (float32)")
    assert f"{HUGE * 8 * 4} bytes" in line and "--max-input-bytes" in line
    assert not out.exists()


def test_the_limit_is_a_flag_and_0_lifts_it(tmp_path):
    path = tmp_path / "small.onnx"
    onnx.save(_relu([4, 8]), path)  # 128 bytes per sample, 3 samples
    res = cli("verify", str(path), "--max-input-bytes", "300")
    _refusal(res, str(path), "x 3 sample(s) need 384 B (384 bytes)")  # the samples together
    assert cli("verify", str(path), "--max-input-bytes", "0").returncode == 0
    assert cli("bench", str(path), "--iterations", "3", "--warmup", "1",
               "--max-input-bytes", "128").returncode == 0


def test_a_torch_input_is_refused_before_the_factory_is_imported(tmp_path):
    # the factory does not exist: the size is said first, nothing is imported or allocated
    res = cli("analyze", "no_such_pkg.models:build", "--input", f"x:float16[{HUGE},4]")
    _refusal(res, "no_such_pkg.models:build", f"input 'x' of shape [{HUGE}, 4] (float16)")
    res = cli("export", "no_such_pkg.models:build", "--input", "x:float32[1024,1024]",
              "--max-input-bytes", "1M", "-o", str(tmp_path / "m.onnx"))
    _refusal(res, "no_such_pkg.models:build", "4.0 MiB (4194304 bytes)")


def test_the_python_api_raises_before_allocating():
    model = _relu([HUGE, 8], TensorProto.DOUBLE)
    for call in (lambda: verify(model), lambda: bench(model, iterations=1, warmup=0),
                 lambda: random_inputs(model, samples=1)):
        with pytest.raises(InputError) as info:
            call()
        assert info.value.code == INPUT_TOO_LARGE.code and "(float64)" in info.value.message
    with pytest.raises(InputError):
        random_inputs(_relu([64, 64]), samples=1, max_input_bytes=1000)
    assert random_inputs(_relu([64, 64]), samples=1, max_input_bytes=None).samples


def test_the_default_is_a_quarter_of_physical_memory():
    assert DEFAULT_MAX_INPUT_BYTES == default_max_input_bytes() > 0
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert total // 4 == DEFAULT_MAX_INPUT_BYTES
