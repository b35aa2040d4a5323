"""verify --localize against a torch module: the dynamo exporter's value names map onto the
torch.export FX nodes, so a defect planted in the exported ONNX is located by comparing with
torch's own intermediates (real torch.onnx export, real onnxruntime session)."""

from __future__ import annotations

import warnings

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from analyzer.runtime.torch_intermediates import fx_value_names
from analyzer.runtime.verify import verify

torch = pytest.importorskip("torch")


class _Net(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(8, 16)
        self.norm = torch.nn.LayerNorm(16)
        self.out = torch.nn.Linear(16, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(torch.relu(self.norm(torch.tanh(self.fc(x)) * 2.0)))


@pytest.fixture(scope="module")
def exported() -> tuple[torch.nn.Module, onnx.ModelProto]:
    torch.manual_seed(0)
    net = _Net().eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(net, (torch.randn(2, 8),), dynamo=True, opset_version=18,
                                    verbose=False)
    assert program is not None
    return net, program.model_proto


def _norm_node(model: onnx.ModelProto) -> onnx.NodeProto:
    return next(n for n in model.graph.node if n.op_type == "LayerNormalization")


def test_dynamo_value_names_are_read_from_fx_metadata(
        exported: tuple[torch.nn.Module, onnx.ModelProto]) -> None:
    _, model = exported
    names = fx_value_names(model)
    outputs = {o for n in model.graph.node for o in n.output}
    assert names and names <= outputs
    assert _norm_node(model).output[0] in names


def test_planted_defect_is_localized_against_torch_intermediates(
        exported: tuple[torch.nn.Module, onnx.ModelProto]) -> None:
    net, model = exported
    bad = onnx.ModelProto()
    bad.CopyFrom(model)
    norm = _norm_node(bad)
    scale = next(i for i in bad.graph.initializer if i.name == norm.input[1])
    changed = numpy_helper.to_array(scale).copy()
    changed[3] += 0.5  # the LayerNorm's gamma, one element: only torch can tell it is wrong
    scale.CopyFrom(numpy_helper.from_array(changed.astype(np.float32), scale.name))

    result = verify(bad, reference=net, samples=2, localize=True)
    assert not result.passed
    loc = result.localization
    assert loc is not None
    assert loc.op == "LayerNormalization"
    assert loc.output == norm.output[0]
    assert "torch.export" in loc.compared_with
    # the node's data input (the Mul before it) still agrees with torch
    assert loc.inputs_max_abs[norm.input[0]] is not None
    assert loc.inputs_max_abs[norm.input[0]] < 1e-4


def test_untouched_export_passes_against_torch(
        exported: tuple[torch.nn.Module, onnx.ModelProto]) -> None:
    net, model = exported
    result = verify(model, reference=net, samples=2, localize=True)
    assert result.passed
    assert result.localization is None
