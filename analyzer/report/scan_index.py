"""PLACEHOLDER (branch s3-scan): the real module comes from branch s3-index at merge.

`render_index(matrix)`: the scan's self-contained index.html."""

from __future__ import annotations

import html
from typing import Any


def render_index(matrix: dict[str, Any]) -> str:
    """Placeholder: a plain list of cells linking to their reports."""
    rows = []
    for c in matrix["cells"]:
        name = html.escape(f"{c['source']} opset={c['opset']} exporter={c['exporter']}")
        link = (f'<a href="{html.escape(c["report_html"])}">{name}</a>' if c["report_html"]
                else name)
        rows.append(f"<li>{link}: {html.escape(c['verdict'])}</li>")
    return ("<!doctype html><html><head><meta charset='utf-8'><title>onnx-preflight scan"
            "</title></head><body><ul>" + "".join(rows) + "</ul></body></html>\n")
