"""CUDA placement predicted from ORT's kernel list vs a real CUDA session (needs a GPU and
onnxruntime-gpu; skipped elsewhere). The CUDA table comes from ORT's OperatorKernels.md (1.25
line), so these cases use ops whose CUDA support is long-standing."""

from __future__ import annotations

import onnxruntime as ort
import pytest

from analyzer.checks.placement import predict_placement
from analyzer.demo_model import build_demo_model
from analyzer.sources.onnx_inventory import build_inventory, prepare
from tests.fixtures.onnx_models import parse

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"

CASES = {
    "float_chain": """<ir_version: 10, opset_import: ["" : 17]>
        g (float[2,8] x) => (float[2,8] y) { a = Relu(x)
          b = Sigmoid(a)
          y = Softmax(b) }""",
    "lpnorm_fallback": """<ir_version: 10, opset_import: ["" : 20]>
        g (float[1,4,8,8] x, float[4,4,3,3] w) => (float[1,4,6,6] y) {
            c = Conv(x, w)
            h = LpNormalization <axis = 1, p = 2> (c)
            y = Relu(h)
        }""",
}


def _actual(model) -> dict[str, list[str]]:
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.add_session_config_entry("session.record_ep_graph_assignment_info", "1")
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=[CUDA, CPU])
    out: dict[str, list[str]] = {}
    for entry in sess.get_provider_graph_assignment_info():
        out.setdefault(entry.ep_name, []).extend(
            n.op_type for n in entry.get_nodes() if not n.op_type.startswith("Memcpy"))
    return {k: sorted(v) for k, v in out.items()}


def _predicted(model) -> dict[str, list[str]]:
    placement = predict_placement(build_inventory(prepare(model)), [CUDA, CPU])
    out: dict[str, list[str]] = {}
    for leaf in placement.leaves():
        if leaf.provider:
            out.setdefault(leaf.provider, []).append(leaf.node.op)
    return {k: sorted(v) for k, v in out.items()}


@pytest.mark.gpu
@pytest.mark.parametrize("name", sorted(CASES))
def test_cuda_placement_matches_a_real_cuda_session(name):
    model = parse(CASES[name])
    assert _predicted(model) == _actual(model)


@pytest.mark.gpu
def test_demo_model_placement_on_cuda():
    model = build_demo_model()
    predicted, actual = _predicted(model), _actual(model)
    assert predicted.get(CPU) == actual.get(CPU) == ["LpNormalization"]
