"""The scan's outputs: matrix.json (schema onnx-preflight/scan/1), matrix.csv, index.html."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from analyzer.environment import tool_version
from analyzer.report.scan_index import render_index
from analyzer.report.scan_summary import blocking_summary
from analyzer.safe_write import write_atomically
from analyzer.workflows.scan.plan import SCHEMA, ScanPlan

VERDICTS = ("pass", "warn", "fail", "error", "crashed", "timeout")
CSV_HEADERS = ("source", "kind", "opset", "exporter", "providers", "verdict",
               "lowest_working_opset", "blocking", "duration_s", "cached", "report_html")


def build_matrix(plan: ScanPlan, tables: dict[str, Any],
                 cells: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The matrix.json document; `cells` in the plan's order."""
    exporters = sorted({c["exporter"] for c in cells if c["exporter"] is not None})
    opsets = sorted({c["opset"] for c in cells if c["opset"] is not None})
    counts = Counter(c["verdict"] for c in cells)
    return {
        "schema": SCHEMA,
        "tool_version": tool_version(),
        "tables": tables,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "axes": {"opsets": opsets, "exporters": exporters, "providers": list(plan.providers)},
        "sources": [s.to_dict() for s in plan.sources],
        "cells": list(cells),
        "summary": {"blocking_ops": blocking_summary(list(cells)),
                    "counts": {v: counts.get(v, 0) for v in VERDICTS}},
    }


def to_csv(matrix: dict[str, Any]) -> str:
    """One row per cell; blocking findings as `ID:op` joined by spaces."""
    kinds = {s["id"]: s["kind"] for s in matrix["sources"]}
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_HEADERS)
    for c in matrix["cells"]:
        blocking = " ".join(f"{b['id']}:{b['op']}" if b["op"] else b["id"]
                            for b in c["blocking"])
        writer.writerow([c["source"], kinds.get(c["source"], ""), _blank(c["opset"]),
                         _blank(c["exporter"]), ",".join(c["providers"]), c["verdict"],
                         _blank(c["lowest_working_opset"]), blocking, f"{c['duration_s']:.3f}",
                         "true" if c["cached"] else "false", _blank(c["report_html"])])
    return buffer.getvalue()


def _blank(value: Any) -> str:
    return "" if value is None else str(value)


def write_outputs(out_dir: Path, matrix: dict[str, Any]) -> list[Path]:
    """matrix.json, matrix.csv and index.html in `out_dir`, each written atomically."""
    files = {"matrix.json": json.dumps(matrix, indent=2) + "\n", "matrix.csv": to_csv(matrix),
             "index.html": render_index(matrix)}
    for name, text in files.items():
        write_atomically(out_dir / name, text)
    return [out_dir / name for name in files]
