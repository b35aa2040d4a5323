"""Crash isolation with real child processes: a real signal, a real hang, real ORT sessions."""

from __future__ import annotations

import os
import signal
import time

import onnx

from analyzer.isolation import run_isolated
from analyzer.runtime.session import check_loads_in_child, load_check_finding
from tests.fixtures.onnx_models import parse


def _segfault() -> None:
    os.kill(os.getpid(), signal.SIGSEGV)


def _sleep(seconds: float) -> str:
    time.sleep(seconds)
    return "woke"


def _raise() -> None:
    raise ValueError("bad value\nsecond line")


def _allocate() -> int:
    return len(bytearray(2048 * 1024 * 1024))


def test_a_child_killed_by_a_signal_is_reported_as_crashed():
    result = run_isolated(_segfault, time_limit=30)
    assert result.status == "crashed" and result.signal == signal.SIGSEGV
    assert "signal 11" in result.describe()
    assert "signal 11" in load_check_finding(result).message


def test_a_child_past_the_time_limit_is_killed_and_reported():
    start = time.perf_counter()
    result = run_isolated(_sleep, 30.0, time_limit=2)
    assert result.status == "timed_out"
    assert time.perf_counter() - start < 15


def test_values_and_exceptions_come_back():
    assert run_isolated(_sleep, 0.0).value == "woke"
    raised = run_isolated(_raise)
    assert raised.status == "raised" and raised.error_type == "ValueError"
    assert raised.message == "bad value"


def test_the_memory_limit_applies_in_the_child():
    result = run_isolated(_allocate, memory_limit_mb=1024)
    assert result.status == "out_of_memory"


def test_real_ort_sessions_good_loads_bad_raises(tmp_path):
    good, bad = tmp_path / "good.onnx", tmp_path / "bad.onnx"
    onnx.save_model(parse("""<ir_version: 10, opset_import: ["" : 20]>
        g (float[2,3] x) => (float[2,3] y) { y = Relu(x) }"""), good)
    onnx.save_model(parse("""<ir_version: 10, opset_import: ["" : 20]>
        g (bfloat16[2,3] x) => (bfloat16[2,3] y) { y = Relu(x) }"""), bad)
    loads = check_loads_in_child(str(good))
    assert loads.ok and loads.value >= 0
    assert load_check_finding(loads).id == "EP311"
    fails = check_loads_in_child(str(bad))
    assert fails.status == "raised" and "Relu" in fails.message
    finding = load_check_finding(fails)
    assert finding.id == "EP310" and finding.severity == "error"
