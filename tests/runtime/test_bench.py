"""bench() on real onnxruntime sessions: statistics, placement, comparison and JSON."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest

from analyzer.errors import InputError
from analyzer.runtime.bench import BenchResult, bench
from analyzer.runtime.placement_actual import compare_placement
from tests.fixtures.bench_models import SMALL, heavy_model, light_model
from tests.fixtures.onnx_models import parse


def test_stats_are_consistent_and_counted():
    result = bench(parse(SMALL), warmup=3, iterations=50, threads=1)
    run = result.run_for("cpu")
    s = run.stats
    assert s.count == 50 == len(run.samples_ms)
    assert 0 < s.min_ms <= s.p50_ms <= s.p90_ms <= s.p99_ms
    assert s.min_ms <= s.mean_ms and s.stdev_ms >= 0
    assert s.throughput_per_s == pytest.approx(1000.0 / s.mean_ms)
    assert run.session_create_ms > 0 and run.first_run_ms > 0
    assert run.settings.intra_op_threads == 1
    assert run.settings.graph_optimization_level == "ORT_ENABLE_ALL"
    assert run.copy is None and not run.settings.io_binding
    # The dynamic dim was defaulted to 1 and said so.
    assert [i.shape for i in result.inputs] == [[1, 64], [64, 64]]
    assert any("dim 'N' set to 1" in n for n in result.notes)
    assert result.environment["onnxruntime"]
    assert "CPUExecutionProvider" in result.environment["available_providers"]


def test_duration_mode_runs_until_time_is_up():
    result = bench(parse(SMALL), warmup=0, duration=0.2, threads=1, placement=False)
    assert result.iterations is None and result.duration_s == 0.2
    run = result.runs[0]
    assert run.stats.count > 10
    # the loop stops once the time is up, so only the last run can overshoot (by its own length)
    assert sum(run.samples_ms) <= 0.2 * 1000 + max(run.samples_ms)


def test_user_inputs_are_used():
    x = np.ones((3, 64), np.float32)
    result = bench(parse(SMALL), iterations=5, inputs={"x": x}, placement=False)
    assert result.inputs[0].shape == [3, 64] and result.inputs[0].source == "user"


PLACEMENT_CASES = {
    "elementwise": SMALL,
    "constant": """<ir_version: 8, opset_import: ["" : 17]>
g (float[2, 4] x) => (float[2, 4] y) { c = Constant<value = float[1] {2.0}>()
 y = Mul(x, c) }""",
    "function_expanded": """<ir_version: 8, opset_import: ["" : 18]>
g (float[2, 4] x) => (float[2, 4] y) { y = Mish(x) }""",
    "subgraph": """<ir_version: 8, opset_import: ["" : 17]>
g (bool c, float[2] x) => (float[2] y) {
  y = If(c) <then_branch = t () => (float[2] z) { z = Relu(x) },
             else_branch = e () => (float[2] z) { z = Neg(x) }>
}""",
    "layernorm": """<ir_version: 8, opset_import: ["" : 17]>
g (float[2, 4] x, float[4] s, float[4] b) => (float[2, 4] y) {
  y = LayerNormalization<axis = -1>(x, s, b)
}""",
}


@pytest.mark.parametrize("name", sorted(PLACEMENT_CASES))
def test_actual_placement_matches_prediction_on_cpu(name):
    model = parse(PLACEMENT_CASES[name])
    check = compare_placement(model, model.SerializeToString(), ["CPUExecutionProvider"])
    assert check.error is None
    assert check.actual and check.actual == check.predicted, check.disagreements
    assert check.agrees


def test_placement_is_in_the_result():
    result = bench(parse(PLACEMENT_CASES["function_expanded"]), iterations=5)
    assert result.placement is not None and result.placement.agrees
    assert result.placement.actual == {
        "CPUExecutionProvider": {"Mul": 1, "Softplus": 1, "Tanh": 1}}
    assert "CPUExecutionProvider" in result.placement.actual_optimized


def test_compare_same_model_gives_ratio_near_one(tmp_path):
    path = tmp_path / "heavy.onnx"
    onnx.save_model(heavy_model(4), path)
    result = bench(path, compare=path, warmup=5, iterations=120, threads=1, placement=False)
    (cmp,) = result.comparisons
    assert cmp.same_inputs
    assert 0.85 < cmp.p50_ratio.ratio < 1.15
    assert cmp.p50_ratio.ci_low <= cmp.p50_ratio.ratio <= cmp.p50_ratio.ci_high
    assert {r.model for r in result.runs} == {"heavy.onnx", "heavy.onnx (b)"}
    assert all(r.stats.count == 120 for r in result.runs)


def test_compare_slower_model_gives_ratio_above_one():
    result = bench(light_model(), compare=heavy_model(), warmup=3, iterations=40, threads=1,
                   placement=False)
    (cmp,) = result.comparisons
    assert cmp.same_inputs and cmp.model_a == "light" and cmp.model_b == "heavy"
    assert cmp.p50_ratio.ratio > 2
    assert cmp.p50_ratio.ci_low > 1


def test_json_round_trip(tmp_path):
    result = bench(parse(SMALL), compare=parse(SMALL), iterations=10, threads=1)
    text = result.to_json()
    back = BenchResult.from_dict(json.loads(text))
    assert back == result
    assert back.to_json() == text


def test_plot_written_or_reason_given(tmp_path):
    target = tmp_path / "latency.png"
    result = bench(parse(SMALL), iterations=10, placement=False, plot=target)
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert result.plot is None and "matplotlib is not installed" in (result.plot_note or "")
        assert not target.exists()
    else:
        assert result.plot == str(target) and target.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"iterations": 0}, "USAGE"),
        ({"warmup": -1}, "USAGE"),
        ({"duration": 0.0}, "USAGE"),
        ({"threads": 0}, "USAGE"),
        ({"providers": ("tpu",)}, "USAGE"),
        ({"inputs": {"nope": np.zeros(1)}}, "BENCH_INPUTS"),
    ],
)
def test_bad_arguments_raise_input_error(kwargs, code):
    with pytest.raises(InputError) as info:
        bench(parse(SMALL), **kwargs)
    assert info.value.code == code and "\n" not in str(info.value)


def test_unavailable_provider_is_input_error():
    import onnxruntime as ort

    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("CUDA is available here")
    with pytest.raises(InputError) as info:
        bench(parse(SMALL), providers=("cuda",))
    assert info.value.code == "PROVIDER_UNAVAILABLE"


def test_model_ort_refuses_is_input_error():
    model = parse("""<ir_version: 8, opset_import: ["" : 17]>
g (float[2] x) => (float[2] y) { y = Relu(x) }""")
    model.graph.node[0].op_type = "NoSuchOp"
    with pytest.raises(InputError):
        bench(model, iterations=1)


def test_missing_file_is_input_error(tmp_path):
    with pytest.raises(InputError):
        bench(tmp_path / "absent.onnx")
