"""OperatorKernels.md parser: checked against the live CPU registry and against the md itself.

The md is ORT's own generated kernel list at the 1.25 line (commit 001d12d); the installed wheel
is onnxruntime 1.32.0. Its CPU section therefore differs from the live CPU registry, and the
difference is the best available check that the CUDA and DML sections (which cannot be read
live on a CPU wheel) are parsed right. Measured with onnxruntime 1.32.0 (also in docs/tables.md):

* md CPU rows (domain, op, version range): 605. Live CPU KernelDefs: 1517, which are 643
  distinct (domain, op, range) rows (ORT registers one def per type for many ops).
* shared rows: 593 = 98.0% of the md's rows, 92.2% of the live rows.
* md-only rows: 12, every one an open range 'N+' that the live registry closes at 26 or 27
  because ONNX opsets 27/28 added a version (e.g. Cast 25+ -> [25, 27] and 28+).
* live-only rows: 50 = 12 of those closed ranges + 14 new ranges starting at opset 26-28
  (BitCast 26, CumProd 26, Range 27, Cast/Celu/... 28) + 4 rows of two ai.onnx ops the md's CPU
  section lacks (DeformConv, NonMaxSuppression) + 20 com.microsoft ops newer than the md.
* shared rows with different types: 27 of 593 (566 = 95.4% identical); 51 types added in the live
  registry (e.g. double for Cos, bfloat16 for Pad / LayerNormalization) and 5 removed
  (LayerNormalization [1, 16] and SimplifiedLayerNormalization 1+: U double/float16;
  TensorScatter 24+: T string).

The bounds below allow for that and fail on anything outside those categories.
"""

from __future__ import annotations

import re

import pytest

from opsets.generators.ort_kernels import (
    OPERATOR_KERNELS_MD,
    MdKernelRow,
    RangeDiff,
    RangeKey,
    count_md_kernel_rows,
    diff_ranges,
    live_kernel_data,
    md_kernel_data,
    merge_ranges,
    parse_operator_kernels_md,
    parse_type_constraints,
    parse_version_range,
)
from opsets.tables import load_kernels, normalize_domain

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
DML = "DmlExecutionProvider"

#: First ONNX opset newer than the md (ORT 1.25 line knows opset 25).
NEW_OPSET_MIN = 26
#: Tolerances, set from the measured numbers in the module docstring.
MIN_MD_ROWS_LIVE = 0.95  # measured 0.980
MIN_SHARED_ROWS_SAME_TYPES = 0.90  # measured 0.954
MAX_NEW_CONTRIB_OPS = 30  # measured 20
#: ai.onnx ops the live CPU registry has but the md's CPU section does not list at all.
ONNX_OPS_MISSING_FROM_MD = frozenset({"DeformConv", "NonMaxSuppression"})
#: (domain, op, constraint): types the live registry dropped since the md.
ALLOWED_TYPE_REMOVALS = frozenset(
    {
        ("", "LayerNormalization", "U"),
        ("", "SimplifiedLayerNormalization", "U"),
        ("", "TensorScatter", "T"),
    }
)


@pytest.fixture(scope="module")
def md_text() -> str:
    return OPERATOR_KERNELS_MD.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def md_rows(md_text: str) -> dict[str, list[MdKernelRow]]:
    return parse_operator_kernels_md(md_text)


@pytest.fixture(scope="module")
def cpu_diff() -> RangeDiff:
    md = md_kernel_data((CPU,))[CPU]
    live = live_kernel_data()[CPU]
    return diff_ranges(merge_ranges(md), merge_ranges(live))


def _fmt(row: RangeKey) -> str:
    domain, op, start, end = row
    rng = f"{start}+" if end is None else f"[{start}, {end}]"
    return f"{domain + '.' if domain else ''}{op} {rng}"


def _summary(diff: RangeDiff) -> str:
    return (
        f"md rows {diff.left_total}, live rows {diff.right_total}, shared {diff.shared}; "
        f"md-only {len(diff.only_left)}: {', '.join(map(_fmt, diff.only_left))}; "
        f"live-only {len(diff.only_right)}: {', '.join(map(_fmt, diff.only_right))}; "
        f"type changes {len(diff.type_changes)}"
    )


# --- the parser itself -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("13+", (13, None)), ("[6, 12]", (6, 12)), ("13", (13, 13)), (" [1,10] ", (1, 10))],
)
def test_version_ranges(text: str, expected: tuple[int, int | None]) -> None:
    assert parse_version_range(text) == expected


def test_bad_version_range_is_an_error() -> None:
    with pytest.raises(ValueError, match="unrecognised"):
        parse_version_range("13-")


def test_type_constraints_split_on_br_and_top_level_commas() -> None:
    text = (
        "**T1** = map(int64,tensor(float)), seq(map(string,tensor(float)))<br/> "
        "**T2** = tensor(float), tensor(int64)"
    )
    assert parse_type_constraints(text) == {
        "T1": ("map(int64,tensor(float))", "seq(map(string,tensor(float)))"),
        "T2": ("tensor(float)", "tensor(int64)"),
    }


@pytest.mark.parametrize(
    ("spelled", "domain"),
    [
        ("ai.onnx", ""),
        ("kOnnxDomain", ""),
        ("kMSDomain", "com.microsoft"),
        ("ai.onnx.ml", "ai.onnx.ml"),
    ],
)
def test_domains_are_normalised(spelled: str, domain: str) -> None:
    assert normalize_domain(spelled) == domain


