"""The findings-driven rewrite pass: analyze, apply the rules that answer the findings, analyze
again, until nothing more is fixable; then convert to the target opset. What `onnx-preflight
rewrite` runs.

Which rule runs where comes from the findings' fixes (`{"kind": "rewrite", "rule": ...}`, added
by analyzer.workflows.rule_fixes): a rule runs on the nodes of the findings that list it, and
only exact rules run unless the user names rules. Named rules (`only`) run on every node they
match, findings or not: naming onnx:approx-relu asks for every HardSwish to become Relu.
"""

from __future__ import annotations

import dataclasses
import os
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import onnx

from analyzer.finding_ids import EP303
from analyzer.findings import SEVERITY_RANK
from analyzer.limits import check_opset
from analyzer.onnx_weights import load_with_weights
from analyzer.report.model import Report
from analyzer.workflows.onnx_preflight import analyze
from rewrites.onnx.target_check import Blocker, blockers, delivered_opset
from rewrites.passes import RewriteLogEntry, RewriteResult, apply, select_rules
from rewrites.registry import ONNX_RULES, canonical

#: Findings the pass acts on: errors and warnings, and EP303 (no kernel for a function op, ORT
#: inlines its body at load time: expanding it in the file is exact and lets runtimes without
#: that inlining run the model). Other info findings only list their fixes.
ACT_ON = frozenset({"error", "warning"})
ACT_ON_INFO = frozenset({EP303.id})


@dataclass
class PassReport:
    """The pass's outcome: the rewritten model with the merged log, the analysis before and
    after (findings, placement), and the rounds it took."""

    result: RewriteResult
    before: Report
    after: Report
    rounds: int = 0
    proposals: dict[str, list[str]] = field(default_factory=dict)
    #: what was asked (None: no target) and what the result's opset_import says
    target_opset: int | None = None
    opset_before: int | None = None
    delivered_opset: int | None = None
    #: the nodes that keep the result from target_opset (empty when it is reached)
    blockers: list[Blocker] = field(default_factory=list)

    @property
    def reached(self) -> bool:
        """Whether the result is at the target opset (True when none was asked, and for a dry
        run, which converts nothing)."""
        return not self.blockers

    def placement(self) -> dict[str, Any]:
        """{"before": {provider: summary}, "after": {...}} from the two analyses."""
        return {"before": self.before.placement, "after": self.after.placement}


class TargetNotReached(RuntimeError):
    """run_pass was asked for an opset it cannot deliver (and not forced): `report` names the
    blocking nodes. Raised so that the model at the wrong opset is never saved by mistake."""

    def __init__(self, report: PassReport) -> None:
        lines = "; ".join(b.line() for b in report.blockers[:5])
        more = f" (and {len(report.blockers) - 5} more)" if len(report.blockers) > 5 else ""
        super().__init__(f"target opset {report.target_opset} not reached (the result is at "
                         f"opset {report.delivered_opset}): {lines}{more}")
        self.report = report


def plan(report: Report, only: Collection[str] | None = None) -> dict[str, list[str]]:
    """rule id -> nodes, from the rewrite fixes of the error and warning findings."""
    planned: dict[str, list[str]] = {}
    exact = {r.id for r in ONNX_RULES if r.exact}
    for finding in report.findings:
        if finding.severity not in ACT_ON and finding.id not in ACT_ON_INFO:
            continue
        for fix in finding.fixes:
            if fix.kind != "rewrite" or fix.rule is None:
                continue
            if fix.rule not in exact and (only is None or fix.rule not in only):
                continue
            planned.setdefault(fix.rule, []).extend(finding.nodes)
    return planned


def run_pass(
    model: onnx.ModelProto | str | os.PathLike[str],
    *,
    target_opset: int | None = None,
    providers: Sequence[str] = ("cpu",),
    only: Collection[str] | None = None,
    dry_run: bool = False,
    max_rounds: int = 6,
    seed: int = 0,
    force: bool = False,
    consume: bool = False,
) -> PassReport:
    """Analyze, rewrite what the findings ask for (or the named rules), re-analyze, repeat;
    convert to `target_opset` last. The input model is not modified.

    When the result is not at `target_opset`, TargetNotReached (its `report` names the blocking
    nodes) unless `force`, which returns the report with `blockers` set.

    A path is read with its external data (the loader's location checks first); an in-memory
    model whose weights are still in files is refused (EXTERNAL_DATA_NEEDS_PATH). Write the
    result with analyzer.onnx_weights.write_model (external data auto|always|never).

    `consume`: the caller gives the in-memory `model` up, and the pass rewrites it in place
    instead of a copy (a path is always read into a model the pass owns): one copy of the
    weights less at the peak (docs/rewrites.md#peak-memory-with-external-weights)."""
    check_opset(target_opset, "target_opset")
    owned = consume or not isinstance(model, onnx.ModelProto)
    model = load_with_weights(model).model
    opset_before = delivered_opset(model)
    if only is not None:
        only = [canonical(i) for i in only]
    named = select_rules(None, only) if only is not None else None
    before = analyze(model, opset=target_opset, providers=providers)
    report = before
    work = model
    merged = RewriteResult(model)
    rounds = 0
    proposals: dict[str, list[str]] = {}
    outputs = None  # the current model's outputs, carried so each step runs it only once
    feeds = None  # the inputs they were computed on
    for _ in range(max_rounds):
        planned = plan(report, only)
        if named is not None:
            rules = named
            nodes = None
        else:
            rules = [r for r in ONNX_RULES if r.id in planned]
            nodes = planned
        if not rules:
            break
        rounds += 1
        if dry_run:
            proposals = planned
            step = apply(work, rules=rules, only=[r.id for r in rules], dry_run=True,
                         nodes=nodes, target_opset=target_opset, providers=providers)
            _merge(merged, step)
            _why_not_others(merged, work, report, rules, target_opset, providers)
            break
        in_place = owned or work is not model
        step = apply(work, rules=rules, only=[r.id for r in rules], nodes=nodes,
                     target_opset=target_opset, providers=providers, convert=False, seed=seed,
                     max_rounds=2, expected=outputs, feeds=feeds, copy=not in_place)
        _merge(merged, step)
        outputs, feeds = step.outputs, step.feeds
        if step.applied or (in_place and step.model is not work):
            # in place (owned), a rolled-back rule left `work` changed: step.model is the
            # snapshot it went back to
            work = step.model
        if not step.applied:
            break
        report = analyze(work, opset=target_opset, providers=providers)
    if target_opset is not None:
        step = apply(work, rules=(), only=[], dry_run=dry_run, target_opset=target_opset,
                     providers=providers, seed=seed, expected=outputs, feeds=feeds,
                     copy=not (owned or work is not model))
        _merge(merged, step)
        if not dry_run:
            work = step.model
    changed = work is not model or any(e.status == "applied" for e in merged.log)
    after = analyze(work, opset=target_opset, providers=providers) if changed else before
    if work is model and not owned:  # nothing applied (or a dry run): never the caller's proto
        work = onnx.ModelProto()
        work.CopyFrom(model)
    merged.model = work
    passed = PassReport(merged, before, after, rounds, proposals, target_opset=target_opset,
                        opset_before=opset_before, delivered_opset=delivered_opset(work))
    if target_opset is not None and not dry_run:
        passed.blockers = blockers(work, target_opset, merged.log, merged.blocked)
        if passed.blockers and not force:
            raise TargetNotReached(passed)
    return passed


