"""Schema resolution and kernel matching on the shipped tables, checked against onnx itself and
against onnxruntime's own session creation on CPU."""

from __future__ import annotations

from collections.abc import Sequence

import onnx
import onnx.defs
import onnxruntime as ort
import pytest
from onnx import helper

from opsets.query import (
    ABSENT,
    KernelMatch,
    describe_op,
    match_kernel,
    normalize_type,
)
from opsets.tables import (
    PROVIDER_ALIASES,
    SchemaVersion,
    load_kernels,
    load_schemas,
    normalize_provider,
)

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"


def schema(op: str, opset: int, domain: str = "") -> SchemaVersion:
    resolved = load_schemas().resolve(domain, op, opset)
    assert resolved is not None, (domain, op, opset)
    return resolved


def match(
    provider: str,
    op: str,
    opset: int,
    inputs: Sequence[str | None],
    outputs: Sequence[str | None] = (),
    domain: str = "",
) -> KernelMatch:
    s = schema(op, opset, domain)
    return match_kernel(provider, s, domain, op, s.since_version, inputs, outputs)


# --- schema resolution -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "opset", "since"),
    [
        ("Relu", 13, 13),
        ("Relu", 12, 6),
        ("Relu", 5, 1),
        ("Relu", 30, 14),
        ("HardSwish", 13, None),
        ("HardSwish", 14, 14),
        ("HardSwish", 21, 14),
        ("HardSwish", 22, 22),
        ("NoSuchOp", 17, None),
    ],
)
def test_resolve_examples(op: str, opset: int, since: int | None) -> None:
    resolved = load_schemas().resolve("", op, opset)
    assert (resolved.since_version if resolved else None) == since


@pytest.mark.parametrize("domain", ["", "ai.onnx.ml", "ai.onnx.preview.training"])
def test_resolve_agrees_with_onnx_get_schema(domain: str) -> None:
    """Every op at every opset 1..max: the same since_version as onnx.defs.get_schema."""
    table = load_schemas()
    top = max(s.since_version for op in table.ops(domain) for s in table.versions(domain, op))
    mismatches = []
    for op in table.ops(domain):
        for opset in range(1, top + 2):
            try:
                expected: int | None = onnx.defs.get_schema(op, opset, domain).since_version
            except onnx.defs.SchemaError:
                expected = None
            got = table.resolve(domain, op, opset)
            if (got.since_version if got else None) != expected:
                mismatches.append((op, opset, expected, got))
    assert not mismatches, mismatches[:5]


def test_versions_are_sorted_and_complete() -> None:
    table = load_schemas()
    assert [s.since_version for s in table.versions("", "Cast")] == [
        1,
        6,
        9,
        13,
        19,
        21,
        23,
        24,
        25,
        28,
    ]
    assert table.versions("", "NoSuchOp") == []
    assert table.has_domain("com.microsoft") and not table.has_domain("org.example")


def test_schema_flags_and_params() -> None:
    gelu = schema("Gelu", 20)
    assert gelu.has_context_dependent_function and not gelu.has_function
    assert gelu.context_dependent_function_opset_versions == (20,)
    concat = schema("Concat", 13)
    assert concat.inputs[0].option == "variadic" and concat.inputs[0].homogeneous
    loop = schema("Loop", 21)
    assert loop.inputs[2].option == "variadic" and not loop.inputs[2].homogeneous
    assert schema("Upsample", 10).deprecated


def test_contrib_domains_come_from_onnxruntime() -> None:
    table = load_schemas()
    fused = table.resolve("com.microsoft", "FusedMatMul", 1)
    assert fused is not None and "tensor(float)" in fused.type_constraints["T"]
    prov = table.domain_provenance("com.microsoft")
    assert prov is not None and prov.library == "onnxruntime"
    assert prov.version == ort.__version__
    onnx_prov = table.domain_provenance("")
    assert onnx_prov is not None and onnx_prov.library == "onnx"
    assert onnx_prov.version == onnx.__version__


