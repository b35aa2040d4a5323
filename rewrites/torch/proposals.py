"""Which PyTorch source rules (rewrites.registry, family "torch") a model needs, and the context
that applies them for one export.

A rule is proposed when the model uses what it replaces (`check`) and its targets say the op
stops this exporter at this opset; a rule named explicitly runs whenever the model uses it
(approximate ones only when named). Every other rule gets its reason.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from rewrites import registry
from rewrites.contract import Reason, UnknownRule
from rewrites.torch.rule import SourceModel, TorchMatch, TorchRule, needed

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
            change = self.match.payload
            out.update(modules=list(change.modules), calls=len(change.calls),
                       change=change.describe())
        if self.reason:
            out["reason"] = self.reason
        return out


def default_rules() -> tuple[TorchRule, ...]:
    """Every source rule, in order (approximate ones are proposed only when named)."""
    return registry.TORCH_RULES


def propose(source: SourceModel, rules: Sequence[TorchRule] | None = None,
            only: Collection[str] | None = None) -> list[TorchProposal]:
    """Each rule's proposal for this export. `only` names rules to run whenever the model uses
    them (unknown ids raise rewrites.contract.UnknownRule, a ValueError listing the known
    ones)."""
    rules = default_rules() if rules is None else rules
    if only is not None:
        only = {registry.canonical(i) for i in only}
        unknown = set(only) - {r.id for r in rules}
        if unknown:
            raise UnknownRule(sorted(unknown), [r.id for r in rules], "torch",
                              registry.elsewhere(sorted(unknown), "torch"))
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
        elif not named and not needed(rule, source.exporter, source.opset):
            ops = sorted({t.op for t in rule.targets}) or ["its op"]
            out.append(TorchProposal(
                rule.id, rule.exact, "skipped", match=result,
                reason=f"not needed: {', '.join(ops)} exports with the {source.exporter} "
                f"exporter at opset {source.opset}"))
        else:
            out.append(TorchProposal(rule.id, rule.exact, "proposed", match=result))
    return out


@contextlib.contextmanager
def applied(source: SourceModel, proposals: Sequence[TorchProposal]) -> Iterator[list[str]]:
    """Enter every proposed rule's context (in rule order); yields the ids applied. Everything
    is undone on exit, in reverse order, also when the export inside raises."""
    ids: list[str] = []
    with contextlib.ExitStack() as stack:
        for proposal in proposals:
            if proposal.status != "proposed" or proposal.match is None:
                continue
            rule = registry.rule(proposal.rule, "torch")
            stack.enter_context(rule.apply(source, proposal.match))
            ids.append(proposal.rule)
        yield ids
