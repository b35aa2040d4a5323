"""PLACEHOLDER (branch s3-scan): the real module comes from branch s3-index at merge.

`blocking_summary(cells)`: the ops that block the most models per opset and per provider."""

from __future__ import annotations

from typing import Any


def blocking_summary(cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Placeholder: no summary until s3-index's module replaces this one."""
    return []
