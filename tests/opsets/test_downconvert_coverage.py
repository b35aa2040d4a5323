"""opsets/data/downconvert_coverage.json (issue 14, item 3): every (op, since_version) the torch
exporters emit, converted to opsets 17..9 by onnx alone or with this project's adapters.

Drift is checked cheaply on every run: the row set against a fresh derivation from the converter
table and the torch sources (no conversion, ~1 s), a sample of rows that covers every adapter and
each kind of answer against a fresh measurement (~3 s), and the docs section against the data.
The whole table is regenerated and compared by the slow-marked test (~20 s)."""

from __future__ import annotations

import json

import pytest

from opsets.downconvert_coverage import COVERAGE_PATH, TARGETS, load_coverage
from opsets.generators.exporter_ops import emitted_pairs, torchscript_sources
from rewrites.onnx.downconvert_coverage import (
    DOCS_BEGIN,
    DOCS_END,
    DOCS_PATH,
    build_coverage,
    measure_pair,
    render_docs,
)

#: one row per adapter, plus plain conversion, a function body and no lower form at all
SAMPLE = ("ReduceMean-18", "ReduceSum-13", "ReduceMax-20", "Split-18", "Pad-18", "Resize-19",
          "Trilu-14", "Slice-13", "TopK-11", "Gemm-13", "ScatterElements-18",
          "BatchNormalization-15", "Dropout-13", "Gelu-20", "LayerNormalization-17",
          "BitwiseAnd-18", "Add-14", "Col2Im-18", "If-19", "Loop-16",
          "Scan-19", "ThresholdedRelu-10", "DequantizeLinear-19", "AffineGrid-20")

#: The cells still at "no adapter yet": an exact lower form may exist, no adapter writes it. A
#: new entry here is a regression (or a new exporter op) to look at; a removed one is progress.
NO_ADAPTER_YET: dict[str, tuple[int, ...]] = {}


def _data() -> dict:
    return json.loads(COVERAGE_PATH.read_text(encoding="utf-8"))


@pytest.mark.skipif(not torchscript_sources(), reason="the TorchScript rows need torch's sources")
def test_rows_are_what_the_exporters_emit() -> None:
    rows = _data()["pairs"]
    fresh = {f"{p.op}-{p.since}": p for p in emitted_pairs()}
    assert sorted(rows) == sorted(fresh), "run python -m rewrites.onnx.downconvert_coverage --write"
    for key, pair in fresh.items():
        assert rows[key]["exporters"] == list(pair.exporters), key
        assert rows[key]["opset"] == pair.opset, key


@pytest.mark.parametrize("key", SAMPLE)
def test_sample_rows_match_a_fresh_measurement(key: str) -> None:
    pair = next(p for p in emitted_pairs() if f"{p.op}-{p.since}" == key)
    assert measure_pair(pair) == _data()["pairs"][key], (
        f"{key} changed: run python -m rewrites.onnx.downconvert_coverage --write")


def test_docs_section_is_generated_from_the_data() -> None:
    docs = DOCS_PATH.read_text(encoding="utf-8")
    section = docs[docs.index(DOCS_BEGIN) + len(DOCS_BEGIN):docs.index(DOCS_END)]
    assert section.strip() == render_docs(_data()).strip()


def test_lookup_answers_and_invariants() -> None:
    table = load_coverage()
    assert table.targets == TARGETS
    for target in TARGETS:
        counts = table.count(target)
        assert sum(counts.values()) == len(table.pairs())
    mean = table.get("ReduceMean", 18, 13)
    assert mean is not None and mean.result == "adapter"
    assert "onnx:version-convert" in mean.detail
    assert any("reduce-axes" in d for d in mean.detail)
    bitwise = table.get("BitwiseAnd", 18, 17)
    assert bitwise is not None and bitwise.result == "cannot"
    assert bitwise.why is not None and bitwise.why.startswith("no exact lower form")
    relu = table.get("Relu", 14, 17)
    assert relu is not None and relu.result == "converts"
    assert table.get("Relu", 14, 8) is None  # not measured


def test_every_gap_with_an_exact_lower_form_converts() -> None:
    """The goal: a "cannot" says there is no exact lower form, except the recorded cells."""
    table = load_coverage()
    open_cells: dict[str, list[int]] = {}
    for op, since in table.pairs():
        for target in table.targets:
            found = table.get(op, since, target)
            assert found is not None
            if found.result == "cannot":
                assert found.why, (op, since, target)
                if found.why == "no adapter yet":
                    open_cells.setdefault(f"{op}-{since}", []).append(target)
    assert {k: tuple(v) for k, v in open_cells.items()} == NO_ADAPTER_YET


@pytest.mark.slow
def test_whole_table_matches_a_regeneration() -> None:
    fresh = build_coverage()
    shipped = _data()
    changed = [k for k in shipped["pairs"] if shipped["pairs"][k] != fresh["pairs"].get(k)]
    assert not changed and shipped["provenance"] == fresh["provenance"], changed[:5]


def test_affine_grid_converts_with_its_adapter_at_every_target() -> None:
    table = load_coverage()
    for target in table.targets:
        found = table.get("AffineGrid", 20, target)
        assert found is not None and found.result == "adapter", target
        assert any("affine-grid adapter" in d for d in found.detail), found.detail