@dataclass(frozen=True)
class RuleSummary:
    """One rule's line of the pass: how many nodes it changed, proposed, skipped and rolled
    back, its worst measured error, and its most frequent reason (with how many nodes gave it).
    `change`: what onnx:version-convert changed ("opset 20 -> 13"), empty for node rules."""

    rule: str
    exact: bool
    applied: int = 0
    proposed: int = 0
    skipped: int = 0
    rolled_back: int = 0
    max_abs_error: float | None = None
    max_rel_error: float | None = None
    reason: str | None = None
    reason_count: int = 0
    change: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def rule_summaries(log: Sequence[RewriteLogEntry]) -> list[RuleSummary]:
    """One RuleSummary per rule of the log, in the order the rules first appear."""
    order: list[str] = []
    entries: dict[str, list[RewriteLogEntry]] = {}
    for e in log:
        if e.rule not in entries:
            order.append(e.rule)
        entries.setdefault(e.rule, []).append(e)
    out = []
    for rule in order:
        group = entries[rule]
        counts = Counter(e.status for e in group)
        reasons = Counter(e.reason for e in group if e.reason and e.status != "applied")
        reason, count = reasons.most_common(1)[0] if reasons else (None, 0)
        errors = [e.max_abs_error for e in group if e.max_abs_error is not None]
        rel = [e.max_rel_error for e in group if e.max_rel_error is not None]
        change = next((f"{'/'.join(e.removed)} -> {'/'.join(e.added)}" for e in group
                       if e.node == "model" and e.removed), "")
        out.append(RuleSummary(rule, group[0].exact, counts["applied"], counts["proposed"],
                               counts["skipped"], counts["rolled_back"],
                               max(errors) if errors else None, max(rel) if rel else None,
                               reason, count, change))
    return out


def _merge(into: RewriteResult, step: RewriteResult) -> None:
    seen = {(e.rule, e.node, e.status) for e in into.log}
    into.log += [e for e in step.log if (e.rule, e.node, e.status) not in seen
                 or e.status == "applied"]
    for rule, error in step.max_abs_error.items():
        into.max_abs_error[rule] = max(error, into.max_abs_error.get(rule, 0.0))
    for rule, outputs in step.output_errors.items():
        target = into.output_errors.setdefault(rule, {})
        for name, e in outputs.items():
            old = target.get(name, {"max_abs": 0.0, "max_rel": 0.0})
            target[name] = {k: max(old[k], e[k]) for k in ("max_abs", "max_rel")}
    into.verified_with = step.verified_with or into.verified_with
    into.blocked = step.blocked or into.blocked


def _why_not_others(merged: RewriteResult, model: onnx.ModelProto, report: Report,
                    chosen: Sequence[Any], target_opset: int | None,
                    providers: Sequence[str]) -> None:
    """Dry run: the other registry rules on the findings' nodes, for their reasons (and their
    proposals, approximate ones included, marked as not chosen)."""
    nodes = sorted({n for f in report.findings
                    if SEVERITY_RANK[f.severity] > 0 or f.id in ACT_ON_INFO for n in f.nodes})
    others = [r for r in ONNX_RULES if r not in chosen]
    if not nodes or not others:
        return
    step = apply(model, rules=others, only=[r.id for r in others], dry_run=True,
                 nodes={r.id: nodes for r in others}, target_opset=target_opset,
                 providers=providers, convert=False)
    for entry in step.log:
        if entry.status == "proposed":
            entry.status = "skipped"
            entry.reason = ("not chosen: " + ("approximate, name it with --rules to apply"
                                              if not entry.exact else
                                              "an earlier rule answers this finding"))
        merged.log.append(entry)


__all__ = ["Blocker", "PassReport", "RewriteLogEntry", "RuleSummary", "TargetNotReached", "plan",
           "rule_summaries", "run_pass"]
