"""opsets/data/torch_converters.json: which ATen ops torch.onnx's two exporters convert.

The facts pinned here were checked against real exports with torch 2.13 (see the export tests at
the end); the agreement tests check the pure-Python lookup against torch's own dispatch.
"""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
import warnings
from typing import Any

import pytest

from opsets.generators.torch_converters import _target_name, build_torch_converter_table
from opsets.generators.write import TORCH_CONVERTERS_JSON, without_date
from opsets.torch_converters import (
    dotted_name,
    load_torch_converters,
    normalize_aten_name,
    packet_name,
    torchscript_key,
)

SHOWN = 5


def _diff(shipped: dict[str, Any], fresh: dict[str, Any]) -> list[str]:
    """'section/op' for every op record (or header field) that differs."""
    out = []
    for section in sorted(shipped.keys() | fresh.keys()):
        a, b = shipped.get(section, {}), fresh.get(section, {})
        if section == "provenance" or not isinstance(a, dict) or not isinstance(b, dict):
            if a != b:
                out.append(f"{section}: shipped {a!r} != installed {b!r}")
            continue
        for key in sorted(a.keys() | b.keys()):
            if key == "ops":
                ops_a, ops_b = a.get("ops", {}), b.get("ops", {})
                out += [
                    f"{section}/{op}"
                    for op in sorted(ops_a.keys() | ops_b.keys())
                    if ops_a.get(op) != ops_b.get(op)
                ]
            elif a.get(key) != b.get(key):
                out.append(f"{section}/{key}: {a.get(key)!r} != {b.get(key)!r}")
    return out


@pytest.fixture(scope="module")
def torch_table() -> dict[str, Any]:
    pytest.importorskip("torch")
    pytest.importorskip("onnxscript")
    return build_torch_converter_table()


def test_shipped_table_matches_installed_torch(torch_table: dict[str, Any]) -> None:
    shipped = without_date(json.loads(TORCH_CONVERTERS_JSON.read_text(encoding="utf-8")))
    diffs = _diff(shipped, torch_table)
    if diffs:
        pytest.fail(
            f"opsets/data/torch_converters.json is out of date: {len(diffs)} entries differ from "
            f"the installed torch; first: {diffs[:SHOWN]}\n"
            "run `python -m opsets.generate` and review the diff",
            pytrace=False,
        )


def test_loading_the_table_does_not_import_torch() -> None:
    code = (
        "import sys; from opsets.torch_converters import load_torch_converters; "
        "t = load_torch_converters(); t.dynamo_support('aten::relu'); "
        "t.torchscript_support('aten::relu', 13); "
        "assert 'torch' not in sys.modules and 'onnxscript' not in sys.modules, 'imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(
    ("spelled", "canonical"),
    [
        ("aten.add.Tensor", "aten::add.Tensor"),
        ("aten::add.Tensor", "aten::add.Tensor"),
        ("torch.ops.aten.add.Tensor", "aten::add.Tensor"),
        ("aten.relu.default", "aten::relu"),
        ("aten::relu", "aten::relu"),
        ("prims.add.default", "prims::add"),
    ],
)
def test_name_normalisation(spelled: str, canonical: str) -> None:
    assert normalize_aten_name(spelled) == canonical


def test_name_conversions() -> None:
    assert dotted_name("aten::relu") == "aten.relu.default"
    assert dotted_name("aten::add.Tensor") == "aten.add.Tensor"
    assert packet_name("aten.add.Tensor") == "aten::add"
    assert torchscript_key("aten::relu_") == "aten::relu"
    assert torchscript_key("aten::__and__") == "aten::__and_"  # as torch registers it
    assert torchscript_key("aten.add.Tensor") == "aten::add"
    with pytest.raises(ValueError):
        normalize_aten_name("relu")


# ---------------------------------------------------------------------------------------------
# facts (torch 2.13.0, onnxscript 0.7.2)


def test_provenance_and_opsets() -> None:
    table = load_torch_converters()
    assert table.provenance.library == "torch" and table.provenance.onnxscript_version
    assert table.dynamo_base_opset == 18
    assert table.dynamo_default_opset == 20 and table.torchscript_default_opset == 20
    assert (table.torchscript_min, table.torchscript_max) == (7, 20)


