"""The findings-driven pass: findings list the rules that answer them, the pass applies those
rules (exact ones, or the named ones), re-analyzes until nothing is left to fix, converts to the
target opset, and reports placement and findings before and after."""

from __future__ import annotations

import numpy as np
import onnx
import onnx.checker
import onnx.parser
import onnxruntime as ort

from analyzer.workflows.onnx_preflight import analyze
from analyzer.workflows.rewrite_pipeline import run_pass
from rewrites.onnx.cuda_fallback_test import MODEL as FALLBACK_MODEL
from rewrites.onnx.version_convert_test import FUNCTION_OPS

CUDA = "CUDAExecutionProvider"


def _rules(finding: object) -> set[str]:
    return {f.rule for f in finding.fixes if f.kind == "rewrite"}  # type: ignore[attr-defined]


def test_findings_list_the_rules_that_answer_them() -> None:
    report = analyze(FUNCTION_OPS, opset=13)
    by_op = {f.op: _rules(f) for f in report.findings if f.id == "SCH202"}
    assert by_op["LayerNormalization"] >= {"onnx:layer-norm-decompose", "onnx:expand-function"}
    assert by_op["HardSwish"] == {"onnx:expand-function", "onnx:approx-relu"}
    assert "onnx:expand-function" in by_op["Gelu"] and "onnx:expand-function" in by_op["Mish"]
    fallback = analyze(FALLBACK_MODEL, providers=["cuda", "cpu"])
    ep302 = [f for f in fallback.findings if f.id == "EP302"]
    assert len(ep302) == 3
    assert all(_rules(f) >= {"onnx:cuda-fallback", "onnx:cuda-fallback-approx"} for f in ep302)
    # Clip has a function body whose ops CUDA runs: expanding it answers the fallback too
    clip = next(f for f in ep302 if f.op == "Clip")
    assert "onnx:expand-function" in _rules(clip)


def test_pass_removes_cuda_fallbacks_and_reports_placement() -> None:
    passed = run_pass(FALLBACK_MODEL, providers=["cuda", "cpu"])
    placement = passed.placement()
    before, after = placement["before"][CUDA], placement["after"][CUDA]
    assert len(before["fallback_nodes"]) == 3 and after["fallback_nodes"] == []
    assert after["partitions"] < before["partitions"]
    assert not [f for f in passed.after.findings if f.id in ("EP302", "EP305")]
    applied = {e.rule for e in passed.result.applied}
    assert "onnx:cuda-fallback" in applied
    assert applied <= {"onnx:cuda-fallback", "onnx:expand-function"}


def test_pass_lowers_to_target_opset_until_nothing_is_left() -> None:
    passed = run_pass(FUNCTION_OPS, target_opset=11)
    assert {f.id for f in passed.before.findings} >= {"SCH202"}
    assert not [f for f in passed.after.findings if f.severity == "error"]
    model = passed.result.model
    assert {i.domain: i.version for i in model.opset_import}[""] == 11
    assert passed.rounds >= 2  # the Gelu body's CastLike is answered in the next round
    onnx.checker.check_model(model, full_check=True)
    rng = np.random.default_rng(4)
    feeds = {i.name: (rng.standard_normal([d.dim_value for d in i.type.tensor_type.shape.dim])
                      + (3.0 if i.name == "z" else 0.0)).astype(np.float32)
             for i in FUNCTION_OPS.graph.input}
    run = [ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
           .run(None, feeds)[0] for m in (model, FUNCTION_OPS)]
    np.testing.assert_allclose(run[0], run[1], rtol=1e-4, atol=1e-5)
    assert passed.after.model.nodes > passed.before.model.nodes


def test_dry_run_proposes_and_says_why_other_rules_do_not_apply() -> None:
    original = FUNCTION_OPS.SerializeToString()
    passed = run_pass(FUNCTION_OPS, target_opset=13, dry_run=True)
    assert FUNCTION_OPS.SerializeToString() == original
    assert passed.result.model.SerializeToString() == original
    assert passed.result.applied == []
    proposed = {(e.rule, e.node) for e in passed.result.log if e.status == "proposed"}
    assert ("onnx:layer-norm-decompose", "LayerNormalization_1") in proposed
    assert ("onnx:expand-function", "Gelu_0") in proposed
    assert ("onnx:version-convert", "model") in proposed
    skipped = {(e.rule, e.node): e.reason or "" for e in passed.result.log
               if e.status == "skipped"}
    assert "onnx:layer-norm-decompose rewrites this node first" in skipped[
        ("onnx:expand-function", "LayerNormalization_1")]
    assert "approximate" in skipped[("onnx:approx-relu", "HardSwish_2")]


def test_named_approximate_rule_runs_on_every_match() -> None:
    passed = run_pass(FUNCTION_OPS, only=["onnx:approx-relu"])
    applied = passed.result.applied
    assert [(e.rule, e.node, e.exact) for e in applied] == [("onnx:approx-relu", "HardSwish_2",
                                                             False)]
    assert passed.result.output_errors["onnx:approx-relu"]["y"]["max_abs"] > 0


def test_function_op_cuda_lacks_is_expanded_to_remove_its_fallback() -> None:
    model = onnx.parser.parse_model("""
        <ir_version: 8, opset_import: ["" : 17]>
        g (float[2, 8] x) => (float[2, 8] y) {
            a = Relu(x)
            b = Celu <alpha: float = 0.5> (a)
            y = Tanh(b)
        }
    """)
    passed = run_pass(model, providers=["cuda", "cpu"])
    placement = passed.placement()
    before, after = placement["before"][CUDA], placement["after"][CUDA]
    assert before["fallback_nodes"] and after["fallback_nodes"] == []
    assert after["partitions"] < before["partitions"]
    assert {e.rule for e in passed.result.applied} == {"onnx:expand-function"}
    assert "Celu" not in {n.op_type for n in passed.result.model.graph.node}


def test_consume_lowers_in_place_and_gives_what_a_copy_gives() -> None:
    """run_pass(consume=True) rewrites the given proto instead of a copy (one copy of the
    weights less at the peak, docs/rewrites.md#peak-memory-with-external-weights): the result
    is the same model as without it, and without it the caller's proto is untouched."""
    text = ('<ir_version: 8, opset_import: ["" : 18]>\n'
            "g (float[2,8] x) => (float[2,8] y) { h = HardSwish(x)\n y = Relu(h) }")
    kept = onnx.parser.parse_model(text)
    copied = run_pass(kept, target_opset=13)
    assert [n.op_type for n in kept.graph.node] == ["HardSwish", "Relu"]
    given = onnx.parser.parse_model(text)
    consumed = run_pass(given, target_opset=13, consume=True)
    assert consumed.reached and consumed.opset_before == 18 and consumed.delivered_opset == 13
    assert consumed.result.model.graph.node == copied.result.model.graph.node
    assert [f.id for f in consumed.after.findings] == [f.id for f in copied.after.findings]
