"""CUDA path of bench(): IO binding with device buffers. Skipped without CUDAExecutionProvider."""

from __future__ import annotations

import onnxruntime as ort
import pytest

from analyzer.runtime.bench import bench
from tests.fixtures.bench_models import SMALL, heavy_model, light_model
from tests.fixtures.onnx_models import parse

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif("CUDAExecutionProvider" not in ort.get_available_providers(),
                       reason="needs onnxruntime's CUDAExecutionProvider"),
]


def test_cuda_run_uses_io_binding_and_measures_copies():
    result = bench(parse(SMALL), providers=("cuda", "cpu"), warmup=5, iterations=50)
    cuda = result.run_for("cuda")
    assert cuda.settings.io_binding
    assert cuda.copy is not None
    assert cuda.copy.host_to_device_ms > 0 and cuda.copy.device_to_host_ms > 0
    assert cuda.copy.input_bytes == (1 * 64 + 64 * 64) * 4
    assert cuda.copy.output_bytes == 64 * 4
    s = cuda.stats
    assert s.count == 50 and s.min_ms <= s.p50_ms <= s.p90_ms <= s.p99_ms
    assert result.run_for("cpu").copy is None
    assert result.placement is not None
    assert "CUDAExecutionProvider" in result.placement.actual


def test_cuda_compare():
    result = bench(light_model(), compare=heavy_model(), providers=("cuda",), iterations=30,
                   placement=False)
    (cmp,) = result.comparisons
    assert cmp.provider == "CUDAExecutionProvider" and cmp.p50_ratio.ratio > 1
