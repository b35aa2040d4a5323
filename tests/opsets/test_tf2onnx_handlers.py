"""The tf2onnx handler table: regenerated from the installed tf2onnx it must equal the shipped
file (drift), and its lookups answer as tf2onnx's create_mapping would."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from opsets.generators.tf2onnx_handlers import (
    TF2ONNX_HANDLERS_EXPAND_DEPTH,
    build_tf2onnx_table,
    tf2onnx_available,
)
from opsets.generators.write import TF2ONNX_HANDLERS_JSON, dumps_diffable, without_date
from opsets.tf2onnx_handlers import load_tf2onnx_handlers


@pytest.mark.skipif(not tf2onnx_available(), reason="tf2onnx / tensorflow not installed")
def test_shipped_table_matches_installed_tf2onnx() -> None:
    shipped = without_date(json.loads(TF2ONNX_HANDLERS_JSON.read_text(encoding="utf-8")))
    fresh = build_tf2onnx_table()
    assert shipped["provenance"] == fresh["provenance"], "run `python -m opsets.generate`"
    for section in ("tf", "tflite"):
        changed = sorted(k for k in shipped[section].keys() | fresh[section].keys()
                         if shipped[section].get(k) != fresh[section].get(k))
        assert not changed, f"{section} ops differ from tf2onnx: {changed[:10]}; regenerate"


def test_shipped_file_is_canonical() -> None:
    text = TF2ONNX_HANDLERS_JSON.read_text(encoding="utf-8")
    assert text == dumps_diffable(json.loads(text), TF2ONNX_HANDLERS_EXPAND_DEPTH) + "\n"


def test_lookups_follow_the_opset_rules() -> None:
    table = load_tf2onnx_handlers()
    assert table.tf_support("HardSwish", 13).status == "needs_opset"
    assert table.tf_support("HardSwish", 14).status == "ok"
    assert table.tf_support("HardSwish", 13).min_opset == 14
    assert table.tf_support("Einsum", 11).status == "needs_opset"
    assert table.tf_support("Erfc", 18).status == "unsupported"
    contrib = table.tf_support("StringSplitV2", 18)
    assert contrib.status == "extra_opset" and contrib.extra_domains == ("ai.onnx.contrib",)
    assert table.tf_support("Relu", 9).status == "ok"


def test_tflite_ops_go_through_their_tf_op() -> None:
    table = load_tf2onnx_handlers()
    conv = table.tflite_support("TFL_CONV_2D", 13)
    assert conv.status == "ok" and conv.via == "Conv2D"
    assert table.tflite_support("TFL_HARD_SWISH", 13).status == "needs_opset"
    assert table.tflite_support("TFL_WHILE", 9).status == "ok"  # its own ONNX handler
    assert table.tflite_support("TFL_NO_SUCH_OP", 18).status == "unsupported"


def test_caveats_and_checks_are_read_off_the_handler_source() -> None:
    table = load_tf2onnx_handlers()
    checks = table.checks("ResizeBilinear", 9)
    assert any("half_pixel_centers" in c["condition"] for c in checks)
    assert not table.checks("ResizeBilinear", 11)
    assert any("pad mode" in c for c in table.tf_support("MirrorPad", 13).caveats)


def test_reading_the_table_never_imports_tensorflow() -> None:
    code = ("import sys; from opsets.tf2onnx_handlers import load_tf2onnx_handlers; "
            "load_tf2onnx_handlers().tf_support('Conv2D', 13); "
            "import analyzer.cli.main; "
            "assert 'tensorflow' not in sys.modules and 'tf2onnx' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
