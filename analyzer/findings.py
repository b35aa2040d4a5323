"""Findings: what a check says about a model, with a stable id and the fixes that answer it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]
FixKind = Literal["opset", "rewrite", "source"]

SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "error": 2}


@dataclass(frozen=True)
class Fix:
    """One way out: move to an opset, apply a rewrite rule, or change the source."""

    kind: FixKind
    min: int | None = None
    rule: str | None = None
    hint: str | None = None

    def to_dict(self) -> dict[str, Any]:
        if self.kind == "opset":
            return {"kind": "opset", "min": self.min}
        if self.kind == "rewrite":
            return {"kind": "rewrite", "rule": self.rule}
        return {"kind": "source", "hint": self.hint}


@dataclass
class Finding:
    """A check's verdict on one op (or the whole model), aggregated over the nodes it concerns."""

    id: str
    severity: Severity
    message: str
    op: str | None = None
    domain: str = ""
    nodes: list[str] = field(default_factory=list)
    location: str | None = None
    fixes: list[Fix] = field(default_factory=list)
    provider: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "severity": self.severity,
            "op": self.op,
            "nodes": list(self.nodes),
            "location": self.location,
            "message": self.message,
            "fixes": [f.to_dict() for f in self.fixes],
        }
        if self.domain:
            out["domain"] = self.domain
        if self.provider:
            out["provider"] = self.provider
        return out