def test_dynamo_hardswish_is_one_hardswish_node() -> None:
    op = load_torch_converters().dynamo_support("aten.hardswish.default")
    assert op is not None and op.translated and not op.decomposed
    assert op.name == "aten::hardswish" and op.onnx_ops == ("HardSwish",)
    assert op.impls[0].function.endswith("aten_hardswish")


def test_dynamo_translation_depends_on_requested_opset() -> None:
    table = load_torch_converters()
    gelu18, gelu20 = table.dynamo_support("aten::gelu", 18), table.dynamo_support("aten::gelu", 20)
    assert gelu18 is not None and gelu20 is not None
    assert "Erf" in (gelu18.onnx_ops or ()) and gelu20.onnx_ops == ("Gelu",)
    sdpa = table.dynamo_support("aten::scaled_dot_product_attention", 23)
    assert sdpa is not None and "Attention" in (sdpa.onnx_ops or ())
    low = table.dynamo_support("aten::gelu", 13)
    assert low is not None and low.registry_opset == 18 and low.needs_downconvert


def test_dynamo_decomposed_op_is_marked() -> None:
    """rms_norm has a translation only from opset 23 (RMSNormalization); below, torch decomposes
    it (checked by a real export below)."""
    table = load_torch_converters()
    below = table.dynamo_support("aten::rms_norm", 20)
    at23 = table.dynamo_support("aten::rms_norm", 23)
    assert below is not None and below.status == "decomposed" and below.decomposed
    assert below.cia and below.min_opset == 23 and below.impls == ()
    assert at23 is not None and at23.status == "translated"
    assert "RMSNormalization" in (at23.onnx_ops or ())
    inplace = table.dynamo_support("aten.hardswish_.default")
    assert inplace is not None and inplace.status == "decomposed"


def test_dynamo_unknown_op_is_none_and_overloads_are_listed() -> None:
    table = load_torch_converters()
    assert table.dynamo_support("aten::no_such_op") is None
    assert "aten::add.Tensor" in table.dynamo_overloads("aten::add")
    cond = table.dynamo_support("higher_order::cond")
    assert cond is not None and cond.onnx_ops == ("If",)


def test_dynamo_downconvert_blockers() -> None:
    table = load_torch_converters()
    assert table.dynamo_downconvert_blockers("aten::relu", 13) == {
        "Relu": "No Adapter From Version $14 for Relu"
    }
    assert table.dynamo_downconvert_blockers("aten::relu", 14) == {}
    assert "LayerNormalization" in table.dynamo_downconvert_blockers("aten::layer_norm", 16)


def test_torchscript_hardswish() -> None:
    """Registered at 9 (HardSigmoid * x) and 14 (HardSwish); opsets 7 and 8 use the opset-9
    symbolic (torch dispatches up to 9 below 9)."""
    table = load_torch_converters()
    assert [r.opset for r in table.torchscript_registrations("aten::hardswish")] == [9, 14]
    assert table.torchscript_min_opset("aten::hardswish") == 7
    at13 = table.torchscript_support("aten::hardswish", 13)
    assert at13.status == "ok" and at13.registration is not None
    assert at13.registration.opset == 9
    at14 = table.torchscript_support("aten::hardswish", 14)
    assert at14.registration is not None and at14.registration.function.endswith(
        "symbolic_opset14.hardswish"
    )


def test_torchscript_scaled_dot_product_attention_needs_opset_14() -> None:
    table = load_torch_converters()
    assert table.torchscript_min_opset("aten::scaled_dot_product_attention") == 14
    answer = table.torchscript_support("aten::scaled_dot_product_attention", 13)
    assert answer.status == "needs_opset" and answer.min_opset == 14
    assert table.torchscript_support("aten::scaled_dot_product_attention", 14).status == "ok"


def test_torchscript_registrations_that_only_raise() -> None:
    table = load_torch_converters()
    cumsum = table.torchscript_support("aten::cumsum", 10)
    assert cumsum.status == "needs_opset" and cumsum.min_opset == 11
    assert cumsum.registration is not None and cumsum.registration.supported_opset == 11
    all8 = table.torchscript_support("aten::all", 8)  # _block_list_in_opset
    assert all8.status == "needs_opset" and all8.min_opset == 9
    unique = table.torchscript_support("aten::_unique", 11)
    assert unique.status == "unsupported" and unique.min_opset is None
    upsample = table.torchscript_support("aten::upsample_nearest2d", 9)
    assert upsample.status == "ok" and any("align_corners" in c for c in upsample.conditions)
    assert table.torchscript_support("aten::relu_", 13).status == "ok"
    assert table.torchscript_support("aten::no_such_op", 13).status == "missing"
    above = table.torchscript_support("aten::gelu", 22)
    assert above.status == "ok" and "warns above opset 20" in above.note


