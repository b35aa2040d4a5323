"""Placement prediction on small real models; where the CPU provider is involved, the prediction
is compared with a real onnxruntime session."""

from __future__ import annotations

import onnxruntime as ort
import pytest

from analyzer.checks.placement import predict_placement
from analyzer.sources.onnx_inventory import build_inventory, prepare
from tests.fixtures.onnx_models import parse

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"


def _placement(text: str, providers):
    prepared = prepare(parse(text))
    return predict_placement(build_inventory(prepared.model), providers)


def _ort_loads(text: str) -> bool:
    try:
        ort.InferenceSession(parse(text).SerializeToString(), providers=[CPU])
    except Exception:  # noqa: BLE001 - any session-creation failure counts as "does not load"
        return False
    return True


GELU_DOUBLE = """<ir_version: 10, opset_import: ["" : 20]>
g (double[2,3] x) => (double[2,3] y) { y = Gelu(x) }"""

GELU_HALF = """<ir_version: 10, opset_import: ["" : 20]>
g (float16[2,3] x) => (float16[2,3] y) { y = Gelu(x) }"""

RELU_BF16 = """<ir_version: 10, opset_import: ["" : 20]>
g (bfloat16[2,3] x) => (bfloat16[2,3] y) { y = Relu(x) }"""

# CUDA has no LpNormalization kernel (OperatorKernels.md); CPU has one for float.
FALLBACK_CHAIN = """<ir_version: 10, opset_import: ["" : 20]>
g (float[1,4,8,8] x, float[4,4,3,3] w) => (float[1,4,6,6] y) {
    c = Conv(x, w)
    h = LpNormalization <axis = 1, p = 2> (c)
    y = Relu(h)
}"""


def test_function_op_without_kernel_expands_and_fails_like_ort():
    placement = _placement(GELU_DOUBLE, [CPU])
    (gelu,) = placement.nodes
    assert gelu.how == "expanded"
    failing = [leaf.node.op for leaf in gelu.leaves() if leaf.how == "none"]
    assert failing == ["Erf"]
    assert not placement.loadable
    assert _ort_loads(GELU_DOUBLE) is False


def test_float16_function_body_runs_through_inserted_casts_like_ort():
    placement = _placement(GELU_HALF, [CPU])
    (gelu,) = placement.nodes
    assert gelu.how == "expanded"
    assert {leaf.how for leaf in gelu.leaves()} <= {"kernel", "cast", "constant"}
    assert any(leaf.how == "cast" for leaf in gelu.leaves())
    assert placement.loadable
    assert _ort_loads(GELU_HALF) is True


def test_op_with_no_kernel_for_its_type_does_not_load_like_ort():
    placement = _placement(RELU_BF16, [CPU])
    (relu,) = placement.nodes
    assert relu.how == "none"
    assert relu.statuses[CPU].status == "none"
    assert "bfloat16" in relu.statuses[CPU].reason
    assert not placement.loadable
    assert _ort_loads(RELU_BF16) is False


def test_cuda_fallback_splits_partitions_and_adds_device_copies():
    placement = _placement(FALLBACK_CHAIN, [CUDA, CPU])
    conv, lpnorm, relu = placement.nodes
    assert conv.provider == CUDA and relu.provider == CUDA
    assert lpnorm.provider == CPU
    assert lpnorm.statuses[CUDA].status == "fallback"
    cuda = placement.summaries[CUDA]
    assert cuda.predicted_nodes == 2
    assert cuda.partitions == 2
    assert cuda.device_copies == 2
    assert cuda.fallback_nodes == [lpnorm.node.name]
    assert placement.summaries[CPU].predicted_nodes == 1


def test_cpu_is_appended_when_missing_like_ort():
    placement = _placement(FALLBACK_CHAIN, [CUDA])
    assert placement.providers == [CUDA, CPU]
    assert placement.loadable


@pytest.mark.parametrize("providers", [[CPU], [CUDA, CPU]])
def test_float_chain_is_fully_placed(providers):
    placement = _placement(
        """<ir_version: 10, opset_import: ["" : 17]>
        g (float[2,3] x) => (float[2,3] y) { a = Relu(x)
          y = Sigmoid(a) }""",
        providers,
    )
    assert [n.provider for n in placement.nodes] == [providers[0]] * 2
    assert placement.summaries[providers[0]].partitions == 1
    assert placement.summaries[providers[0]].device_copies == 0