# --- providers -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["cuda", "CUDA", " cuda ", "CUDAExecutionProvider"])
def test_normalize_provider(name: str) -> None:
    assert normalize_provider(name) == CUDA


def test_unknown_provider_lists_known_ones() -> None:
    with pytest.raises(ValueError, match="cpu.*cuda.*dml"):
        normalize_provider("tensorrt")


def test_kernel_provenance() -> None:
    table = load_kernels()
    assert table.providers() == sorted(PROVIDER_ALIASES.values())
    assert table.provenance("cpu").version == ort.__version__
    assert "001d12d2623fd411ce0f83d05abb5e82304a3389" in table.provenance("cuda").source
    assert table.provenance("dml").version == "1.25 line"


# --- kernel matching: versions ---------------------------------------------------------------


def test_cpu_abs_float_matches() -> None:
    m = match("cpu", "Abs", 13, ["tensor(float)"], ["tensor(float)"])
    assert m.ok and m.type_checked
    assert m.kernel is not None and m.kernel.range_str() == "13+"
    assert m.kernel.type_constraints["T"] == ("tensor(float)",)


def test_version_outside_every_range_says_which_exist() -> None:
    m = match_kernel("cpu", schema("Relu", 5), "", "Relu", 1, ["tensor(float)"], [])
    assert not m.ok and m.kernel is None
    assert m.reason == (
        "CPUExecutionProvider has Relu kernels [6, 12], 13, 14+ but the node is version 1"
    )


def test_open_range_matches_only_its_start_version() -> None:
    """ORT: an open kernel 'N+' cannot promise support for a later version of the op. The md's
    CUDA Cast kernels end at 23+, onnx 1.23 has Cast-28."""
    m = match("cuda", "Cast", 28, ["tensor(float)"], ["tensor(int64)"])
    assert not m.ok
    assert "but the node is version 28" in m.reason
    assert "open range 23+ only at version 23" in m.reason
    assert match("cuda", "Cast", 23, ["tensor(float)"], ["tensor(int64)"]).ok
    assert match("cuda", "Cast", 21, ["tensor(float)"], ["tensor(int64)"]).ok


def test_closed_range_covers_its_inside() -> None:
    m = match("cpu", "Relu", 12, ["tensor(float)"])
    assert m.ok and m.kernel is not None and m.kernel.range_str() == "[6, 12]"


def test_missing_op_names_other_providers() -> None:
    m = match("cuda", "Det", 22, ["tensor(float)"])
    assert not m.ok
    assert (
        m.reason
        == "CUDAExecutionProvider has no Det kernel (kernels exist on CPUExecutionProvider)"
    )
    none = match_kernel("cpu", None, "", "NoSuchOp", 1, ["tensor(float)"], [])
    assert none.reason == "CPUExecutionProvider has no NoSuchOp kernel"


def test_contrib_domain_kernel() -> None:
    m = match("cpu", "FusedMatMul", 1, ["tensor(float)", "tensor(float)"], domain="com.microsoft")
    assert m.ok and m.type_checked
    bad = match("cuda", "FusedMatMul", 1, ["tensor(int32)"] * 2, domain="com.microsoft")
    assert not bad.ok and "com.microsoft.FusedMatMul" in bad.reason and "not int32" in bad.reason


# --- kernel matching: types ------------------------------------------------------------------


def test_cpu_relu_has_no_bfloat16() -> None:
    m = match("cpu", "Relu", 14, ["tensor(bfloat16)"], ["tensor(bfloat16)"])
    assert not m.ok and m.type_checked
    assert m.reason == (
        "CPUExecutionProvider has Relu 14+ for double, float, int32, int8 but not bfloat16"
    )


def test_cuda_erf_has_double_in_this_md() -> None:
    """A plausible guess (CUDA Erf lacks double) that the table refutes: 13+ lists double."""
    assert match("cuda", "Erf", 13, ["tensor(double)"]).ok


