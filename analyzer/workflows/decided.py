"""Pre-flight findings a real run decided: after torch.onnx.export or tf2onnx wrote the file,
a finding whose question was "will the export / conversion fail here?" is answered, so it is
marked resolved (it stays in the report, with `resolved_by`, and no longer counts toward the
verdict or `--fail-on`).

Only questions the written file answers are resolved: a conditional TorchScript symbolic
(EXP108) that did not raise, a missing translation (EXP101/105) or a failed capture or
translation (TRC401, EXP102) when the file came out at the requested opset, dynamo's down
conversion (EXP103) when the requested opset was delivered, tf2onnx handler predictions
(TFC601-604, TFC613) when tf2onnx converted every node. Risks the file cannot answer
(TracerWarnings, training mode, guessed tensor names) stay open.
"""

from __future__ import annotations

from collections.abc import Iterable

from analyzer.finding_ids import (
    EXP101,
    EXP102,
    EXP103,
    EXP105,
    EXP108,
    TFC601,
    TFC602,
    TFC603,
    TFC604,
    TFC613,
    TRC401,
)
from analyzer.findings import Finding

__all__ = ["resolve_after_conversion", "resolve_after_export"]

#: decided by an export that did not raise, whatever opset it delivered
_DECIDED_BY_SUCCESS = frozenset({EXP108.id})
#: decided only when the file also came out at the requested opset (dynamo may fall back to
#: opset 18, which answers nothing about the requested one: EXP106 says so)
_DECIDED_AT_OPSET = frozenset({EXP101.id, EXP102.id, EXP103.id, EXP105.id, TRC401.id})
#: tf2onnx's handler predictions, decided when the conversion converted every node
_DECIDED_BY_CONVERSION = frozenset({TFC601.id, TFC602.id, TFC603.id, TFC604.id, TFC613.id})


def resolve_after_export(findings: Iterable[Finding], exporter: str, opset: int,
                         delivered: int | None) -> list[Finding]:
    """Mark the pre-flight findings a successful torch.onnx.export (`exporter` at `opset`,
    which wrote a file at opset `delivered`) has decided; returns the ones it resolved."""
    run = f"torch.onnx.export ({exporter}, opset {opset}) ran and wrote the file"
    resolved = []
    for f in findings:
        if not f.is_open:
            continue
        if f.id in _DECIDED_BY_SUCCESS:
            f.resolve(f"{run}: the translation did not raise for this call")
        elif f.id in _DECIDED_AT_OPSET and delivered == opset:
            f.resolve(f"{run} at opset {delivered}: "
                      + ("the requested opset was delivered" if f.id == EXP103.id
                         else "the op was translated"))
        else:
            continue
        resolved.append(f)
    return resolved


def resolve_after_conversion(findings: Iterable[Finding], opset: int,
                             clean: bool) -> list[Finding]:
    """Mark tf2onnx's handler predictions resolved once the conversion at `opset` converted
    every node (`clean`: nothing unsupported, no handler failed); returns the ones it
    resolved."""
    if not clean:
        return []
    resolved = []
    for f in findings:
        if f.is_open and f.id in _DECIDED_BY_CONVERSION:
            f.resolve(f"tf2onnx converted every node at opset {opset}, "
                      f"{f.op or 'this op'} included")
            resolved.append(f)
    return resolved
