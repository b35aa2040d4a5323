"""Build every table and write it to opsets/data/ (run by `python -m opsets.generate`).

Output is deterministic (sorted keys, one record per line) so a library bump shows up as a
readable diff; the only date-dependent field is provenance.generated, which the drift test ignores
and which is kept unchanged when the content did not change.
"""

from __future__ import annotations

import datetime
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from opsets.generators.onnx_downconvert import DOWNCONVERT_EXPAND_DEPTH, build_downconvert_table
from opsets.generators.onnx_schemas import SCHEMAS_EXPAND_DEPTH, build_schema_table
from opsets.generators.ort_inlining import INLINING_EXPAND_DEPTH, build_inlining_table
from opsets.generators.ort_kernels import (
    KERNELS_EXPAND_DEPTH,
    OPERATOR_KERNELS_MD,
    build_kernel_table,
)
from opsets.generators.tf2onnx_handlers import (
    TF2ONNX_HANDLERS_EXPAND_DEPTH,
    build_tf2onnx_table,
    tf2onnx_available,
)
from opsets.generators.torch_converters import (
    TORCH_CONVERTERS_EXPAND_DEPTH,
    build_torch_converter_table,
    torch_available,
)
from opsets.onnx_downconvert import DOWNCONVERT_PATH
from opsets.ort_inlining import INLINING_PATH
from opsets.tables import DATA_DIR, KERNELS_PATH, SCHEMAS_PATH
from opsets.tf2onnx_handlers import TF2ONNX_HANDLERS_PATH
from opsets.torch_converters import TORCH_CONVERTERS_PATH

# Where each table is written; the expand depths (the nesting below which containers get one
# entry per line, deeper ones compact) are declared beside each generator.
SCHEMAS_JSON = SCHEMAS_PATH
KERNELS_JSON = KERNELS_PATH
INLINING_JSON = INLINING_PATH
DOWNCONVERT_JSON = DOWNCONVERT_PATH
TORCH_CONVERTERS_JSON = TORCH_CONVERTERS_PATH
TF2ONNX_HANDLERS_JSON = TF2ONNX_HANDLERS_PATH


def dumps_diffable(obj: Any, expand_depth: int, _depth: int = 0) -> str:
    """JSON with sorted keys (provenance first): containers above expand_depth one entry a line,
    deeper ones compact, so a changed kernel or schema version is a one-line diff."""
    if _depth >= expand_depth or not isinstance(obj, dict | list) or not obj:
        return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    pad = " " * (_depth + 1)
    if isinstance(obj, dict):
        # The provenance header goes first in the file; every other key is sorted.
        keys = sorted(obj, key=lambda k: (k != "provenance", k)) if _depth == 0 else sorted(obj)
        items = [
            f"{pad}{json.dumps(key)}:{dumps_diffable(obj[key], expand_depth, _depth + 1)}"
            for key in keys
        ]
        return "{\n" + ",\n".join(items) + "\n" + " " * _depth + "}"
    items = [f"{pad}{dumps_diffable(v, expand_depth, _depth + 1)}" for v in obj]
    return "[\n" + ",\n".join(items) + "\n" + " " * _depth + "]"


def without_date(table: dict[str, Any]) -> dict[str, Any]:
    """The table minus provenance.generated: what equality (drift) checks compare."""
    provenance = {k: v for k, v in table.get("provenance", {}).items() if k != "generated"}
    return {**table, "provenance": provenance}


def _with_date(table: dict[str, Any], generated: str) -> dict[str, Any]:
    return {**table, "provenance": {**table["provenance"], "generated": generated}}


def build_tables(md_path: Path = OPERATOR_KERNELS_MD) -> dict[str, dict[str, Any]]:
    """Both tables, in memory, without the generated date: {file name: table}."""
    tables = {
        SCHEMAS_JSON.name: build_schema_table(),
        KERNELS_JSON.name: build_kernel_table(md_path),
        INLINING_JSON.name: build_inlining_table(),
    }
    tables[DOWNCONVERT_JSON.name] = build_downconvert_table()
    if torch_available():  # torch is an optional extra; without it the shipped table stays
        tables[TORCH_CONVERTERS_JSON.name] = build_torch_converter_table()
    if tf2onnx_available():  # tensorflow + tf2onnx are an optional extra, like torch
        tables[TF2ONNX_HANDLERS_JSON.name] = build_tf2onnx_table()
    return tables


def _existing_date(path: Path, fresh: dict[str, Any]) -> str | None:
    """The shipped file's date when its content equals the fresh table (so no churn)."""
    try:
        shipped = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if without_date(shipped) == fresh:
        generated = shipped.get("provenance", {}).get("generated")
        return generated if isinstance(generated, str) else None
    return None


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; the tables are ordinary package data
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def write_tables(
    out_dir: Path = DATA_DIR,
    today: Callable[[], datetime.date] = datetime.date.today,
) -> list[Path]:
    """Generate and write every table; returns the paths written."""
    depth = {
        SCHEMAS_JSON.name: SCHEMAS_EXPAND_DEPTH,
        KERNELS_JSON.name: KERNELS_EXPAND_DEPTH,
        INLINING_JSON.name: INLINING_EXPAND_DEPTH,
        DOWNCONVERT_JSON.name: DOWNCONVERT_EXPAND_DEPTH,
        TORCH_CONVERTERS_JSON.name: TORCH_CONVERTERS_EXPAND_DEPTH,
        TF2ONNX_HANDLERS_JSON.name: TF2ONNX_HANDLERS_EXPAND_DEPTH,
    }
    written = []
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, table in build_tables().items():
        path = out_dir / name
        generated = _existing_date(path, table) or today().isoformat()
        _write_atomic(path, dumps_diffable(_with_date(table, generated), depth[name]) + "\n")
        written.append(path)
    return written