def test_cuda_nonzero_double_falls_back() -> None:
    m = match("cuda", "NonZero", 13, ["tensor(double)"], ["tensor(int64)"])
    assert not m.ok
    assert m.reason == (
        "CUDAExecutionProvider has NonZero 13+ for bool, float, float16, int32, int64, uint8 "
        "but not double"
    )
    cpu = match("cpu", "NonZero", 13, ["tensor(double)"], ["tensor(int64)"])
    assert not cpu.ok and "not double" in cpu.reason  # no double kernel anywhere


def test_reason_names_the_constraint_when_there_are_several() -> None:
    m = match("cuda", "GridSample", 16, ["tensor(double)", "tensor(double)"])
    assert not m.ok
    assert m.reason == "CUDAExecutionProvider has GridSample [16, 19] for T1 = float but not double"


def test_constraint_named_after_a_param() -> None:
    """ORT's Reshape kernels constrain 'shape' (a param name: its type_str is tensor(int64),
    not a type constraint), so the resolver finds input 1 by name."""
    ok = match("cpu", "Reshape", 21, ["tensor(float)", "tensor(int64)"], ["tensor(float)"])
    assert ok.ok and ok.type_checked and "shape=int64" in ok.reason
    bad = match("cpu", "Reshape", 21, ["tensor(float)", "tensor(int32)"], ["tensor(float)"])
    assert not bad.ok and "for shape = int64 but not int32" in bad.reason


def test_variadic_inputs() -> None:
    assert match("cpu", "Concat", 13, ["tensor(float)"] * 3, ["tensor(float)"]).ok
    assert not match("cpu", "Sum", 13, ["tensor(int8)"] * 2, ["tensor(int8)"]).ok
    # The group's first arg decides (ORT reads actual_inputs[first_arg_idx] only) ...
    assert match("cpu", "Sum", 13, ["tensor(float)", "tensor(int8)"]).ok
    # ... and when its type is unknown a homogeneous sibling stands in for it.
    m = match("cpu", "Sum", 13, [None, "tensor(int8)"])
    assert not m.ok and m.type_checked and "not int8" in m.reason


def test_heterogeneous_variadic_uses_only_the_first_arg() -> None:
    inputs = ["tensor(int64)", "tensor(bool)", None, "tensor(float)"]
    m = match("cpu", "Loop", 21, inputs)
    assert m.ok and not m.type_checked and "V not checked" in m.reason
    m = match("cpu", "Loop", 21, inputs, ["tensor(float)"])  # the output carries V
    assert m.ok and m.type_checked


def test_absent_optional_args_are_skipped() -> None:
    # LayerNormalization-17: outputs Mean and InvStdDev (U) are optional
    m = match("cpu", "LayerNormalization", 17, ["tensor(float)"] * 2, ["tensor(float)"])
    assert m.ok and m.type_checked
    # Mean omitted, InvStdDev present: ORT skips the absent one and checks the next
    m = match(
        "cpu",
        "LayerNormalization",
        17,
        ["tensor(float)"] * 2,
        ["tensor(float)", ABSENT, "tensor(double)"],
    )
    assert not m.ok and "U = float but not double" in m.reason
    # Resize-19 with roi and scales omitted (empty names), sizes given
    m = match("cuda", "Resize", 19, ["tensor(float)", ABSENT, ABSENT, "tensor(int64)"])
    assert m.ok and m.type_checked


def test_unknown_types_match_by_version_only() -> None:
    m = match("cpu", "Relu", 14, [None], [None])
    assert m.ok and not m.type_checked and "version only" in m.reason
    no_schema = match_kernel("cpu", None, "", "Relu", 14, ["tensor(bfloat16)"], [])
    assert no_schema.ok and not no_schema.type_checked
    still_no = match_kernel("cpu", None, "", "Relu", 1, [None], [])
    assert not still_no.ok  # the version is still checked


