"""Every onnx-package test case that ships expected outputs verifies on ORT's CPU provider.

The cases that cannot run are listed with their cause: ORT no longer has kernels for opsets
below 7 (the 2017-era pytorch exports target opset 6 or 1), it does not implement the training
preview domain, and StringNormalizer needs an en_US.UTF-8 locale the host may lack."""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest
from onnx import numpy_helper

from analyzer.errors import InputError
from analyzer.runtime.inputs import InputSet, graph_inputs
from analyzer.runtime.verify import verify
from tests.fixtures.onnx_models import ONNX_TEST_DATA

_OPSET6 = "Could not find an implementation for"
# Genuine ORT gaps: the load fails with this text on every host.
ORT_CANNOT_RUN: dict[str, str] = {
    **{f"test_AvgPool{d}": f"{_OPSET6} AveragePool(1)" for d in
       ("1d", "1d_stride", "2d", "2d_stride", "3d", "3d_stride", "3d_stride1_pad0_gpu_input")},
    **{f"test_BatchNorm{d}": f"{_OPSET6} BatchNormalization(6)" for d in
       ("1d_3d_input_eval", "2d_eval", "2d_momentum_eval", "3d_eval", "3d_momentum_eval")},
    **{f"test_PReLU_{d}": f"{_OPSET6} PRelu(6)" for d in
       ("1d", "1d_multiparam", "2d", "2d_multiparam", "3d", "3d_multiparam")},
    "test_GLU": f"{_OPSET6} Mul(6)",
    "test_GLU_dim": f"{_OPSET6} Mul(6)",
    "test_PoissonNLLLLoss_no_reduce": f"{_OPSET6} Mul(6)",
    "test_Linear": f"{_OPSET6} Gemm(6)",
    "test_operator_addmm": f"{_OPSET6} Gemm(6)",
    "test_operator_mm": f"{_OPSET6} Gemm(6)",
    "test_operator_pow": f"{_OPSET6} Pow(1)",
    **{name: f"{_OPSET6} Add(6)" for name in (
        "test_Softsign", "test_operator_add_broadcast", "test_operator_add_size1_broadcast",
        "test_operator_add_size1_right_broadcast", "test_operator_add_size1_singleton_broadcast",
        "test_operator_addconstant", "test_operator_basic", "test_operator_non_float_params",
        "test_operator_params")},
    "test_gradient_of_add": "ai.onnx.preview.training:Gradient(-1) is not a registered",
    "test_gradient_of_add_and_mul": "ai.onnx.preview.training:Gradient(-1) is not a registered",
}
# Depend on the host: StringNormalizer builds an en_US.UTF-8 locale.
HOST_DEPENDENT: dict[str, str] = {
    f"test_strnorm_model_monday_{d}": "Failed to construct locale" for d in (
        "casesensintive_lower", "casesensintive_upper", "empty_output",
        "insensintive_upper_twodim")
}


def _cases() -> list[Path]:
    out: list[Path] = []
    for sub in ("pytorch-converted", "pytorch-operator", "simple"):
        out += sorted(p.parent for p in (ONNX_TEST_DATA / sub).glob("*/model.onnx")
                      if any(p.parent.glob("test_data_set_*")))
    return out


CASES = _cases()


def test_the_corpus_is_there() -> None:
    assert len(CASES) >= 140
    assert set(ORT_CANNOT_RUN) | set(HOST_DEPENDENT) <= {c.name for c in CASES}


@pytest.mark.parametrize("case", CASES, ids=[f"{c.parent.name}/{c.name}" for c in CASES])
def test_case_verifies_on_cpu(case: Path) -> None:
    try:
        result = verify(case / "model.onnx", reference=case)
    except InputError as exc:
        cause = ORT_CANNOT_RUN.get(case.name) or HOST_DEPENDENT.get(case.name)
        if cause is None:
            pytest.fail(f"unexpected: {exc}")
        assert cause in str(exc)
        if case.name in HOST_DEPENDENT:
            pytest.skip(f"host lacks what ORT needs: {cause}")
        return
    assert case.name not in ORT_CANNOT_RUN, "listed as failing but it ran: update the list"
    failures = [(s.index, o.name, o.max_abs, o.max_rel, o.note)
                for s in result.samples for o in s.outputs if not o.passed]
    assert result.passed, failures
    assert result.samples, "no test_data_set was compared"


LIGHT = sorted((ONNX_TEST_DATA / "light").glob("light_*.onnx"))


@pytest.mark.parametrize("path", LIGHT, ids=[p.stem for p in LIGHT])
def test_light_model_with_the_runners_dummy_inputs(path: Path) -> None:
    """light/ ships no inputs: its outputs were made from the onnx runner's deterministic dummy
    data, which is rebuilt here with the runner's own generator."""
    from onnx.backend.test.runner import Runner

    model = onnx.load(path)
    outputs = [path.with_name(f"{path.stem}_output_{k}.pb") for k in range(len(model.graph.output))]
    if not all(p.exists() for p in outputs):
        pytest.skip("no expected outputs shipped")
    name = path.stem[len("light_"):]
    feeds = {vi.name: Runner.generate_dummy_data(vi, seed=0, name=name, random=False)
             for vi in graph_inputs(model)}
    expected = [numpy_helper.to_array(onnx.load_tensor(str(p))) for p in outputs]
    result = verify(path, inputs=InputSet([feeds], [expected], "onnx runner dummy data"))
    assert result.passed, result.to_dict()["samples"]
