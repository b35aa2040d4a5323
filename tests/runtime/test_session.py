"""analyzer.runtime.session is the one onnxruntime layer: the only module that constructs an
InferenceSession, one provider-name check, one comparison (analyzer.runtime.compare) and the
runners verify sets side by side."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import onnx
import onnx.parser
import onnxruntime as ort
import pytest

from analyzer.errors import InputError
from analyzer.runtime.compare import compare
from analyzer.runtime.inputs import InputSet
from analyzer.runtime.runners import (
    ExpectedOutputsRunner,
    OnnxReferenceRunner,
    OnnxrtRunner,
    load_model,
)
from analyzer.runtime.session import (
    SessionSpec,
    create_session,
    resolve_providers,
    session_options,
)
from analyzer.runtime.verify import verify

ROOT = Path(__file__).resolve().parents[2]


def _constructs_session(tree: ast.AST) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            if (isinstance(f, ast.Attribute) and f.attr == "InferenceSession") or (
                    isinstance(f, ast.Name) and f.id == "InferenceSession"):
                return True
        if isinstance(node, ast.ImportFrom) and node.module == "onnxruntime" and any(
                a.name == "InferenceSession" for a in node.names):
            return True
    return False


def test_exactly_one_module_constructs_inference_session() -> None:
    found = sorted(
        str(path.relative_to(ROOT))
        for package in ("analyzer", "rewrites")
        for path in (ROOT / package).rglob("*.py")
        if _constructs_session(ast.parse(path.read_text(), str(path))))
    assert found == ["analyzer/runtime/session.py"]


def _model() -> onnx.ModelProto:
    return onnx.parser.parse_model("""
        <ir_version: 8, opset_import: ["": 17]>
        g (float[2, 3] x) => (float[2, 3] y) {
            t = Relu(x)
            y = Add(t, x)
        }
    """)


def test_spec_becomes_session_options() -> None:
    spec = SessionSpec(graph_optimization="disable", intra_op_threads=1, log_severity=4,
                       record_assignment=True)
    opts = session_options(spec)
    assert opts.graph_optimization_level == ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    assert opts.intra_op_num_threads == 1 and opts.log_severity_level == 4
    session = create_session(_model(), spec)
    assert session.get_providers() == ["CPUExecutionProvider"]
    assigned = {sub.ep_name for sub in session.get_provider_graph_assignment_info()}
    assert assigned == {"CPUExecutionProvider"}
    assert SessionSpec(providers=("CUDAExecutionProvider",)).provider_list() == [
        "CUDAExecutionProvider", "CPUExecutionProvider"]


def test_provider_names_one_check() -> None:
    assert resolve_providers(["cpu"]) == ["CPUExecutionProvider"]
    with pytest.raises(InputError) as info:
        resolve_providers(["tpu"])
    assert info.value.code == "USAGE" and "--providers: unknown execution provider" in str(
        info.value.message)
    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("CUDA is available here")
    for call in (lambda: resolve_providers(["cuda"]),
                 lambda: verify(_model(), providers=("cuda",))):
        with pytest.raises(InputError) as info:
            call()
        assert info.value.code == "PROVIDER_UNAVAILABLE"
    assert resolve_providers(["cuda"], available=False) == ["CUDAExecutionProvider"]


def test_max_rel_is_elementwise_and_skips_zero_expected() -> None:
    expected = np.array([0.0, 10.0, 0.1], dtype=np.float32)
    actual = np.array([5.0, 10.5, 0.2], dtype=np.float32)
    parity = compare("y", actual, expected)
    assert parity.max_abs == pytest.approx(5.0)
    assert parity.max_rel == pytest.approx(1.0, rel=1e-5)  # 0.1 / 0.1; the zero is left out
    assert compare("z", np.ones(3), np.zeros(3)).max_rel == 0.0


def test_runners_agree_and_expected_outputs_follow_the_feed() -> None:
    model = _model()
    feeds = [{"x": np.array([[1, -2, 3], [-4, 5, -6]], dtype=np.float32)},
             {"x": np.ones((2, 3), dtype=np.float32)}]
    with OnnxrtRunner(load_model(model)) as ort_runner, OnnxReferenceRunner(model) as ref:
        got = [ort_runner.infer(f) for f in feeds]
        want = [ref.infer(f) for f in feeds]
    assert [list(g) for g in got] == [["y"], ["y"]]
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g["y"], w["y"])
    data = InputSet(feeds, [[w["y"]] for w in want], "given")
    expected = ExpectedOutputsRunner(data, ["y"])
    copy = {"x": feeds[1]["x"].copy()}
    np.testing.assert_array_equal(expected.infer(copy)["y"], want[1]["y"])
    assert ort_runner.name == "onnxruntime" and not ort_runner.is_active