def test_since_version_defaults_to_the_schema() -> None:
    s = schema("Relu", 14)
    assert match_kernel("cpu", s, "", "Relu", None, ["tensor(float)"]).ok
    assert not match_kernel("cpu", None, "", "Relu", None, ["tensor(float)"]).ok


@pytest.mark.parametrize("spelled", ["tensor(float)", "float", "float32", " tensor( float ) "])
def test_type_spellings(spelled: str) -> None:
    assert normalize_type(spelled) == "tensor(float)"
    assert match("cpu", "Abs", 13, [spelled]).ok


# --- against onnxruntime itself ----------------------------------------------------------------

#: op -> (number of inputs, output element type: "T" = same as the inputs)
SWEEP_OPS = {
    **{op: (2, "T") for op in ["Add", "Sub", "Mul", "Div", "Max", "Min", "Mean", "Sum"]},
    **{op: (2, "bool") for op in ["Equal", "Less", "Greater"]},
    **{
        op: (1, "T")
        for op in [
            "Relu",
            "Abs",
            "Neg",
            "Sigmoid",
            "Exp",
            "Log",
            "Sqrt",
            "Floor",
            "Ceil",
            "Erf",
            "Sign",
            "Tanh",
            "Round",
            "Cos",
            "Sin",
            "Not",
            "Reciprocal",
            "Softplus",
            "Identity",
            "Softmax",
            "LeakyRelu",
            "Elu",
            "HardSigmoid",
            "HardSwish",
            "Mish",
            "Gelu",
            "Flatten",
            "Transpose",
            "BitwiseNot",
        ]
    },
    "IsNaN": (1, "bool"),
    "Shape": (1, "int64"),
    "Size": (1, "int64"),
}
SWEEP_OPSETS = [9, 13, 17, 21, 25, 28]
ELEM = {
    "float": onnx.TensorProto.FLOAT,
    "double": onnx.TensorProto.DOUBLE,
    "float16": onnx.TensorProto.FLOAT16,
    "bfloat16": onnx.TensorProto.BFLOAT16,
    "int8": onnx.TensorProto.INT8,
    "int16": onnx.TensorProto.INT16,
    "int32": onnx.TensorProto.INT32,
    "int64": onnx.TensorProto.INT64,
    "uint8": onnx.TensorProto.UINT8,
    "uint16": onnx.TensorProto.UINT16,
    "uint32": onnx.TensorProto.UINT32,
    "uint64": onnx.TensorProto.UINT64,
    "bool": onnx.TensorProto.BOOL,
}


