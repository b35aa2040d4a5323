"""Whether a rewrite reached its target opset, and if not, which nodes block it and why.

A pass that was asked for opset N and delivers another must say so, node by node, so that the
user knows what to change: a tool that reports success at the wrong opset is worse than none.
The opset is read from the model's own opset_import (the CLI reads it back from the written
file), never assumed from what was asked.

Each blocker is one node of the default domain, its op and the version it has in the model, and
one of three causes:

* ``no-lower-form``: the op does not exist at the target opset and no rule of the registry
  rewrote it (LayerNormalization below 17 once no rule decomposes it), or the node sets an
  attribute value the op accepts only above the target (ScatterElements' reduction="add"
  below 16: rewrites.onnx.attribute_values);
* ``rule-declined``: a rule that rewrites this op looked at the node and declined (its reason),
  or was rolled back (why);
* ``no-adapter``: the op exists at the target, but the conversion of its version failed (the
  converter's message: onnx.version_converter has no adapter for it, or the project's own
  adapter could not take this node).

When the conversion failed without naming an op, or was rolled back because the outputs changed,
the whole model is the blocker (node "model").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import onnx

from opsets.tables import load_schemas
from rewrites.contract import Reason
from rewrites.onnx import attribute_values
from rewrites.onnx.rule import RewriteModel

__all__ = ["Blocker", "Cause", "blockers", "delivered_opset"]

Cause = Literal["no-lower-form", "rule-declined", "no-adapter", "conversion-failed"]

_CAUSE_TEXT: dict[str, str] = {
    "no-lower-form": "no lower form exists",
    "rule-declined": "a rule declined",
    "no-adapter": "no adapter yet",
    "conversion-failed": "the conversion failed",
}


@dataclass(frozen=True)
class Blocker:
    """One node that keeps the model from the target opset: `version` is the op's version in
    the model (its schema's since_version at the model's opset; None for the whole model)."""

    node: str
    op: str
    version: int | None
    cause: Cause
    reason: str

    def line(self) -> str:
        """One line for the text report."""
        what = f"{self.op}-{self.version}" if self.op and self.version else (self.op or "model")
        return f"{self.node} ({what}): {_CAUSE_TEXT[self.cause]}: {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        return {"node": self.node, "op": self.op, "version": self.version,
                "cause": self.cause, "reason": self.reason}


def delivered_opset(model: onnx.ModelProto) -> int | None:
    """The ai.onnx opset the model imports (None when it imports none)."""
    for item in model.opset_import:
        if item.domain in ("", "ai.onnx"):
            return int(item.version)
    return None


def blockers(model: onnx.ModelProto, target: int, log: Sequence[Any],
             failure: Reason | None = None) -> list[Blocker]:
    """The nodes that block `model` (the pass's result) from `target`: empty when it is there.
    `log`: the pass's RewriteLogEntry list (a rule's skipped / rolled_back entries give the
    rule-declined reasons); `failure`: version-convert's Reason when it delivered no model."""
    opset = delivered_opset(model)
    if opset == target:
        return []
    declined: dict[str, str] = {}
    for entry in log:
        if entry.status in ("skipped", "rolled_back") and entry.node not in ("", "model") \
                and not (entry.reason or "").startswith("not chosen"):
            verb = "was rolled back" if entry.status == "rolled_back" else "declined"
            declined.setdefault(entry.node, f"{entry.rule} {verb}: {entry.reason}")
    schemas = load_schemas()
    failed_op = failure.node if failure is not None and failure.node != "model" else None
    found: list[Blocker] = []
    records = [r for r in (RewriteModel(model).records() if opset is not None else [])
               if not r.domain]
    # a node whose attribute value exists only above the target blocks by itself; the other
    # nodes of its op convert once it is gone (onnx names none of them when it fails on it)
    by_value = {r.name: why for r in records if r.proto is not None and (
        why := attribute_values.missing_at(r.op, r.proto, target)) is not None}
    value_ops = {r.op for r in records if r.name in by_value}
    for record in records:
        have = schemas.resolve("", record.op, opset)
        version = have.since_version if have is not None else None
        there = schemas.resolve("", record.op, target)
        if record.name in by_value and there is not None:
            found.append(Blocker(record.name, record.op, version, "no-lower-form",
                                 by_value[record.name]))
            continue
        if there is None or there.deprecated:
            if record.name in declined:
                found.append(Blocker(record.name, record.op, version, "rule-declined",
                                     declined[record.name]))
            else:
                found.append(Blocker(record.name, record.op, version, "no-lower-form",
                                     f"{record.op} does not exist at opset {target} and no "
                                     "rule of the registry rewrites this node"))
        elif (record.op == failed_op and there.since_version != version
              and record.op not in value_ops):
            assert failure is not None
            found.append(Blocker(record.name, record.op, version, "no-adapter",
                                 f"{record.op}-{version} -> {record.op}-{there.since_version}: "
                                 f"{failure.text}"))
    if not found:
        text = failure.text if failure is not None else (
            f"the model is at opset {opset}, not {target}")
        found.append(Blocker("model", "", opset, "conversion-failed", text))
    return found
