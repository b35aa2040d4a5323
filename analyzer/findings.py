"""Findings: what a check says about a model, with a stable id and the fixes that answer it.

Every id is registered in `analyzer.finding_ids`; a `Finding` checks its id and severity there
when it is made, so an unregistered or misspelt id fails where it is written, not in a report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from analyzer.finding_ids import FindingKind, Severity, finding_kind

__all__ = ["SEVERITY_RANK", "Finding", "Fix", "FixKind", "Severity", "Status"]

FixKind = Literal["opset", "rewrite", "source"]

#: "open": the finding still stands; "resolved": a later real run (the export, the conversion)
#: decided its question, so it no longer counts toward the verdict or `--fail-on`.
Status = Literal["open", "resolved"]

SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "error": 2}


@dataclass(frozen=True)
class Fix:
    """One way out: move to an opset, apply a rewrite rule, or change the source. A rewrite
    fix's `command` is the exact command line that applies its rule to this model (added where
    the model's path or source is known: analyzer.workflows.fix_commands)."""

    kind: FixKind
    min: int | None = None
    rule: str | None = None
    hint: str | None = None
    command: str | None = None

    def to_dict(self) -> dict[str, Any]:
        if self.kind == "opset":
            return {"kind": "opset", "min": self.min}
        if self.kind == "rewrite":
            out: dict[str, Any] = {"kind": "rewrite", "rule": self.rule}
            if self.command:
                out["command"] = self.command
            return out
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
    status: Status = "open"
    resolved_by: str | None = None

    def __post_init__(self) -> None:
        kind = finding_kind(self.id)
        if self.severity not in kind.severities:
            raise ValueError(f"finding {self.id} cannot have severity {self.severity!r} "
                             f"(registered: {' / '.join(kind.severities)})")

    @classmethod
    def of(cls, kind: FindingKind, message: str, *, severity: Severity | None = None,
           **fields: Any) -> Finding:
        """A finding of `kind`, at the kind's usual severity unless `severity` names another
        it allows."""
        return cls(kind.id, severity or kind.severity, message, **fields)

    @property
    def is_open(self) -> bool:
        """Whether the finding still counts toward the verdict (not decided by a real run)."""
        return self.status == "open"

    def resolve(self, by: str) -> None:
        """Mark the finding decided by a real run; `by` says which run and what it showed."""
        self.status = "resolved"
        self.resolved_by = by

    @property
    def kind(self) -> FindingKind:
        """The registry entry of this finding's id."""
        return finding_kind(self.id)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "severity": self.severity,
            "op": self.op,
            "nodes": list(self.nodes),
            "location": self.location,
            "message": self.message,
            "fixes": [f.to_dict() for f in self.fixes],
            "status": self.status,
        }
        if self.resolved_by:
            out["resolved_by"] = self.resolved_by
        if self.domain:
            out["domain"] = self.domain
        if self.provider:
            out["provider"] = self.provider
        return out
