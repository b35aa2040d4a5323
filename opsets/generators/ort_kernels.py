"""Build the ONNX Runtime kernel table: which (domain, op, version range, types) each EP implements.

CPU comes from the live kernel registry of the installed wheel (the ground truth for what this
environment runs). CUDA and DML cannot be read from a CPU wheel, so they come from ORT's generated
docs/OperatorKernels.md, copied to opsets/data/sources/ with its SOURCE.md; the same parser also
reads the md's CPU section so a test can measure how far the md lags the live registry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import onnxruntime
from onnxruntime.capi import _pybind_state

from opsets.generators.cache import build_once
from opsets.tables import DATA_DIR, normalize_domain

#: root > kernels > provider > domain > op > [kernel records] (one kernel a line in the file)
KERNELS_EXPAND_DEPTH = 5

#: ORT registers open-ended kernels with end = INT_MAX; the tables store None instead.
ORT_OPEN_END = 2147483647

SOURCES_DIR = DATA_DIR / "sources"
OPERATOR_KERNELS_MD = SOURCES_DIR / "OperatorKernels.md"
SOURCE_NOTE = SOURCES_DIR / "SOURCE.md"

#: Providers read from the live registry; everything else comes from the md. Fixed, not "whatever
#: the wheel has", so an onnxruntime-gpu install produces the same table as the CPU wheel.
LIVE_PROVIDERS: tuple[str, ...] = ("CPUExecutionProvider",)
MD_PROVIDERS: tuple[str, ...] = ("CUDAExecutionProvider", "DmlExecutionProvider")

LIVE_SOURCE = "live registry onnxruntime.capi._pybind_state.get_all_opkernel_def()"

#: JSON form of one kernel: {"start": int, "end": int | None, "types": {name: [type, ...]}}.
KernelRecord = dict[str, Any]
#: provider -> domain -> op -> kernel records.
KernelData = dict[str, dict[str, dict[str, list[KernelRecord]]]]


@dataclass(frozen=True)
class MdKernelRow:
    """One kernel row of OperatorKernels.md (continuation rows inherit the op name)."""

    provider: str
    domain: str
    op: str
    start: int
    end: int | None
    types: dict[str, tuple[str, ...]]
    line: int


_PROVIDER_HEADING = re.compile(r"^##\s+Operators implemented by\s+(\S+)\s*$")
_DOMAIN_ROW = re.compile(r"^\|\*\*Operator Domain:\*\*\s*\*([^*]+)\*")
_SINGLE = re.compile(r"^(\d+)$")
_OPEN = re.compile(r"^(\d+)\+$")
_CLOSED = re.compile(r"^\[(\d+),\s*(\d+)\]$")
_CONSTRAINT = re.compile(r"^\*\*([^*]+)\*\*\s*=\s*(.*)$")


def parse_version_range(text: str) -> tuple[int, int | None]:
    """'13+' -> (13, None); '[6, 12]' -> (6, 12); '13' -> (13, 13)."""
    text = text.strip()
    if m := _OPEN.match(text):
        return int(m.group(1)), None
    if m := _CLOSED.match(text):
        return int(m.group(1)), int(m.group(2))
    if m := _SINGLE.match(text):
        return int(m.group(1)), int(m.group(1))
    raise ValueError(f"unrecognised opset version range {text!r}")


def _split_top_level(text: str) -> list[str]:
    """Split 'tensor(a), map(int64,tensor(b))' on commas outside parentheses."""
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    tail = "".join(current).strip()
    if tail:
        parts.append(tail)
    return [p for p in parts if p]


def parse_type_constraints(text: str) -> dict[str, tuple[str, ...]]:
    """'**T** = tensor(double), tensor(float)<br/> **T1** = ...' -> {'T': (...), 'T1': (...)}."""
    out: dict[str, tuple[str, ...]] = {}
    for chunk in re.split(r"<br\s*/?>", text):
        chunk = chunk.strip()
        if not chunk:
            continue
        m = _CONSTRAINT.match(chunk)
        if m is None:
            raise ValueError(f"unrecognised type constraint {chunk!r}")
        name = m.group(1).strip()
        out[name] = tuple(sorted(set(out.get(name, ())) | set(_split_top_level(m.group(2)))))
    return out


def _cells(line: str) -> list[str]:
    """Cells of a markdown table row, without the outer pipes (the md escapes no pipes)."""
    body = line.strip()
    if body.startswith("|"):
        body = body[1:]
    if body.endswith("|"):
        body = body[:-1]
    return [c.strip() for c in body.split("|")]


def parse_operator_kernels_md(text: str) -> dict[str, list[MdKernelRow]]:
    """Parse every provider section of OperatorKernels.md into kernel rows, in file order."""
    rows: dict[str, list[MdKernelRow]] = {}
    provider: str | None = None
    domain: str | None = None
    op: str | None = None
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if m := _PROVIDER_HEADING.match(line):
            provider, domain, op = m.group(1), None, None
            rows.setdefault(provider, [])
            continue
        if provider is None or not line.startswith("|"):
            continue
        if m := _DOMAIN_ROW.match(line):
            domain, op = normalize_domain(m.group(1)), None
            continue
        cells = _cells(line)
        if len(cells) != 4 or domain is None:
            continue  # header, separator ('|---|'), and the '| |' spacer rows
        name, _params, version, types = cells
        if name.startswith("-") or name == "Op Name":
            continue
        if name:
            op = name
        if op is None or not version:
            raise ValueError(f"OperatorKernels.md line {lineno}: kernel row without op or version")
        start, end = parse_version_range(version)
        rows[provider].append(
            MdKernelRow(provider, domain, op, start, end, parse_type_constraints(types), lineno)
        )
    return rows


def count_md_kernel_rows(text: str) -> dict[str, int]:
    """Rows that look like kernel rows (a version cell), per provider: a parser cross-check."""
    counts: dict[str, int] = {}
    provider: str | None = None
    version_cell = re.compile(r"^\|[^|]*\|[^|]*\|\s*(\d+\+?|\[\d+,\s*\d+\])\s*\|")
    for raw in text.splitlines():
        if m := _PROVIDER_HEADING.match(raw.strip()):
            provider = m.group(1)
            counts[provider] = 0
        elif provider is not None and version_cell.match(raw.strip()):
            counts[provider] += 1
    return counts


def md_source_info(note_path: Path = SOURCE_NOTE) -> dict[str, str]:
    """Commit and ORT API version of the copied md, read from its SOURCE.md."""
    text = note_path.read_text(encoding="utf-8")
    commit = re.search(r"commit\s+([0-9a-f]{40})", text)
    api = re.search(r"ORT_API_VERSION\s+(\d+)", text)
    return {
        "commit": commit.group(1) if commit else "unknown",
        "version": f"1.{api.group(1)} line" if api else "unknown",
    }


def _record(start: int, end: int | None, types: dict[str, Any]) -> KernelRecord:
    return {
        "start": start,
        "end": end,
        "types": {name: sorted(set(ts)) for name, ts in sorted(types.items())},
    }


def _record_sort_key(r: KernelRecord) -> tuple[int, int, str]:
    end = ORT_OPEN_END if r["end"] is None else r["end"]
    return (r["start"], end, repr(sorted(r["types"].items())))


def _sorted_data(data: KernelData) -> KernelData:
    return {
        provider: {
            domain: {
                op: sorted(records, key=_record_sort_key)
                for op, records in sorted(data[provider][domain].items())
            }
            for domain in sorted(data[provider])
        }
        for provider in sorted(data)
    }


def live_kernel_data(providers: tuple[str, ...] = LIVE_PROVIDERS) -> KernelData:
    """Kernels of the installed onnxruntime, one record per registered KernelDef (not merged:
    ORT matches each def separately, so merging the types of two defs could invent combinations).
    """
    data: KernelData = {}
    for k in _pybind_state.get_all_opkernel_def():
        if k.provider not in providers:
            continue
        start, end = (int(v) for v in k.version_range)
        record = _record(start, None if end >= ORT_OPEN_END else end, dict(k.type_constraints))
        ops = data.setdefault(k.provider, {}).setdefault(k.domain, {})
        ops.setdefault(k.op_name, []).append(record)
    return _sorted_data(data)


def md_kernel_data(
    providers: tuple[str, ...] = MD_PROVIDERS, md_path: Path = OPERATOR_KERNELS_MD
) -> KernelData:
    """Kernels of the given providers as the md lists them (one record per md row)."""
    parsed = parse_operator_kernels_md(md_path.read_text(encoding="utf-8"))
    data: KernelData = {}
    for provider in providers:
        for row in parsed.get(provider, []):
            ops = data.setdefault(provider, {}).setdefault(row.domain, {})
            ops.setdefault(row.op, []).append(_record(row.start, row.end, dict(row.types)))
    return _sorted_data(data)


def build_kernel_table(md_path: Path = OPERATOR_KERNELS_MD) -> dict[str, Any]:
    """Return {"provenance": ..., "kernels": ...}; the writer adds provenance.generated.
    Built once per process and md; a fresh copy each call."""
    return build_once(f"{__name__}:{md_path.resolve()}", lambda: _kernel_table(md_path))


def _kernel_table(md_path: Path) -> dict[str, Any]:
    kernels = {**live_kernel_data(), **md_kernel_data(md_path=md_path)}
    info = md_source_info(md_path.parent / SOURCE_NOTE.name)
    provenance: dict[str, dict[str, str]] = {}
    for provider in kernels:
        if provider in LIVE_PROVIDERS:
            provenance[provider] = {
                "library": "onnxruntime",
                "version": onnxruntime.__version__,
                "source": LIVE_SOURCE,
            }
        else:
            provenance[provider] = {
                "library": "onnxruntime",
                "version": info["version"],
                "source": (
                    "opsets/data/sources/OperatorKernels.md (microsoft/onnxruntime "
                    f"docs/OperatorKernels.md at commit {info['commit']})"
                ),
            }
    header = {
        "library": "onnxruntime",
        "version": onnxruntime.__version__,
        "source": f"{LIVE_SOURCE} for {', '.join(LIVE_PROVIDERS)}; OperatorKernels.md "
        f"({info['version']}, commit {info['commit']}) for {', '.join(MD_PROVIDERS)}",
        "providers": dict(sorted(provenance.items())),
    }
    return {"provenance": header, "kernels": _sorted_data(kernels)}


#: (domain, op, start, end): one kernel version range of an op.
RangeKey = tuple[str, str, int, int | None]
#: RangeKey -> {constraint name: allowed types}; one row per distinct range, as the md lists them.
RangeRows = dict[RangeKey, dict[str, frozenset[str]]]


def merge_ranges(provider_data: dict[str, dict[str, list[KernelRecord]]]) -> RangeRows:
    """Merge the records of one provider per (domain, op, range), as the md presents them."""
    rows: RangeRows = {}
    for domain, ops in provider_data.items():
        for op, records in ops.items():
            for rec in records:
                merged = rows.setdefault((domain, op, rec["start"], rec["end"]), {})
                for name, types in rec["types"].items():
                    merged[name] = merged.get(name, frozenset()) | frozenset(types)
    return rows


@dataclass(frozen=True)
class RangeDiff:
    """How two kernel listings of one provider differ, row by row (row = domain, op, range)."""

    only_left: tuple[RangeKey, ...]
    only_right: tuple[RangeKey, ...]
    #: rows in both whose types differ: (row, {name: (added on the right, removed on the right)})
    type_changes: tuple[tuple[RangeKey, dict[str, tuple[tuple[str, ...], tuple[str, ...]]]], ...]
    shared: int
    left_total: int
    right_total: int


def _row_key(row: RangeKey) -> tuple[str, str, int, int]:
    domain, op, start, end = row
    return (domain, op, start, ORT_OPEN_END if end is None else end)


def diff_ranges(left: RangeRows, right: RangeRows) -> RangeDiff:
    """Compare two listings (e.g. the md's CPU section vs the live CPU registry)."""
    shared = set(left) & set(right)
    changes = []
    for row in sorted(shared, key=_row_key):
        a, b = left[row], right[row]
        if a == b:
            continue
        per_name = {
            name: (
                tuple(sorted(b.get(name, frozenset()) - a.get(name, frozenset()))),
                tuple(sorted(a.get(name, frozenset()) - b.get(name, frozenset()))),
            )
            for name in sorted(set(a) | set(b))
            if a.get(name) != b.get(name)
        }
        changes.append((row, per_name))
    return RangeDiff(
        only_left=tuple(sorted(set(left) - shared, key=_row_key)),
        only_right=tuple(sorted(set(right) - shared, key=_row_key)),
        type_changes=tuple(changes),
        shared=len(shared),
        left_total=len(left),
        right_total=len(right),
    )
