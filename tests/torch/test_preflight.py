"""PyTorch pre-flight on small real models, checked against real torch.onnx exports."""

from __future__ import annotations

import logging

import onnx
import pytest
import torch

import analyzer.workflows.torch_preflight as torch_api
from analyzer import export_torch
from tests.fixtures import torch_models as fm


def _ids(report):
    return {f.id: f for f in report.findings}


def test_the_converter_complaint_survives_a_silenced_onnxscript_logger():
    """The EXP103 reason is read from the converter's log records: an application (or an
    earlier test in the same process) that silenced onnxscript's loggers must not blank it."""
    module, args = fm.norm_act()
    quiet = logging.getLogger("onnxscript.version_converter")
    before = quiet.level
    quiet.setLevel(logging.CRITICAL)
    try:
        report = torch_api.analyze_torch(module, args, opset=13, exporter="dynamo")
    finally:
        quiet.setLevel(before)
    assert "LayerNormalization" in _ids(report)["EXP103"].message
    assert quiet.level == before


def test_dynamo_below_18_predicts_the_silent_fallback_to_opset_18(tmp_path):
    module, args = fm.norm_act()
    report = torch_api.analyze_torch(module, args, opset=13, exporter="dynamo")
    ids = _ids(report)
    assert ids["EXP103"].severity == "error"
    assert "LayerNormalization" in ids["EXP103"].message
    assert report.extras["min_opset"]["dynamo"] == 17
    assert ids["EXP103"].fixes[0].min == 17
    # reality: torch.onnx.export really delivers opset 18 when asked for 13
    path = tmp_path / "m.onnx"
    with pytest.warns(Warning):
        torch.onnx.export(module, args, str(path), dynamo=True, opset_version=13)
    delivered = {i.domain: i.version for i in onnx.load(path).opset_import}[""]
    assert delivered == 18
    ok = torch_api.analyze_torch(module, args, opset=17, exporter="dynamo")
    assert "EXP103" not in _ids(ok) and ok.verdict != "fail"


def test_data_dependent_branch_is_a_finding_with_the_line():
    module, args = fm.data_dependent()
    report = torch_api.analyze_torch(module, args, opset=18, exporter="dynamo")
    f = _ids(report)["TRC401"]
    assert "data_dependent" in f.message
    assert f.location == f"{fm.__file__}:{fm.line_of('DATA-DEPENDENT-LINE')}"
    with pytest.raises(Exception):  # noqa: B017 - the real export fails too
        torch.onnx.export(module, args, dynamo=True)


def test_torchscript_tracer_warning_points_at_the_line():
    module, args = fm.data_dependent()
    report = torch_api.analyze_torch(module, args, opset=13, exporter="torchscript")
    f = _ids(report)["TRC402"]
    assert f.severity == "warning" and "TracerWarning" in f.message
    assert f.location == f"{fm.__file__}:{fm.line_of('DATA-DEPENDENT-LINE')}"


def test_ops_carry_source_location_and_module_path():
    module, args = fm.norm_act()
    report = torch_api.analyze_torch(module, args, opset=18, exporter="dynamo")
    hardswish = next(o for o in report.ops if o.op == "aten::hardswish")
    assert hardswish.converter == {"exporter": "dynamo", "status": "ok", "min_opset": None}
    linear = next(o for o in report.ops if o.op == "aten::linear")
    assert linear.nodes[0].graph == "lin"
    assert linear.nodes[0].location.startswith(fm.__file__)


def test_training_mode_and_exportable_flag():
    module, args = fm.training_mode()
    ids = _ids(torch_api.analyze_torch(module, args, opset=18, exporter="torchscript"))
    assert ids["TRC403"].severity == "warning"
    assert ids["TRC404"].severity == "warning" and "exportable" in ids["TRC404"].message


