"""The scan's list of blocking ops: which ops block the most models, where.

A converter maintainer asks "which op do I fix first?"; a runtime maintainer asks "which kernel
is missing on my provider?". One ranked list answers both, grouped so that each entry is one
thing to fix:

* an **export blocker** (a blocking finding with no provider: the exporter, the converter, the
  ONNX schemas at that opset) is grouped per (op, domain, opset, exporter): the same op can
  export at opset 18 and not at 13, with dynamo and not with torchscript. An ONNX file scanned
  as is counts at its own opset (`model_opset`), with `exporter` None.
* a **runtime blocker** (a blocking finding that names a provider: no kernel, a session that
  fails there) is grouped per (op, domain, provider), over every opset and exporter: a missing
  kernel is one fix, whatever produced the model. `opsets` lists the opsets it was seen at.

`models` counts distinct sources (a model blocked at three opsets counts once per entry of its
own opset, and once in its provider's entry). Only `error` findings block: a warning runs. A
blocking finding without an op (a capture that failed, a crash) is no op to fix; it stays in
its cell and in the verdict counts, not here. Sorted by models (desc), then op, domain, opset,
exporter, provider, so the order is stable across runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: A blocking finding of this severity blocks; the others are shown in their cell only.
BLOCKING_SEVERITY = "error"

#: The scan's cell verdicts, best first (the heat map's legend order).
VERDICTS: tuple[str, ...] = ("pass", "warn", "fail", "error", "crashed", "timeout")

EXPORT = "export"
RUNTIME = "runtime"


@dataclass
class _Group:
    kind: str
    op: str
    domain: str
    opset: int | None
    exporter: str | None
    provider: str | None
    finding_ids: set[str] = field(default_factory=set)
    sources: set[str] = field(default_factory=set)
    opsets: set[int] = field(default_factory=set)
    cells: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"op": self.op, "domain": self.domain, "kind": self.kind, "opset": self.opset,
                "exporter": self.exporter, "provider": self.provider,
                "finding_ids": sorted(self.finding_ids), "sources": sorted(self.sources),
                "models": len(self.sources), "cells": self.cells,
                "opsets": sorted(self.opsets)}


def _cell_opset(cell: dict[str, Any]) -> int | None:
    """The opset the cell's model is at: the requested one, or an ONNX file's own."""
    opset = cell.get("opset")
    return opset if opset is not None else cell.get("model_opset")


def blocking_summary(cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ops that block the most models, one entry per (op, opset, exporter) for export
    blockers and per (op, provider) for runtime blockers (see the module docstring)."""
    groups: dict[tuple[Any, ...], _Group] = {}
    for cell in cells:
        source = str(cell.get("source"))
        opset = _cell_opset(cell)
        exporter = cell.get("exporter")
        seen: set[tuple[Any, ...]] = set()  # one cell counts once per group
        for finding in cell.get("blocking") or []:
            if finding.get("severity") != BLOCKING_SEVERITY or not finding.get("op"):
                continue
            op, domain = str(finding["op"]), str(finding.get("domain") or "ai.onnx")
            provider = finding.get("provider")
            if provider:
                key: tuple[Any, ...] = (RUNTIME, op, domain, None, None, str(provider))
            else:
                key = (EXPORT, op, domain, opset, exporter, None)
            group = groups.get(key)
            if group is None:
                group = groups[key] = _Group(*key)
            group.finding_ids.add(str(finding.get("id")))
            group.sources.add(source)
            if opset is not None:
                group.opsets.add(int(opset))
            if key not in seen:
                seen.add(key)
                group.cells += 1
    entries = [g.to_dict() for g in groups.values()]
    entries.sort(key=lambda e: (-e["models"], e["op"], e["domain"],
                                -1 if e["opset"] is None else e["opset"],
                                e["exporter"] or "", e["provider"] or ""))
    return entries


def verdict_counts(cells: list[dict[str, Any]]) -> dict[str, int]:
    """Cells per verdict, every verdict present (zeros included) in the contract's order."""
    counts = dict.fromkeys(VERDICTS, 0)
    for cell in cells:
        verdict = str(cell.get("verdict"))
        counts[verdict] = counts.get(verdict, 0) + 1
    return counts

