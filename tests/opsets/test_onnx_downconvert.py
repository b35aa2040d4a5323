"""opsets/data/onnx_downconvert.json: onnx's version converter from opset 18, measured per op."""

from __future__ import annotations

import json
import logging
import warnings
from typing import Any

import onnx
import pytest

from opsets.generators.onnx_downconvert import (
    DOWN_TARGETS,
    build_downconvert_table,
    probe_model,
)
from opsets.generators.write import DOWNCONVERT_JSON, without_date
from opsets.onnx_downconvert import load_downconvert


def test_shipped_table_matches_installed_onnx() -> None:
    shipped = without_date(json.loads(DOWNCONVERT_JSON.read_text(encoding="utf-8")))
    fresh = build_downconvert_table()
    diffs = [
        op
        for op in sorted(shipped["ops"].keys() | fresh["ops"].keys())
        if shipped["ops"].get(op) != fresh["ops"].get(op)
    ]
    other = [k for k in ("provenance", "skipped") if shipped[k] != fresh[k]]
    if diffs or other:
        pytest.fail(
            f"opsets/data/onnx_downconvert.json is out of date: ops {diffs[:5]} "
            f"({len(diffs)} in all) and {other} differ from the installed onnx\n"
            "run `python -m opsets.generate` and review the diff",
            pytrace=False,
        )


def test_every_opset18_op_is_probed_or_skipped_with_a_reason() -> None:
    table = load_downconvert()
    at18 = set()
    for schema in onnx.defs.get_all_schemas_with_history():
        if schema.domain == "" and schema.since_version <= 18:
            at18.add(schema.name)
    assert set(table.ops()) | set(table.skipped) == at18
    # only ops deprecated at opset 18 have no probe
    assert all(reason.startswith("deprecated") for reason in table.skipped.values())
    assert len(table.ops()) >= 180


def test_probes_are_valid_opset18_models() -> None:
    for op in ("Split", "Resize", "If", "Scan", "ReduceMean", "LayerNormalization"):
        model = probe_model(op)
        onnx.checker.check_model(model, full_check=True)
        assert model.opset_import[0].version == 18


# ---------------------------------------------------------------------------------------------
# facts (onnx 1.23.2)


def test_layer_normalization_does_not_go_below_17() -> None:
    table = load_downconvert()
    assert table.converts("LayerNormalization", 18, 17) is True
    assert table.converts("LayerNormalization", 18, 16) is False
    assert table.reason("LayerNormalization", 16) == (
        "No Previous Version of LayerNormalization exists"
    )


def test_hardswish_not_below_14() -> None:
    table = load_downconvert()
    assert table.converts("HardSwish", to_opset=14) is True
    assert table.converts("HardSwish", to_opset=13) is False


def test_relu_and_add_stop_at_14() -> None:
    """onnx has no down adapter for Relu-14 or Add-14 (only up adapters), so not even Relu
    reaches opset 13: a model with a Relu exported by dynamo for opset < 14 stays at 18."""
    table = load_downconvert()
    for op in ("Relu", "Add"):
        assert table.converts(op, to_opset=14) is True
        assert table.converts(op, to_opset=13) is False
        assert table.reason(op, 9) == f"No Adapter From Version $14 for {op}"
        record = table.get(op)
        assert record is not None and record.lowest_target() == 14


def test_ops_that_convert_all_the_way() -> None:
    table = load_downconvert()
    for op in ("Acos", "Conv", "Softmax", "ReduceSum", "Unsqueeze"):
        assert table.converts(op, to_opset=7) is True, op
    assert table.converts("Identity", to_opset=15) is False  # Identity-16 has no down adapter


def test_down_conversion_fails_monotonically() -> None:
    """The converter steps down one opset at a time, so a failure at N repeats below N."""
    table = load_downconvert()
    for op in table.ops():
        record = table.get(op)
        assert record is not None
        results = [record.results[t] for t in sorted(DOWN_TARGETS, reverse=True)]
        first_fail = next((i for i, r in enumerate(results) if r is not True), len(results))
        assert all(r is not True for r in results[first_fail:]), op


def test_up_conversion_always_succeeds() -> None:
    table = load_downconvert()
    assert all(table.converts(op, to_opset=23) for op in table.ops())


def test_unmeasured_answers_are_none() -> None:
    table = load_downconvert()
    assert table.converts("NoSuchOp", to_opset=13) is None
    assert table.converts("Relu", from_opset=17, to_opset=13) is None
    assert table.converts("Relu", to_opset=18) is True
    assert table.converts("Relu", to_opset=3) is None
    assert table.reason("Relu", 14) is None
    assert table.reason("Upsample", 9) is not None  # skipped: deprecated


# ---------------------------------------------------------------------------------------------
# the dynamo exporter really keeps opset 18 when the table says "no"


def test_dynamo_export_keeps_opset_18_when_an_op_does_not_convert() -> None:
    torch = pytest.importorskip("torch")
    table = load_downconvert()

    class ReluAdd(torch.nn.Module):
        def forward(self, x: Any) -> Any:
            return torch.relu(x) + 1

    # quiet for this test only: a level left behind would silence the converter for every later
    # test in this worker
    quieted = [logging.getLogger("onnxscript.version_converter"),
               logging.getLogger("torch.onnx._internal.exporter._compat")]
    levels = [lg.level for lg in quieted]
    quieted[0].setLevel(logging.CRITICAL)
    quieted[1].setLevel(logging.ERROR)
    got = {}
    try:
        for opset in (13, 14):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                program = torch.onnx.export(
                    ReluAdd().eval(),
                    (torch.randn(2, 3),),
                    dynamo=True,
                    opset_version=opset,
                    verbose=False,
                )
            ops = {n.op_type for n in program.model_proto.graph.node}
            predicted = all(table.converts(op, to_opset=opset) for op in ops)
            got[opset] = program.model_proto.opset_import[0].version
            assert got[opset] == (opset if predicted else 18), (opset, ops)
    finally:
        for lg, level in zip(quieted, levels, strict=True):
            lg.setLevel(level)
    assert got == {13: 18, 14: 14}
