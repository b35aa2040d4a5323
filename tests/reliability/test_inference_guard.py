"""The crashes the fuzzer found in onnx's shape inference are real in the installed onnx, and
the analyzer contains them: refused up front (ATTRIBUTE_INVALID) or run in a child (SCH206).

When one of the `*_crashes_onnx` tests fails, the installed onnx no longer crashes there and
the matching guard (analyzer/sources/onnx_attr_guard.py, inference_guard.py) can be retired."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import onnx
import onnx.parser
import pytest

from analyzer import analyze
from analyzer.errors import InputError

CUSTOM_OP_INTO_DICTVECTORIZER = """
    <ir_version: 10, opset_import: ["" : 20, "ai.onnx.ml" : 4, "com.example.rb" : 1]>
    g (int64[4] X) => (float[2] Y) {
        D = com.example.rb.Mystery(X)
        Y = ai.onnx.ml.DictVectorizer <int64_vocabulary = [1, 2]> (D)
    }"""
GATHERND_NEGATIVE_BATCH_DIMS = """
    <ir_version: 10, opset_import: ["" : 17]>
    g (float[2,3] D, int64[2,1] I) => (float[2] Y) { Y = GatherND <batch_dims = -3> (D, I) }"""


def _onnx_inference_status(text: str, tmp_path: Path) -> int:
    path = tmp_path / "m.onnx"
    onnx.save_model(onnx.parser.parse_model(textwrap.dedent(text)), path)
    code = ("import onnx, onnx.shape_inference as s\n"
            f"m = onnx.load({str(path)!r})\n"
            "try:\n    s.infer_shapes(m, check_type=True, strict_mode=True)\n"
            "except Exception:\n    pass\n")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120
                          ).returncode


@pytest.mark.parametrize("text", [CUSTOM_OP_INTO_DICTVECTORIZER, GATHERND_NEGATIVE_BATCH_DIMS])
def test_the_model_crashes_onnx(text: str, tmp_path: Path) -> None:
    assert _onnx_inference_status(text, tmp_path) == -11  # SIGSEGV in onnx's C++


def test_a_crash_in_inference_becomes_a_finding() -> None:
    report = analyze(onnx.parser.parse_model(textwrap.dedent(CUSTOM_OP_INTO_DICTVECTORIZER)))
    messages = [f.message for f in report.findings if f.id == "SCH206"]
    assert any("crashed: signal 11" in m for m in messages), messages
    assert {o.op for o in report.ops} == {"Mystery", "DictVectorizer"}  # the report goes on


def test_a_crashing_attribute_is_refused_before_inference() -> None:
    with pytest.raises(InputError) as caught:
        analyze(onnx.parser.parse_model(textwrap.dedent(GATHERND_NEGATIVE_BATCH_DIMS)))
    assert caught.value.code == "ATTRIBUTE_INVALID"
    assert "batch_dims is -3" in caught.value.message


def test_valid_gathernd_and_split_pass_the_guard() -> None:
    model = onnx.parser.parse_model("""<ir_version: 10, opset_import: ["" : 18]>
        g (float[2,3] D, int64[2,1] I) => (float[2,3] Y, float[3] A, float[3] B) {
            Y = GatherND <batch_dims = 0> (D, I)
            F = Flatten <axis = 0> (D)
            R = Reshape(F, s)
            A, B = Split <num_outputs = 2> (R)
        }""")
    shape = onnx.helper.make_tensor("s", onnx.TensorProto.INT64, [1], [6])
    model.graph.initializer.append(shape)
    report = analyze(model)
    assert not [f for f in report.findings if f.id in ("SCH204", "SCH206")], report.findings
