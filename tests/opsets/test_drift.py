"""The shipped tables must equal what the installed libraries (and the copied md) generate.

A version bump of onnx or onnxruntime, or a new OperatorKernels.md, changes the tables; this test
makes that a deliberate, reviewed regeneration instead of a silent mismatch.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import pytest

from opsets.generators.onnx_downconvert import DOWNCONVERT_EXPAND_DEPTH
from opsets.generators.onnx_schemas import SCHEMAS_EXPAND_DEPTH
from opsets.generators.ort_inlining import INLINING_EXPAND_DEPTH
from opsets.generators.ort_kernels import KERNELS_EXPAND_DEPTH
from opsets.generators.torch_converters import TORCH_CONVERTERS_EXPAND_DEPTH
from opsets.generators.write import (
    DOWNCONVERT_JSON,
    INLINING_JSON,
    KERNELS_JSON,
    SCHEMAS_JSON,
    TORCH_CONVERTERS_JSON,
    build_tables,
    dumps_diffable,
    without_date,
    write_tables,
)

#: How deep to flatten each table before comparing: one entry per (domain, op) or
#: (provider, domain, op), so a message names the op that changed.
FLATTEN_DEPTH = {SCHEMAS_JSON.name: 3, KERNELS_JSON.name: 4}
SHOWN_DIFFS = 5


def _flatten(obj: Any, depth: int, prefix: str = "") -> dict[str, str]:
    if depth == 0 or not isinstance(obj, dict) or not obj:
        return {prefix: json.dumps(obj, sort_keys=True)}
    out: dict[str, str] = {}
    for key, value in obj.items():
        # provenance is small: flatten it fully so a version change is named exactly
        sub = 99 if key == "provenance" else depth - 1
        out.update(_flatten(value, sub, f"{prefix}/{key!s}" if prefix else str(key)))
    return out


def _short(text: str | None, limit: int = 160) -> str:
    if text is None:
        return "<missing>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _describe(shipped: str | None, fresh: str | None) -> list[str]:
    """For record lists show only the records that differ; otherwise both values."""
    a = json.loads(shipped) if shipped is not None else None
    b = json.loads(fresh) if fresh is not None else None
    if isinstance(a, list) and isinstance(b, list):
        ja = [json.dumps(r, sort_keys=True) for r in a]
        jb = [json.dumps(r, sort_keys=True) for r in b]
        gone = [r for r in ja if r not in jb]
        new = [r for r in jb if r not in ja]
        return [
            f"    only shipped ({len(gone)}):   {_short('; '.join(gone)) if gone else '-'}",
            f"    only installed ({len(new)}): {_short('; '.join(new)) if new else '-'}",
        ]
    return [f"    shipped:   {_short(shipped)}", f"    installed: {_short(fresh)}"]


def _drift_message(name: str, shipped: dict[str, Any], fresh: dict[str, Any]) -> str | None:
    flat_shipped = _flatten(shipped, FLATTEN_DEPTH[name])
    flat_fresh = _flatten(fresh, FLATTEN_DEPTH[name])
    keys = sorted(
        k
        for k in flat_shipped.keys() | flat_fresh.keys()
        if flat_shipped.get(k) != flat_fresh.get(k)
    )
    if not keys:
        return None
    lines = [
        f"opsets/data/{name} is out of date: {len(keys)} of "
        f"{len(flat_shipped.keys() | flat_fresh.keys())} entries differ from the installed "
        "libraries; first diffs:"
    ]
    for key in keys[:SHOWN_DIFFS]:
        lines.append(f"  {key or '<root>'}")
        lines.extend(_describe(flat_shipped.get(key), flat_fresh.get(key)))
    lines.append("run `python -m opsets.generate` and review the diff")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def fresh_tables() -> dict[str, dict[str, Any]]:
    return build_tables()


@pytest.mark.parametrize("name", [SCHEMAS_JSON.name, KERNELS_JSON.name])
def test_shipped_table_matches_installed_libraries(
    name: str, fresh_tables: dict[str, dict[str, Any]]
) -> None:
    path = SCHEMAS_JSON.parent / name
    shipped = json.loads(path.read_text(encoding="utf-8"))
    message = _drift_message(name, without_date(shipped), fresh_tables[name])
    if message is not None:
        pytest.fail(message, pytrace=False)


@pytest.mark.parametrize(
    ("name", "depth"),
    [
        (SCHEMAS_JSON.name, SCHEMAS_EXPAND_DEPTH),
        (KERNELS_JSON.name, KERNELS_EXPAND_DEPTH),
        (INLINING_JSON.name, INLINING_EXPAND_DEPTH),
        (TORCH_CONVERTERS_JSON.name, TORCH_CONVERTERS_EXPAND_DEPTH),
        (DOWNCONVERT_JSON.name, DOWNCONVERT_EXPAND_DEPTH),
    ],
)
def test_shipped_file_is_in_canonical_form(name: str, depth: int) -> None:
    """Hand edits (or another formatter) would make the next regeneration a noisy diff."""
    text = (SCHEMAS_JSON.parent / name).read_text(encoding="utf-8")
    shipped = json.loads(text)
    assert text == dumps_diffable(shipped, depth) + "\n"
    datetime.date.fromisoformat(shipped["provenance"]["generated"])


def test_drift_message_names_table_count_and_fix() -> None:
    shipped = {"provenance": {"version": "1"}, "schemas": {"": {"A": [1], "B": [2]}}}
    fresh = {"provenance": {"version": "2"}, "schemas": {"": {"A": [1], "B": [3], "C": [4]}}}
    message = _drift_message(SCHEMAS_JSON.name, shipped, fresh)
    assert message is not None
    assert "onnx_schemas.json" in message and "3 of 4 entries differ" in message
    assert "provenance/version" in message and "schemas//B" in message and "schemas//C" in message
    assert "python -m opsets.generate" in message


def test_generation_is_date_independent(tmp_path: Path) -> None:
    """Same libraries, different day: identical bytes (the first date is kept)."""
    first = write_tables(tmp_path, today=lambda: datetime.date(2024, 1, 2))
    texts = [p.read_text(encoding="utf-8") for p in first]
    second = write_tables(tmp_path, today=lambda: datetime.date(2030, 5, 6))
    assert [p.read_text(encoding="utf-8") for p in second] == texts
    assert '"generated":"2024-01-02"' in texts[0]
