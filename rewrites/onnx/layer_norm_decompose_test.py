"""onnx:layer-norm-decompose from ONNX text: firings, node counts, the ReduceMean form of each
opset, full check, and parity with onnxruntime's own LayerNormalization kernel."""

from __future__ import annotations

from collections import Counter

import numpy as np
import onnx
import onnx.checker
import onnx.parser
import pytest

from analyzer.runtime.session import create_session
from rewrites import apply
from rewrites.onnx.layer_norm_decompose import LayerNormDecompose

RULES = (LayerNormDecompose(),)


def _model(opset: int, attrs: str, elem: str = "float", outputs: str = "",
           bias: bool = True) -> onnx.ModelProto:
    extra = ", b" if bias else ""
    outs = f"y{', ' + outputs if outputs else ''}"
    decl = "".join(f", float[2,1,1] {o}" for o in outputs.split(", ") if o) if outputs else ""
    return onnx.parser.parse_model(
        f'<ir_version: 9, opset_import: ["" : {opset}]>\n'
        f"g ({elem}[2,3,4] x, {elem}[3,4] s{', ' + elem + '[3,4] b' if bias else ''}) => "
        f"({elem}[2,3,4] y{decl}) {{ {outs} = LayerNormalization<{attrs}>(x, s{extra}) }}"
    )


def _run(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    session = create_session(model)
    return list(session.run(None, feeds))


def _feeds(model: onnx.ModelProto) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    out = {}
    for i in model.graph.input:
        elem = onnx.helper.tensor_dtype_to_np_dtype(i.type.tensor_type.elem_type)
        shape = [d.dim_value for d in i.type.tensor_type.shape.dim]
        out[i.name] = (rng.standard_normal(shape) * 3 + 1).astype(elem)
    return out


CASES = [
    ("opset17-last-axis", _model(17, "axis=-1, epsilon=0.001"), 17),
    ("opset18-axis1", _model(18, "axis=1"), 18),
    ("opset21-no-bias", _model(21, "axis=-2", bias=False), 21),
    ("opset18-mean-invstd", _model(18, "axis=-2", outputs="mean, inv"), 18),
]


@pytest.mark.parametrize(("name", "model", "opset"), CASES, ids=[c[0] for c in CASES])
def test_decomposes_layer_norm(name: str, model: onnx.ModelProto, opset: int) -> None:
    original = model.SerializeToString()
    result = apply(model, rules=RULES)
    assert model.SerializeToString() == original
    assert [e.status for e in result.log] == ["applied"]
    ops = Counter(n.op_type for n in result.model.graph.node)
    assert ops["LayerNormalization"] == 0 and ops["ReduceMean"] == 2
    reduce = [n for n in result.model.graph.node if n.op_type == "ReduceMean"]
    # The ReduceMean form of the opset: axes as an input from 18, as an attribute below.
    assert all((len(n.input) == 2) == (opset >= 18) for n in reduce)
    assert all(any(a.name == "axes" for a in n.attribute) == (opset < 18) for n in reduce)
    consts = ops["Constant"]
    assert sum(ops.values()) - consts == len(result.log[0].added)
    onnx.checker.check_model(result.model, full_check=True)
    feeds = _feeds(model)
    for got, want in zip(_run(result.model, feeds), _run(model, feeds), strict=True):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_stash_type_is_honoured_for_float16() -> None:
    model = _model(17, "axis=-1", elem="float16")
    result = apply(model, rules=RULES)
    assert [e.status for e in result.log] == ["applied"]
    casts = [n for n in result.model.graph.node if n.op_type == "Cast"]
    # statistics in float32 (stash_type 1), the normalized value back to float16
    assert [c.attribute[0].i for c in casts] == [onnx.TensorProto.FLOAT,
                                                 onnx.TensorProto.FLOAT16]
    feeds = _feeds(model)
    got, want = _run(result.model, feeds)[0], _run(model, feeds)[0]
    assert got.dtype == np.float16
    np.testing.assert_allclose(got.astype(np.float32), want.astype(np.float32), rtol=2e-3,
                               atol=2e-3)


def test_below_opset_17_uses_the_attribute_form_and_matches_opset_17() -> None:
    # LayerNormalization has no schema at opset 13 (SCH202), but onnxruntime registers a kernel
    # for it in the onnx domain at versions 1-16, so the pass verifies against that; the result
    # is also checked against the same node at opset 17.
    low, ref = _model(13, "axis=-1"), _model(17, "axis=-1")
    result = apply(low, rules=RULES)
    assert [e.status for e in result.log] == ["applied"]
    assert result.verified_with == "onnxruntime CPU"
    onnx.checker.check_model(result.model, full_check=True)
    feeds = _feeds(ref)
    np.testing.assert_allclose(_run(result.model, feeds)[0], _run(ref, feeds)[0], rtol=1e-4,
                               atol=1e-5)


def test_reason_for_unknown_rank_with_positive_axis() -> None:
    model = onnx.parser.parse_model(
        '<ir_version: 9, opset_import: ["" : 17]>\n'
        "g (float[3,4] s, float x_shape_unknown) => (float y) "
        "{ x = Identity(x_shape_unknown)\n y = LayerNormalization<axis=1>(x, s) }"
    )
    # drop the input's shape: rank unknown
    model.graph.input[1].type.tensor_type.ClearField("shape")
    result = apply(model, rules=RULES)
    assert [e.status for e in result.log] == ["skipped"]
    assert "unknown rank" in (result.log[0].reason or "")
