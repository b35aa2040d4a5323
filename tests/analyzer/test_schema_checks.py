from __future__ import annotations

import analyzer
from tests.fixtures.onnx_models import parse


def _ids(report):
    return {f.id: f for f in report.findings}


def test_unknown_default_domain_op_is_an_error_with_close_matches():
    report = analyzer.analyze(parse(
        """<ir_version: 9, opset_import: ["" : 17]>
        g (float[2] x) => (float[2] y) { y = Relu6(x) }"""))
    f = _ids(report)["SCH201"]
    assert f.severity == "error" and f.op == "Relu6"
    assert "Relu" in (f.fixes[0].hint or "")
    assert report.verdict == "fail"


def test_op_newer_than_the_opset_import_names_the_opset_that_has_it():
    report = analyzer.analyze(parse(
        """<ir_version: 8, opset_import: ["" : 13]>
        g (float[2] x) => (float[2] y) { y = HardSwish(x) }"""))
    f = _ids(report)["SCH202"]
    assert f.fixes[0].kind == "opset" and f.fixes[0].min == 14
    op = next(o for o in report.ops if o.op == "HardSwish")
    assert op.onnx["status"] == "needs_opset"


def test_target_opset_flags_ops_that_do_not_exist_there():
    model = parse(
        """<ir_version: 10, opset_import: ["" : 20]>
        g (float[2] x) => (float[2] y) { y = Gelu(x) }""")
    assert "SCH202" not in _ids(analyzer.analyze(model))
    f = _ids(analyzer.analyze(model, opset=18))["SCH202"]
    assert f.fixes[0].min == 20


def test_deprecated_op_is_an_error_with_its_replacement():
    # onnxruntime runs onnx's node check at load, which refuses a deprecated op (issue 16)
    report = analyzer.analyze(parse(
        """<ir_version: 8, opset_import: ["" : 10]>
        g (float[1,1,2,2] x, float[4] scales) => (float[1,1,4,4] y) { y = Upsample(x, scales) }"""))
    f = _ids(report)["SCH203"]
    assert f.severity == "error" and report.verdict == "fail"
    assert f.fixes[0].hint == "use Resize instead"


def test_custom_domain_without_schema_or_kernel_cannot_load():
    report = analyzer.analyze(parse(
        """<ir_version: 9, opset_import: ["" : 17, "acme.ops" : 1]>
        g (float[2] x) => (float[2] y) { y = acme.ops.Frobnicate(x) }"""))
    ids = _ids(report)
    assert ids["SCH205"].severity == "warning"
    assert ids["EP301"].severity == "error"
    assert report.to_dict()["loadable"] is False


def test_contrib_op_with_ort_kernel_is_not_flagged_as_unknown():
    report = analyzer.analyze(parse(
        """<ir_version: 9, opset_import: ["" : 17, "com.microsoft" : 1]>
        g (float[2,4] x, float[4] bias) => (float[2,4] y) {
            y = com.microsoft.BiasGelu(x, bias)
        }"""))
    ids = _ids(report)
    assert "SCH205" not in ids and "SCH201" not in ids and "EP301" not in ids
    op = report.ops[0]
    assert op.providers["CPUExecutionProvider"]["status"] == "ok"


def test_checker_failure_becomes_a_finding_not_a_crash():
    # Nodes out of topological order: onnx.checker refuses them, onnxruntime sorts them itself.
    # (A dangling input is bad input instead: GRAPH_DANGLING_INPUT, tests/reliability.)
    model = parse(
        """<ir_version: 9, opset_import: ["" : 17]>
        g (float[2] x) => (float[2] y) { t = Relu(x)
            y = Relu(t) }""")
    model.graph.node.reverse()
    report = analyzer.analyze(model)
    assert _ids(report)["SCH204"].severity == "warning"  # onnxruntime loads it (issue 16)
    assert report.verdict == "warn"


def test_model_with_external_data_checks_clean_from_any_directory(tmp_path, monkeypatch):
    import numpy as np
    import onnx
    import onnx.numpy_helper

    model = parse("""<ir_version: 9, opset_import: ["" : 17]>
        g (float[2,3] x) => (float[2,4] y) { y = MatMul(x, w) }""")
    model.graph.initializer.append(
        onnx.numpy_helper.from_array(np.ones((3, 4), np.float32), "w"))
    (tmp_path / "m").mkdir()
    onnx.save_model(model, tmp_path / "m" / "m.onnx", save_as_external_data=True,
                    all_tensors_to_one_file=True, location="w.bin", size_threshold=0)
    monkeypatch.chdir(tmp_path)
    report = analyzer.analyze(tmp_path / "m" / "m.onnx")
    assert report.findings == []
    assert report.model.parameters == 12
