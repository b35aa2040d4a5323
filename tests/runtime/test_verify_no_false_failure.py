"""No false failure against a framework (issue 15, item 2): a correct export verified against
the torch module it came from, at verify's DEFAULT settings (3 seeded samples, the framework
float32 tolerances), passes. The torch corpus models of benchmarks/verify_tolerances.py
(tests/fixtures/torch_corpus.py: dense, conv + batchnorm, attention, activations, normalization,
recurrent, einsum, cumsum, resampling), exported with both torch.onnx exporters
(about 35 s). The TF rescue corpus against TensorFlow is in tests/tf_rescue/
test_export_rewrite.py; the measured margins are in docs/verify.md."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from analyzer.runtime.verify import verify

torch = pytest.importorskip("torch")

from tests.fixtures.torch_corpus import CORPUS  # noqa: E402 - needs torch

#: one or more of each kind of layer the corpus has; every one exports with both exporters
SUBSET = ("mlp", "conv_bn_relu", "sdpa", "sdpa_mask", "multihead_attention",
          "transformer_encoder_layer", "gelu", "gelu_tanh", "mish", "silu", "hardswish",
          "layer_norm", "group_norm", "instance_norm", "lstm", "gru", "conv_transpose",
          "timm_like_exportable", "einsum", "interpolate_bilinear", "pixel_shuffle", "cumsum",
          "grid_sample")
BY_NAME = {m.name: m for m in CORPUS}
#: the TorchScript exporter cannot trace this one (nn.MultiheadAttention's fast path passes a
#: tensor as SDPA's is_causal): an export failure, not a verify result
TORCHSCRIPT_FAILS = {"transformer_encoder_layer"}
CASES = [pytest.param(name, dynamo, id=f"{name}-{'dynamo' if dynamo else 'torchscript'}")
         for name in SUBSET for dynamo in (False, True)
         if dynamo or name not in TORCHSCRIPT_FAILS]


@pytest.mark.parametrize(("name", "dynamo"), CASES)
def test_export_passes_against_its_module_at_the_defaults(tmp_path: Path, name: str,
                                                          dynamo: bool) -> None:
    module, args, kwargs = BY_NAME[name].build()
    assert not kwargs and all(isinstance(a, torch.Tensor) for a in args)
    path = tmp_path / f"{name}.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, args, str(path), dynamo=dynamo,
                          opset_version=18 if dynamo else 17, verbose=False)

    result = verify(path, reference=module)

    assert result.reference.lower().startswith("torch"), result.reference
    assert result.samples, "nothing was compared"
    assert result.passed, result.to_json()
    for sample in result.samples:
        for out in sample.outputs:
            # the margin is the worst element's share of its tolerance: a pass is <= 1
            assert out.margin is None or out.margin <= 1.0, (out.name, out.margin)