def test_every_kernel_row_of_the_md_is_parsed(
    md_text: str, md_rows: dict[str, list[MdKernelRow]]
) -> None:
    """Row counts agree with an independent count, and with the raw table lines."""
    assert set(md_rows) == {CPU, CUDA, DML}
    assert {p: len(rows) for p, rows in md_rows.items()} == count_md_kernel_rows(md_text)
    table_lines = [ln for ln in md_text.splitlines() if ln.startswith("|")]
    structural = [
        ln
        for ln in table_lines
        if ln.startswith(("| Op Name", "|---", "|**Operator Domain", "| |"))
    ]
    assert sum(len(r) for r in md_rows.values()) == len(table_lines) - len(structural)


def test_continuation_rows_inherit_the_op(md_rows: dict[str, list[MdKernelRow]]) -> None:
    abs_cpu = [(r.start, r.end) for r in md_rows[CPU] if r.domain == "" and r.op == "Abs"]
    assert abs_cpu == [(13, None), (6, 12)]
    add_cpu = [(r.start, r.end) for r in md_rows[CPU] if r.domain == "" and r.op == "Add"]
    assert add_cpu == [(14, None), (13, 13), (7, 12)]


def test_every_row_has_types_and_a_known_domain(md_rows: dict[str, list[MdKernelRow]]) -> None:
    domains = {r.domain for rows in md_rows.values() for r in rows}
    assert domains == {
        "",
        "ai.onnx.ml",
        "com.microsoft",
        "com.microsoft.nchwc",
        "com.ms.internal.nhwc",
        "com.microsoft.dml",
    }
    type_str = re.compile(r"^(tensor|seq|map|optional|sparse_tensor)\(.+\)$")
    for rows in md_rows.values():
        for r in rows:
            assert r.types, r
            assert all(type_str.match(t) for ts in r.types.values() for t in ts), r


# --- sanity of the CUDA and DML sections -----------------------------------------------------


@pytest.mark.parametrize("op", ["Conv", "MatMul"])
def test_cuda_has_float16_conv_and_matmul(op: str) -> None:
    kernels = load_kernels().kernels(CUDA, "", op)
    latest = max(kernels, key=lambda k: k.start)
    assert latest.end is None
    assert {"tensor(float)", "tensor(float16)"} <= set(latest.type_constraints["T"])


def test_dml_section_is_parsed(md_rows: dict[str, list[MdKernelRow]]) -> None:
    table = load_kernels()
    assert len(md_rows[DML]) == 423
    assert table.kernels(DML, "", "Conv")
    assert "DmlFusedConv" in table.ops(DML, "com.microsoft.dml")
    # DML registers open ranges for old versions too: Abs 6+ and 13+
    assert [k.range_str() for k in table.kernels(DML, "", "Abs")] == ["6+", "13+"]


def test_shipped_cuda_and_dml_are_the_md_rows(md_rows: dict[str, list[MdKernelRow]]) -> None:
    table = load_kernels()
    for provider in (CUDA, DML):
        shipped = sum(
            len(table.kernels(provider, d, op))
            for d in table.domains(provider)
            for op in table.ops(provider, d)
        )
        assert shipped == len(md_rows[provider])


# --- md CPU section vs the live CPU registry -------------------------------------------------


def test_most_md_cpu_rows_exist_in_the_live_registry(cpu_diff: RangeDiff) -> None:
    share = cpu_diff.shared / cpu_diff.left_total
    assert share >= MIN_MD_ROWS_LIVE, _summary(cpu_diff)


def test_md_only_rows_are_open_ranges_closed_by_newer_opsets(cpu_diff: RangeDiff) -> None:
    live_rows = merge_ranges(live_kernel_data()[CPU])
    for domain, op, start, end in cpu_diff.only_left:
        closed = [
            e for (d, o, s, e) in live_rows if (d, o, s) == (domain, op, start) and e is not None
        ]
        assert end is None and closed and closed[0] + 1 >= NEW_OPSET_MIN, (
            f"unexpected md-only row {_fmt((domain, op, start, end))}; {_summary(cpu_diff)}"
        )


def test_live_only_rows_are_newer_than_the_md(cpu_diff: RangeDiff) -> None:
    md = md_kernel_data((CPU,))[CPU]
    md_ops = {(d, op) for d, ops in md.items() for op in ops}
    md_open = {(d, o, s) for (d, o, s, e) in merge_ranges(md) if e is None}
    categories: dict[str, list[str]] = {"closed": [], "new_opset": [], "onnx_op": [], "contrib": []}
    for row in cpu_diff.only_right:
        domain, op, start, end = row
        if (domain, op, start) in md_open and end is not None and end + 1 >= NEW_OPSET_MIN:
            categories["closed"].append(_fmt(row))
        elif start >= NEW_OPSET_MIN:
            categories["new_opset"].append(_fmt(row))
        elif domain == "" and op in ONNX_OPS_MISSING_FROM_MD:
            categories["onnx_op"].append(_fmt(row))
        elif domain == "com.microsoft" and (domain, op) not in md_ops:
            categories["contrib"].append(_fmt(row))
        else:
            pytest.fail(f"unexpected live-only row {_fmt(row)}; {_summary(cpu_diff)}")
    assert len(categories["closed"]) == len(cpu_diff.only_left)
    assert len(categories["contrib"]) <= MAX_NEW_CONTRIB_OPS, categories["contrib"]


def test_type_differences_are_mostly_additions(cpu_diff: RangeDiff) -> None:
    same = cpu_diff.shared - len(cpu_diff.type_changes)
    assert same / cpu_diff.shared >= MIN_SHARED_ROWS_SAME_TYPES, _summary(cpu_diff)
    for (domain, op, start, end), per_name in cpu_diff.type_changes:
        for name, (_added, removed) in per_name.items():
            assert not removed or (domain, op, name) in ALLOWED_TYPE_REMOVALS, (
                f"live registry dropped {removed} from {_fmt((domain, op, start, end))} {name}"
            )
