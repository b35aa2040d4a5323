"""The pass's verification inputs for integer index inputs: a model that cannot run on the
default random draw (an index past a computed axis) is verified on a smaller draw instead, and
one that runs on no draw keeps its steps as unverified, never rolled back as a failure."""

from __future__ import annotations

import numpy as np
import onnx
import onnx.parser

from analyzer.runtime.inputs import INT_HIGH, random_inputs, runnable_inputs
from analyzer.runtime.session import create_session
from rewrites import apply
from rewrites.onnx.target_check import delivered_opset

# idx indexes axis 1 of Relu(x) (6 long): the default draw ([0, 16)) is out of range, and no
# initializer says so (an embedding table would)
INDEXED = onnx.parser.parse_model(
    '<ir_version: 8, opset_import: ["" : 18]>\n'
    "g (float[2,6] x, int64[2,3] idx, float[2,3] u) => (float[2,6] y, float[2,3] z) {\n"
    "  r = Relu(x)\n"
    "  y = ScatterElements<axis=1>(r, idx, u)\n"
    "  z = GatherElements<axis=1>(r, idx)\n}"
)

# the shape input cannot be right on any draw with allowzero=1 (12 elements; zeros, [0, 2) and
# this seed's [0, 16) draw give no product of 12)
NEVER_RUNS = onnx.parser.parse_model(
    '<ir_version: 8, opset_import: ["" : 18]>\n'
    "g (float[2,6] x, int64[3] shape) => (float[?] y) {\n"
    "  r = Relu(x)\n  y = Reshape<allowzero=1>(r, shape)\n}"
)


def _run(model: onnx.ModelProto, samples: list[dict[str, np.ndarray]]) -> list[list[np.ndarray]]:
    session = create_session(model)
    return [list(session.run(None, s)) for s in samples]


def test_the_default_draw_is_out_of_range_for_a_computed_axis() -> None:
    # the premise, measured: the original cannot run on the default draw
    first = random_inputs(INDEXED, samples=2, seed=0)
    assert max(int(s["idx"].max()) for s in first.samples) >= 6
    assert INT_HIGH > 6
    try:
        _run(INDEXED, first.samples)
    except Exception as exc:  # noqa: BLE001 - ORT's out-of-bounds error
        assert "out of" in str(exc).lower()
    else:
        raise AssertionError("the original ran on the default draw")


def test_runnable_inputs_draws_the_integer_inputs_again_and_says_so() -> None:
    found = runnable_inputs(INDEXED, lambda s: _run(INDEXED, s), samples=2, seed=0)
    assert found.error is None and found.outputs is not None
    assert all(int(s["idx"].max()) < 2 for s in found.inputs.samples)
    # the floats are the default draw's: only the integer inputs changed
    first = random_inputs(INDEXED, samples=2, seed=0)
    np.testing.assert_array_equal(found.inputs.samples[0]["x"], first.samples[0]["x"])
    assert any("idx" in n and "below 2" in n for n in found.inputs.notes)


def test_runnable_inputs_reports_a_model_that_runs_on_no_draw() -> None:
    found = runnable_inputs(NEVER_RUNS, lambda s: _run(NEVER_RUNS, s), samples=2, seed=0)
    assert found.outputs is None
    assert found.error is not None and "shape" in found.error and "as zeros" in found.error


def test_conversion_with_an_index_input_is_verified_not_rolled_back() -> None:
    result = apply(INDEXED, target_opset=17)
    step = [e for e in result.log if e.rule == "onnx:version-convert"]
    assert [e.status for e in step] == ["applied"], step
    assert "unverified" not in (step[0].reason or "")
    assert result.blocked is None and delivered_opset(result.model) == 17
    assert step[0].max_abs_error == 0.0 and result.verified_with is not None
    # verified on the inputs the original runs on, and they are the ones handed on
    assert result.feeds is not None and all(int(s["idx"].max()) < 2 for s in result.feeds)


def test_a_model_that_runs_on_no_draw_is_converted_unverified() -> None:
    result = apply(NEVER_RUNS, target_opset=17)
    step = [e for e in result.log if e.rule == "onnx:version-convert"]
    assert [e.status for e in step] == ["applied"], step
    note = step[0].reason or ""
    assert note.startswith("unverified: the model before does not run on the verification "
                           "inputs (") and "does not run on them either" in note
    assert result.blocked is None and delivered_opset(result.model) == 17
