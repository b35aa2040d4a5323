"""A session made from a ModelProto with large weights gets them as arrays ORT uses in place
(analyzer.runtime.session.SHARE_WEIGHTS_BYTES) instead of inside the serialized bytes: the
outputs must be exactly those of the same model given as bytes, and the caller's proto is left
as it was."""

from __future__ import annotations

import numpy as np
import onnx
import onnx.helper
import onnx.numpy_helper
import pytest

from analyzer.onnx_weights import weightless_copy
from analyzer.runtime.session import (
    SHARE_WEIGHTS_BYTES,
    SessionSpec,
    create_fed_session,
    create_session,
)
from analyzer.sources.weightless import check_model_weightless


def _model(n: int, count: int) -> onnx.ModelProto:
    rng = np.random.default_rng(1)
    inits = [onnx.numpy_helper.from_array(rng.standard_normal((n, n)).astype(np.float32),
                                          f"w{k}") for k in range(count)]
    inits.append(onnx.numpy_helper.from_array(np.arange(n, dtype=np.int64), "small"))
    nodes = [onnx.helper.make_node("MatMul", ["x", f"w{k}"], [f"p{k}"]) for k in range(count)]
    nodes.append(onnx.helper.make_node("Sum", [f"p{k}" for k in range(count)], ["s"]))
    nodes.append(onnx.helper.make_node("Cast", ["small"], ["c"], to=onnx.TensorProto.FLOAT))
    nodes.append(onnx.helper.make_node("Add", ["s", "c"], ["y"]))
    graph = onnx.helper.make_graph(
        nodes, "g", [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, n])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, n])], inits)
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 18)])
    model.ir_version = 9
    return model


def test_shared_weights_give_the_outputs_of_the_bytes() -> None:
    n = 1024
    count = SHARE_WEIGHTS_BYTES // (n * n * 4) + 1
    model = _model(n, count)
    before = model.SerializeToString()
    x = np.random.default_rng(2).standard_normal((1, n)).astype(np.float32)
    shared = create_session(model)
    assert hasattr(shared, "preflight_shared_weights")  # the shared path was taken
    plain = create_session(before)
    np.testing.assert_array_equal(shared.run(None, {"x": x})[0], plain.run(None, {"x": x})[0])
    assert model.SerializeToString() == before


def test_weightless_copy_keeps_everything_but_the_large_bytes() -> None:
    model = _model(256, 2)
    light, big = weightless_copy(model, 1 << 16)
    assert [t.name for t in big] == ["w0", "w1"]
    assert light.graph.node == model.graph.node and light.opset_import == model.opset_import
    by_name = {t.name: t for t in light.graph.initializer}
    assert not by_name["w0"].HasField("raw_data") and list(by_name["w0"].dims) == [256, 256]
    assert by_name["small"] == model.graph.initializer[2]


def test_an_overridable_weight_still_runs() -> None:
    """IR 3: every initializer is also a graph input (a default the caller may override); the
    session must run the same, shared or not."""
    n = 1024
    model = _model(n, SHARE_WEIGHTS_BYTES // (n * n * 4) + 1)
    model.ir_version = 3
    model.opset_import[0].version = 9
    del model.graph.node[-3:]  # keep the MatMuls, summed
    model.graph.node.append(onnx.helper.make_node("Sum", [n.output[0] for n in model.graph.node],
                                                  ["y"]))
    for tensor in model.graph.initializer:
        model.graph.input.append(onnx.helper.make_tensor_value_info(
            tensor.name, tensor.data_type, list(tensor.dims)))
    x = np.ones((1, n), np.float32)
    shared = create_session(model).run(None, {"x": x})[0]
    plain = create_session(model.SerializeToString()).run(None, {"x": x})[0]
    np.testing.assert_array_equal(shared, plain)


def test_a_fed_session_runs_like_the_bytes_with_its_weights_as_inputs() -> None:
    """create_fed_session: the large weights become graph inputs fed from arrays (ORT copies
    initializers handed to it, never a contiguous input); the outputs are exactly those of the
    bytes, the small int64 initializer stays an initializer, the caller's proto is unchanged."""
    n = 1024
    model = _model(n, SHARE_WEIGHTS_BYTES // (n * n * 4) + 1)
    before = model.SerializeToString()
    x = np.random.default_rng(3).standard_normal((1, n)).astype(np.float32)
    # as the rewrite's verification runs them: no graph optimization, no prepacking (a packed
    # constant weight sums in another order than a fed one)
    spec = SessionSpec(graph_optimization="disable", config={"session.disable_prepacking": "1"})
    fed = create_fed_session(model, spec)
    assert sorted(fed.weights) == sorted(t.name for t in model.graph.initializer
                                         if t.name != "small")
    assert {i.name for i in fed.session.get_inputs()} == {"x", *fed.weights}
    plain = create_session(before, spec)
    np.testing.assert_array_equal(fed.run(None, {"x": x})[0], plain.run(None, {"x": x})[0])
    assert model.SerializeToString() == before
    small = _model(64, 2)  # below SHARE_WEIGHTS_BYTES: a plain session, nothing fed
    assert create_fed_session(small).weights == {}


def test_the_checker_without_the_weights_bytes_finds_what_it_finds_with_them() -> None:
    """check_model_weightless: a sound model with 16 MiB of weights or more passes, a broken
    graph and a weight whose bytes do not fit its shape are refused as onnx.checker refuses
    them; a small model is left to the caller (False)."""
    n = 1024
    count = SHARE_WEIGHTS_BYTES // (n * n * 4) + 1
    assert check_model_weightless(_model(n, count), full_check=True)
    broken = _model(n, count)
    broken.graph.node[0].input[0] = "nowhere"
    with pytest.raises(onnx.checker.ValidationError, match="nowhere"):
        check_model_weightless(broken)
    short = _model(n, count)
    short.graph.initializer[0].raw_data = short.graph.initializer[0].raw_data[:-4]
    with pytest.raises(onnx.checker.ValidationError, match="too small"):
        check_model_weightless(short)
    with pytest.raises(onnx.checker.ValidationError, match="too small"):
        onnx.checker.check_model(short)  # the same verdict as on the proto
    assert check_model_weightless(_model(64, 2)) is False