# ---------------------------------------------------------------------------------------------
# the lookup agrees with torch's own dispatch


def test_torchscript_lookup_agrees_with_torch_dispatch() -> None:
    pytest.importorskip("torch")
    import inspect

    from torch.onnx._internal.torchscript_exporter import registration, utils

    utils._trigger_symbolic_function_registration()
    table = load_torch_converters()
    checked = 0
    for name in table.torchscript_ops():
        group = registration.registry.get_function_group(name)
        assert group is not None, name
        for opset in range(table.torchscript_min, table.torchscript_max + 1):
            fn = group.get(opset)
            # the node kind that reaches this key: torch drops one trailing "_" from a kind
            kind = name + "_" if name.endswith("_") else name
            answer = table.torchscript_support(kind, opset)
            if fn is None:
                assert answer.registration is None, (name, opset)
                continue
            func = inspect.unwrap(fn)
            assert answer.registration is not None, (name, opset)
            assert answer.registration.function == f"{func.__module__}.{func.__qualname__}"
            checked += 1
    assert checked > 3000


def test_dynamo_lookup_agrees_with_fresh_registries() -> None:
    pytest.importorskip("torch")
    import torch.export._trace  # noqa: F401 - registers what an export registers (as generation)
    from torch.onnx._internal.exporter import _decomp, _registration

    table = load_torch_converters()
    logging.getLogger("torch.onnx._internal.exporter._registration").setLevel(logging.ERROR)
    for opset in (18, 20, 23):
        registry = _registration.ONNXRegistry.from_torchlib(opset_version=opset)
        registered = {_target_name(t) for t in registry.functions}
        translated = {
            op
            for op in table.dynamo_ops()
            if (s := table.dynamo_support(op, opset)) is not None and s.translated
        }
        assert translated == registered, opset
        decomp = _decomp.create_onnx_friendly_decomposition_table(
            set(_decomp.get_onnx_implemented_overloads(registry))
        )
        decomposed = {
            op
            for op in table.dynamo_ops()
            if (s := table.dynamo_support(op, opset)) is not None and s.decomposed
        }
        assert decomposed == {_target_name(t) for t in decomp}, opset


# ---------------------------------------------------------------------------------------------
# real exports


def _quiet_export(*args: Any, **kwargs: Any) -> Any:
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.onnx.export(*args, **kwargs)


def test_real_export_rms_norm_decomposed_below_23() -> None:
    torch = pytest.importorskip("torch")

    class RmsNorm(torch.nn.Module):
        def forward(self, x: Any) -> Any:
            return torch.nn.functional.rms_norm(x, (4,))

    types = {}
    for opset in (20, 23):
        program = _quiet_export(
            RmsNorm().eval(), (torch.randn(2, 4),), dynamo=True, opset_version=opset, verbose=False
        )
        types[opset] = {n.op_type for n in program.model_proto.graph.node}
    assert "RMSNormalization" not in types[20] and "ReduceMean" in types[20]
    assert "RMSNormalization" in types[23]


def test_real_torchscript_export_hardswish() -> None:
    torch = pytest.importorskip("torch")
    import onnx

    types = {}
    for opset in (13, 14):
        buffer = io.BytesIO()
        _quiet_export(
            torch.nn.Hardswish().eval(),
            (torch.randn(2, 3),),
            buffer,
            dynamo=False,
            opset_version=opset,
        )
        model = onnx.load_from_string(buffer.getvalue())
        types[opset] = [n.op_type for n in model.graph.node]
    assert types[13] == ["HardSigmoid", "Mul"] and types[14] == ["HardSwish"]


def test_torchscript_export_warns_deprecated() -> None:
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.onnx.export(torch.nn.ReLU(), (torch.randn(2),), io.BytesIO(), dynamo=False)
    messages = [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)]
    assert any("legacy TorchScript-based ONNX export" in m for m in messages)