def _session_ok(op: str, opset: int, inputs: list[str], output: str) -> bool:
    """Whether onnxruntime creates a CPU session for a one-node model (no graph optimizations)."""
    xs = [helper.make_tensor_value_info(f"x{i}", ELEM[t], [2, 3]) for i, t in enumerate(inputs)]
    y = helper.make_tensor_value_info("y", ELEM[output], None)
    node = helper.make_node(op, [x.name for x in xs], ["y"])
    graph = helper.make_graph([node], "g", xs, [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.log_severity_level = 3
    try:
        ort.InferenceSession(model.SerializeToString(), options, providers=[CPU])
    except Exception as exc:  # ORT raises its own NotImplemented / Fail classes
        if "NOT_IMPLEMENTED" in str(exc):
            return False
        raise
    return True


def _kernel_ok(s: SchemaVersion, elem: str, n_inputs: int, out: str) -> bool:
    t = f"tensor({elem})"
    o = f"tensor({elem if out == 'T' else out})"
    return match_kernel(CPU, s, "", s.op, s.since_version, [t] * n_inputs, [o]).ok


def test_cpu_predictions_agree_with_onnxruntime_sessions() -> None:
    """Every sweep op x opset x element type the schema allows (about 1,500 one-node models)
    against whether onnxruntime 1.32 creates a CPU session.

    ORT has two ways around a missing kernel, which the analyzer's placement models on top of
    match_kernel: a float16 node runs in float32 behind inserted Casts (InsertCastTransformer),
    and an op with a function body may be inlined (if the body's ops have kernels in turn). So:
    without a function body, session == kernel (or a float kernel for float16); with one, a
    kernel match must still mean a session.
    """
    disagreements = []
    checked = no_kernel = 0
    for opset in SWEEP_OPSETS:
        for op, (n_inputs, out) in SWEEP_OPS.items():
            s = load_schemas().resolve("", op, opset)
            if s is None:
                continue
            has_body = s.has_function or s.has_context_dependent_function
            for elem in ELEM:
                if f"tensor({elem})" not in s.type_constraints[s.inputs[0].type_str]:
                    continue
                kernel = _kernel_ok(s, elem, n_inputs, out)
                no_kernel += not kernel
                cast = elem == "float16" and _kernel_ok(s, "float", n_inputs, out)
                actual = _session_ok(op, opset, [elem] * n_inputs, elem if out == "T" else out)
                checked += 1
                if has_body:
                    if kernel and not actual:
                        disagreements.append((opset, op, s.since_version, elem, kernel, actual))
                elif (kernel or cast) != actual:
                    disagreements.append((opset, op, s.since_version, elem, kernel, actual))
    assert checked > 1000 and no_kernel > 100  # the sweep exercises both answers
    assert not disagreements, disagreements[:10]


# --- describe_op -------------------------------------------------------------------------------


def test_describe_relu_on_cpu() -> None:
    info = describe_op("Relu", opset=14, providers=["cpu"])
    assert [v.since_version for v in info.versions] == [1, 6, 13, 14]
    assert info.resolved is not None and info.resolved.since_version == 14
    cpu = info.providers[CPU]
    assert [r.range_str() for r in cpu.ranges] == ["[6, 12]", "13", "14+"]
    assert cpu.versions_without_kernel == (1,)
    assert cpu.resolved_has_kernel is True
    assert cpu.missing_types == {
        "T": ("tensor(bfloat16)", "tensor(float16)", "tensor(int16)", "tensor(int64)")
    }
    assert info.schema_provenance is not None and info.schema_provenance.library == "onnx"


def test_describe_op_needing_a_newer_opset() -> None:
    info = describe_op("HardSwish", opset=13)
    assert info.resolved is None and info.note == "HardSwish needs opset >= 14"
    assert set(info.providers) == {CPU, CUDA, "DmlExecutionProvider"}
    assert all(p.resolved_has_kernel is None for p in info.providers.values())


def test_describe_version_without_kernel_on_cuda() -> None:
    info = describe_op("Cast", opset=28, providers=["cuda", "cpu"])
    assert info.providers[CUDA].resolved_has_kernel is False
    assert 28 in info.providers[CUDA].versions_without_kernel
    assert info.providers[CPU].resolved_has_kernel is True


def test_describe_deprecated_and_kernel_only_ops() -> None:
    assert describe_op("Upsample", opset=10).note == "Upsample-10 is deprecated"
    dml = describe_op("DmlFusedConv", domain="com.microsoft.dml", providers=["dml"])
    assert dml.versions == () and dml.note.startswith("no schema")
    assert dml.providers["DmlExecutionProvider"].ranges


def test_describe_accepts_the_ai_onnx_spelling() -> None:
    assert describe_op("Relu", domain="ai.onnx").domain == ""


def test_unknown_op_lists_close_matches() -> None:
    with pytest.raises(LookupError, match="close matches: HardSwish"):
        describe_op("HardSwich")
    with pytest.raises(LookupError, match="close matches: Relu"):
        describe_op("relu")
    with pytest.raises(LookupError, match="no close matches"):
        describe_op("Zzzzzzzz")


def test_unknown_domain_lists_domains() -> None:
    with pytest.raises(LookupError, match="unknown domain 'org.example'.*'com.microsoft'"):
        describe_op("Foo", domain="org.example")
