"""The blocking-ops summary of a scan: which ops block the most models, grouped per opset and
exporter (export blockers) and per provider (runtime blockers)."""

from __future__ import annotations

from analyzer.report.scan_summary import blocking_summary, verdict_counts
from tests.fixtures.scan_matrices import (
    CUDA,
    GQA,
    HOSTILE_SOURCE,
    LAYER_NORM,
    cell,
    finding,
    small_matrix,
)


def _key(e: dict) -> tuple:
    return (e["op"], e["opset"], e["exporter"], e["provider"], e["models"])


def test_ops_are_ranked_by_the_models_they_block():
    entries = blocking_summary(small_matrix()["cells"])
    assert [_key(e) for e in entries] == [
        (LAYER_NORM, 13, "dynamo", None, 3),
        (GQA, None, None, CUDA, 2),           # 2 models; G before L at equal counts
        (LAYER_NORM, 13, "torchscript", None, 2),
        ("Frobnicate", 13, None, None, 1),    # an ONNX file, at its own opset
    ]
    first = entries[0]
    assert first["kind"] == "export" and first["domain"] == "ai.onnx"
    assert first["sources"] == sorted(["zoo.models:bert", "zoo.models:gpt", HOSTILE_SOURCE])
    assert first["finding_ids"] == ["EXP101"]


def test_a_runtime_blocker_is_one_entry_per_provider_over_opsets_and_exporters():
    cells = [cell("m1", 13, "dynamo", "fail", [finding("EP301", "Gqa", provider=CUDA)]),
             cell("m1", 17, "dynamo", "fail", [finding("EP301", "Gqa", provider=CUDA)]),
             cell("m1", 17, "torchscript", "fail", [finding("EP301", "Gqa", provider=CUDA)]),
             cell("m2", 18, "torchscript", "fail", [finding("EP305", "Gqa", provider=CUDA)]),
             cell("m2", 18, "dynamo", "fail", [finding("EP301", "Gqa", provider="Other")])]
    cuda, other = blocking_summary(cells)
    assert (cuda["provider"], cuda["models"], cuda["cells"]) == (CUDA, 2, 4)
    assert cuda["opsets"] == [13, 17, 18] and cuda["finding_ids"] == ["EP301", "EP305"]
    assert cuda["kind"] == "runtime" and cuda["opset"] is None and cuda["exporter"] is None
    assert (other["provider"], other["models"]) == ("Other", 1)


def test_two_findings_on_one_op_in_one_cell_count_that_model_once():
    entries = blocking_summary(small_matrix()["cells"])
    frob = next(e for e in entries if e["op"] == "Frobnicate")
    assert frob["models"] == 1 and frob["cells"] == 1
    assert frob["finding_ids"] == ["SCH201", "SCH203"] and frob["domain"] == "com.example"


def test_warnings_and_findings_without_an_op_block_nothing():
    cells = [cell("m", 17, "dynamo", "warn", [finding("EP302", "Gelu", severity="warning",
                                                      provider=CUDA)]),
             cell("m", 18, "dynamo", "fail", [finding("TRC401", None)]),
             cell("m", 13, "dynamo", "crashed", error="died")]
    assert blocking_summary(cells) == []
    assert "Gelu" not in {e["op"] for e in blocking_summary(small_matrix()["cells"])}


def test_the_same_op_at_two_opsets_is_two_entries():
    cells = [cell(f"m{i}", opset, "dynamo", "fail", [finding("EXP101", "Col2Im")])
             for i, opset in ((1, 13), (2, 13), (3, 17))]
    assert [(e["opset"], e["models"]) for e in blocking_summary(cells)] == [(13, 2), (17, 1)]


def test_verdict_counts():
    counts = verdict_counts(small_matrix()["cells"])
    assert counts == {"pass": 8, "warn": 1, "fail": 8, "error": 1, "crashed": 1, "timeout": 1}
