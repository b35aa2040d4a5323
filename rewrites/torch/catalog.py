"""The PyTorch source rules: the default set, which of them a model needs, and the context that
applies them for one export.

A rule is proposed when the model uses what it replaces (`check`) and its targets say the op
stops this exporter at this opset; a rule named explicitly runs whenever the model uses it
(approximate ones only when named). Every other rule gets its reason.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from analyzer.finding_ids import EXP101, EXP102, EXP103, EXP105, EXP106
from analyzer.findings import Finding, Fix
from rewrites.rule import Reason
from rewrites.torch import (
    attention,
    celu_translation,
    gelu,
    group_norm,
    hardswish,
    layer_norm,
    mish,
    silu,
    trilu_translation,
)
from rewrites.torch.rule import SourceModel, TorchMatch, TorchRule, answers

DEFAULT_TORCH_RULES: tuple[TorchRule, ...] = (
    attention.RULE,
    layer_norm.RULE,
    group_norm.RULE,
    gelu.RULE,
    hardswish.RULE,
    mish.RULE,
    silu.RULE,
    celu_translation.RULE,
    trilu_translation.RULE,
)

Status = Literal["proposed", "skipped"]


@dataclass
class TorchProposal:
    """One rule's answer for one export: proposed (with what it changes) or skipped (why)."""

    rule: str
    exact: bool
    status: Status
    match: TorchMatch | None = None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rule": self.rule, "exact": self.exact, "status": self.status}
        if self.match is not None:
            out.update(modules=list(self.match.modules), calls=len(self.match.calls),
                       change=self.match.describe())
        if self.reason:
            out["reason"] = self.reason
        return out


def rule_ids(rules: Sequence[TorchRule] = DEFAULT_TORCH_RULES) -> list[str]:
    return [r.id for r in rules]


def propose(source: SourceModel, rules: Sequence[TorchRule] = DEFAULT_TORCH_RULES,
            only: Collection[str] | None = None) -> list[TorchProposal]:
    """Each rule's proposal for this export. `only` names rules to run whenever the model uses
    them (unknown ids raise ValueError, listing the known ones)."""
    if only is not None:
        unknown = set(only) - {r.id for r in rules}
        if unknown:
            raise ValueError(f"unknown source rule(s): {', '.join(sorted(unknown))}; known: "
                             f"{', '.join(r.id for r in rules)}")
    out = []
    for rule in rules:
        named = only is not None and rule.id in only
        if only is not None and not named:
            out.append(TorchProposal(rule.id, rule.exact, "skipped", reason="not named"))
            continue
        if not named and not rule.exact:
            out.append(TorchProposal(rule.id, rule.exact, "skipped",
                                     reason="approximate: runs only when named"))
            continue
        result = rule.check(source)
        if isinstance(result, Reason):
            out.append(TorchProposal(rule.id, rule.exact, "skipped", reason=result.text))
        elif not named and not answers(rule, source.exporter, source.opset):
            ops = sorted({t.op for t in rule.targets}) or ["its op"]
            out.append(TorchProposal(
                rule.id, rule.exact, "skipped", match=result,
                reason=f"not needed: {', '.join(ops)} exports with the {source.exporter} "
                f"exporter at opset {source.opset}"))
        else:
            out.append(TorchProposal(rule.id, rule.exact, "proposed", match=result))
    return out


@contextlib.contextmanager
def applied(source: SourceModel, proposals: Sequence[TorchProposal],
            rules: Sequence[TorchRule] = DEFAULT_TORCH_RULES) -> Iterator[list[str]]:
    """Enter every proposed rule's context (in rule order); yields the ids applied. Everything
    is undone on exit, in reverse order, also when the export inside raises."""
    by_id = {r.id: r for r in rules}
    ids: list[str] = []
    with contextlib.ExitStack() as stack:
        for proposal in proposals:
            if proposal.status != "proposed" or proposal.match is None:
                continue
            stack.enter_context(by_id[proposal.rule].apply(source, proposal.match))
            ids.append(proposal.rule)
        yield ids


def attach_fixes(findings: Sequence[Finding], proposals: Sequence[TorchProposal],
                 rules: Sequence[TorchRule] = DEFAULT_TORCH_RULES) -> None:
    """List the proposed rules among the fixes of the findings they answer: EXP101 / EXP102 /
    EXP105 by the op, EXP103 / EXP106 (the dynamo exporter cannot deliver the opset) by every
    proposed rule (each removes an op that blocks the conversion)."""
    by_id = {r.id: r for r in rules}
    proposed = [by_id[p.rule] for p in proposals if p.status == "proposed"]
    for finding in findings:
        if finding.id in (EXP101.id, EXP102.id, EXP105.id):
            matching = [r for r in proposed if finding.op in _ops(r)]
        elif finding.id in (EXP103.id, EXP106.id):
            matching = list(proposed)
        else:
            continue
        have = {f.rule for f in finding.fixes if f.kind == "rewrite"}
        for rule in matching:
            if rule.id not in have:
                finding.fixes.append(Fix("rewrite", rule=rule.id))


def _ops(rule: TorchRule) -> set[str]:
    ops = {t.op for t in rule.targets}
    ops.update(getattr(rule, "ops", ()))
    return ops
