"""A rewrite that touches no initializer does not hold the weights: the large ones stay in the
input's data file (analyzer.sources.deferred), onnxruntime verifies each step reading them from
there, and the output's data file gets them a chunk at a time. What could fail: the output's
bytes per tensor, the verification (it must still run on onnxruntime), the rules' constants
(read on demand), the weights coming back after version-convert and a rule's rollback, a forged
mark, and a data file that changes under the rewrite."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnx
import onnx.helper as oh
import onnx.numpy_helper
import pytest

from analyzer.cli.main import main
from analyzer.errors import InputError
from analyzer.onnx_weights import has_deferred, load_with_weights, write_model
from analyzer.runtime.session import SessionSpec, create_session
from analyzer.sources.deferred import DEFERRED_PREFIX, deferred_source, initializer_values
from analyzer.workflows.rewrite_pipeline import run_pass
from rewrites.passes import _restore_weights, _snapshot  # the rollback pair, under test

N = 1024  # each weight [N, N] float32 = 4 MiB; five of them pass DEFER_TOTAL_BYTES (16 MiB)
K = 5


def _build(folder: Path) -> Path:
    """x[1, N] -> K MatMuls summed -> HardSwish (no kernel below opset 14: a rule expands it)
    -> + bias (4 KiB: external, but small) -> ReduceMean-18 with constant axes (the converter's
    adapter reads them). Saved at opset 18 with its weights in model.onnx.data."""
    rng = np.random.default_rng(0)
    inits = [onnx.numpy_helper.from_array(
        (rng.standard_normal((N, N)) * 0.01).astype(np.float32), f"w{k}") for k in range(K)]
    inits.append(onnx.numpy_helper.from_array(rng.standard_normal(N).astype(np.float32), "bias"))
    inits.append(onnx.numpy_helper.from_array(np.array([1], dtype=np.int64), "axes"))
    nodes = [oh.make_node("MatMul", ["x", f"w{k}"], [f"p{k}"], name=f"mm{k}") for k in range(K)]
    nodes += [oh.make_node("Sum", [f"p{k}" for k in range(K)], ["s"], name="sum"),
              oh.make_node("HardSwish", ["s"], ["h"], name="hs"),
              oh.make_node("Add", ["h", "bias"], ["b"], name="add"),
              oh.make_node("ReduceMean", ["b", "axes"], ["y"], name="rm", keepdims=1)]
    graph = oh.make_graph(nodes, "deferred",
                          [oh.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, N])],
                          [oh.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 1])], inits)
    model = oh.make_model(graph, opset_imports=[oh.make_opsetid("", 18)])
    model.ir_version = 9
    path = folder / "model.onnx"
    onnx.save_model(model, str(path), save_as_external_data=True, location="model.onnx.data")
    return path


@pytest.fixture()
def model_path(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    return _build(folder)


def _tensors(path: Path) -> dict[str, bytes]:
    model = onnx.load(str(path))
    return {t.name: onnx.numpy_helper.to_array(t).tobytes() for t in model.graph.initializer}


def _run(path: Path, x: np.ndarray) -> np.ndarray:
    return create_session(str(path), SessionSpec(log_severity=None)).run(None, {"x": x})[0]


def test_output_data_file_holds_the_inputs_bytes_per_tensor(model_path: Path,
                                                            tmp_path: Path) -> None:
    out = tmp_path / "out" / "rewritten.onnx"
    out.parent.mkdir()
    assert main(["rewrite", str(model_path), "-o", str(out), "--target-opset", "13"]) == 0
    written = onnx.load(str(out), load_external_data=False)
    assert written.opset_import[0].version == 13
    assert {n.op_type for n in written.graph.node} >= {"HardSigmoid", "Mul"}  # rule applied
    before, after = _tensors(model_path), _tensors(out)
    for k in range(K):
        assert after[f"w{k}"] == before[f"w{k}"]
    assert after["bias"] == before["bias"]
    # weights only in the output's own data file, no mark left in the file
    for tensor in written.graph.initializer:
        assert not tensor.doc_string.startswith(DEFERRED_PREFIX)
        assert {e.value for e in tensor.external_data if e.key == "location"} <= {
            "rewritten.onnx.data"}
    assert sorted(p.name for p in out.parent.iterdir()) == ["rewritten.onnx",
                                                            "rewritten.onnx.data"]
    x = np.random.default_rng(1).standard_normal((1, N)).astype(np.float32)
    np.testing.assert_allclose(_run(out, x), _run(model_path, x), rtol=1e-5, atol=1e-6)


def test_the_pass_verifies_on_onnxruntime_without_holding_the_weights(model_path: Path) -> None:
    loaded = load_with_weights(model_path, defer_weights=True)
    assert has_deferred(loaded.model)
    held = sum(len(t.raw_data) for t in loaded.model.graph.initializer)
    assert held < 64 * 1024  # the small bias and axes only: read when loaded
    assert deferred_source(next(t for t in loaded.model.graph.initializer
                                if t.name == "bias")) is None
    passed = run_pass(loaded.model, target_opset=13, consume=True)
    result = passed.result
    assert passed.reached
    assert result.verified_with == "onnxruntime CPU"
    assert [e.status for e in result.log if e.rule == "onnx:version-convert"] == ["applied"]
    weights = [t for t in result.model.graph.initializer if t.name.startswith("w")]
    assert len(weights) == K and all(deferred_source(t) is not None for t in weights)
    assert sum(len(t.raw_data) for t in result.model.graph.initializer) < 64 * 1024


def test_never_inlines_the_deferred_weights(model_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "inline.onnx"
    assert main(["rewrite", str(model_path), "-o", str(out), "--target-opset", "13",
                 "--external-data", "never"]) == 0
    assert not (tmp_path / "inline.onnx.data").exists()
    written = onnx.load(str(out), load_external_data=False)
    assert not any(t.data_location == onnx.TensorProto.EXTERNAL
                   for t in written.graph.initializer)
    before, after = _tensors(model_path), _tensors(out)
    assert all(after[f"w{k}"] == before[f"w{k}"] for k in range(K))


def test_a_data_file_that_shrinks_under_the_rewrite_leaves_no_output(model_path: Path,
                                                                     tmp_path: Path) -> None:
    loaded = load_with_weights(model_path, defer_weights=True)
    data = model_path.parent / "model.onnx.data"
    os.truncate(data, data.stat().st_size // 2)
    out = tmp_path / "out.onnx"
    with pytest.raises(InputError, match="changed since the model was loaded") as caught:
        write_model(loaded.model, out, input_external=True, protect=[model_path, data])
    assert caught.value.code == "EXTERNAL_DATA_OUT_OF_BOUNDS"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]


def test_a_forged_mark_reads_nothing(model_path: Path) -> None:
    """A model built elsewhere whose external tensor carries the mark is not deferred: it has no
    folder, so it is refused as any in-memory model with external data is."""
    model = onnx.load(str(model_path), load_external_data=False)
    tensor = model.graph.initializer[0]
    tensor.doc_string = DEFERRED_PREFIX + "0" * 32
    assert deferred_source(tensor) is None
    with pytest.raises(InputError, match="EXTERNAL_DATA_NEEDS_PATH|external data"):
        load_with_weights(model)


def test_constants_read_a_deferred_weight_only_on_lookup(model_path: Path) -> None:
    loaded = load_with_weights(model_path, defer_weights=True)
    values = initializer_values(loaded.model.graph.initializer)
    assert set(dict.keys(values)) == {"bias", "axes"}  # the weights: not read yet
    assert "w0" in values
    want = onnx.numpy_helper.to_array(onnx.load(str(model_path)).graph.initializer[0])
    np.testing.assert_array_equal(values["w0"], want)
    header = onnx.TensorProto(name="h", data_type=onnx.TensorProto.FLOAT, dims=[4, 4])
    assert "h" not in initializer_values([header])  # a weightless copy's header: no value


def test_a_rollback_snapshot_takes_the_references_back(model_path: Path) -> None:
    """A rule's rollback snapshot holds headers; restoring it puts each deferred reference back
    (not empty bytes), so a rolled-back model still runs with its weights."""
    loaded = load_with_weights(model_path, defer_weights=True)
    snapshot = _snapshot(loaded.model)
    assert not any(deferred_source(t) for t in snapshot.graph.initializer)  # headers only
    _restore_weights(snapshot, loaded.model)
    assert sum(deferred_source(t) is not None for t in snapshot.graph.initializer) == K
    out = model_path.parent / "restored.onnx"
    write_model(snapshot, out, input_external=True)
    assert _tensors(out)["w3"] == _tensors(model_path)["w3"]