def test_custom_op_without_translation_names_the_op_and_the_fix():
    module, args = fm.custom_op()
    report = torch_api.analyze_torch(module, args, opset=18, exporter="dynamo")
    f = _ids(report)["EXP105"]
    assert f.op == "preflight_test::scale2"
    assert "custom_translation_table" in (f.fixes[0].hint or "")
    with pytest.raises(Exception):  # noqa: B017 - and the real export does fail
        torch.onnx.export(module, args, dynamo=True)


def test_keyword_inputs_are_folded_like_the_torchscript_exporter(tmp_path):
    module, args = fm.norm_act()
    report = torch_api.analyze_torch(module, (), opset=13, exporter="torchscript",
                                     kwargs={"x": args[0]})
    assert report.verdict != "fail"
    assert {o.op for o in report.ops} >= {"aten::hardswish", "aten::layer_norm"}
    torch.onnx.export(module, (), str(tmp_path / "m.onnx"), kwargs={"x": args[0]},
                      dynamo=False, opset_version=13)  # reality: it exports
    assert (tmp_path / "m.onnx").exists()


def test_export_writes_the_model_and_checks_the_delivered_opset(tmp_path):
    module = fm.plain()
    out = tmp_path / "plain.onnx"
    report = export_torch(module, (torch.randn(2, 8),), out, opset=17,
                                    exporter="torchscript")
    assert out.exists() and report.extras["exported"] is True
    assert report.extras["delivered_opset"] == 17
    assert report.verdict != "fail"
    assert {o.op for o in report.ops} >= {"Gemm", "Relu"}
    assert [p.name for p in tmp_path.iterdir()] == ["plain.onnx"]


def test_export_stops_when_preflight_predicts_failure(tmp_path):
    module, args = fm.norm_act()
    out = tmp_path / "m.onnx"
    report = export_torch(module, args, out, opset=13, exporter="dynamo")
    assert report.extras["exported"] is False and not out.exists()
    forced = export_torch(module, args, out, opset=13, exporter="dynamo", force=True)
    assert out.exists()
    assert "EXP106" in _ids(forced)  # asked 13, got 18


def test_thorough_mode_sees_translation_time_failures():
    module, args = fm.attention_3d()
    # issue 18: the default path now sees this one too (a known rank limit of the translation)
    fast = torch_api.analyze_torch(module, args, opset=18, exporter="dynamo")
    assert _ids(fast)["EXP102"].op == "aten::scaled_dot_product_attention"
    thorough = torch_api.analyze_torch(module, args, opset=18, exporter="dynamo", thorough=True)
    f = _ids(thorough)["EXP102"]
    assert f.op == "aten::scaled_dot_product_attention" and "4D" in f.message
    with pytest.raises(Exception):  # noqa: B017 - reality agrees with the thorough mode
        torch.onnx.export(module, args, dynamo=True)


@pytest.mark.parametrize("exporter", ["dynamo", "torchscript"])
def test_one_capture_answers_every_opset_like_separate_runs(exporter):
    module, args = fm.norm_act()
    reports = torch_api.analyze_torch_opsets(module, args, [9, 13, 17, 18], exporter)
    for opset, report in reports.items():
        single = torch_api.analyze_torch(module, args, opset=opset, exporter=exporter)
        assert {f.id for f in report.findings} == {f.id for f in single.findings}, opset
        assert report.verdict == single.verdict


def test_both_exporters_report_their_lowest_opset():
    module, args = fm.norm_act()
    report = torch_api.analyze_torch(module, args, opset=13, exporter="dynamo",
                                     both_exporters=True)
    mins = report.extras["min_opset"]
    assert mins["dynamo"] == 17  # exact: the real conversion
    assert mins["torchscript"] is not None and mins["torchscript"] <= 13
    messages = [f.message for f in report.findings if f.id == "EXP104"]
    assert any("torchscript" in m for m in messages) and any("dynamo" in m for m in messages)
    other = torch_api.analyze_torch(module, args, opset=13, exporter="torchscript",
                                    both_exporters=True)
    assert "dynamo (estimate)" in other.extras["min_opset"]
