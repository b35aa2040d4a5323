"""opsets/data/ort_inlining.json: the contrib function bodies measured from onnxruntime."""

from __future__ import annotations

import json

import onnx.parser

from opsets.generators.ort_inlining import build_inlining_table
from opsets.generators.write import INLINING_JSON, without_date
from opsets.ort_inlining import ort_function


def test_shipped_table_matches_installed_onnxruntime() -> None:
    shipped = json.loads(INLINING_JSON.read_text(encoding="utf-8"))
    fresh = build_inlining_table()
    assert without_date(shipped) == fresh, "run `python -m opsets.generate` and review the diff"


def test_lookup_gives_a_parsable_body_per_version() -> None:
    gelu = ort_function("com.microsoft", "Gelu", 1)
    assert gelu is not None and gelu.body is not None
    assert gelu.types["double"] == "inlined"
    body = onnx.parser.parse_function(gelu.body)
    assert "Erf" in [n.op_type for n in body.node]
    assert ort_function("com.microsoft", "Gelu", 2) is None
    assert ort_function("com.microsoft", "Attention", 1) is None
