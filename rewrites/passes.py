"""The rewrite pass: run rules over a copy of the model, one rule at a time, and keep a rule's
changes only when the result passes onnx.checker (full check) and matches the model before the
rule numerically on seeded inputs. Verifying per rule is what lets the log carry each rule's
own max abs error and roll back just the rule that broke something."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import onnx
import onnx.checker

from analyzer.runtime.inputs import Feeds, random_inputs
from analyzer.runtime.verify import default_tolerance
from rewrites.onnx.expand_function import ExpandFunction
from rewrites.rule import Match, Reason, RewriteModel, Rule

DEFAULT_RULES: tuple[Rule, ...] = (ExpandFunction(),)

Status = Literal["applied", "skipped", "proposed", "rolled_back"]


@dataclass
class RewriteLogEntry:
    """What one rule did (or why not) to one node; `max_abs_error` is the rule's whole batch
    measured against the model before it."""

    rule: str
    node: str
    exact: bool
    status: Status
    reason: str | None = None
    removed: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    max_abs_error: float | None = None


@dataclass
class RewriteResult:
    """The rewritten copy (the input untouched), the log, and max abs error per applied rule."""

    model: onnx.ModelProto
    log: list[RewriteLogEntry] = field(default_factory=list)
    max_abs_error: dict[str, float] = field(default_factory=dict)
    verified_with: str | None = None

    @property
    def applied(self) -> list[RewriteLogEntry]:
        return [e for e in self.log if e.status == "applied"]


def apply(
    model: onnx.ModelProto,
    rules: Sequence[Rule] = DEFAULT_RULES,
    only: Collection[str] | None = None,
    dry_run: bool = False,
    *,
    seed: int = 0,
    samples: int = 2,
    max_rounds: int = 4,
) -> RewriteResult:
    """Apply `rules` (exact ones by default; `only` names rule ids, approximate ones included)
    to a copy of `model`. `dry_run` logs proposals ("proposed") and returns an unchanged copy.
    Rounds repeat while something applied, since a body may hold further function ops."""
    if only is not None:
        unknown = set(only) - {r.id for r in rules}
        if unknown:
            raise ValueError(f"unknown rewrite rule(s): {', '.join(sorted(unknown))}")
    selected = [r for r in rules if (r.id in only if only is not None else r.exact)]
    work = RewriteModel(_copy(model))
    result = RewriteResult(work.proto)
    checker_ok = _checker_error(model) is None
    feeds = random_inputs(model, samples=samples, seed=seed).samples
    current: tuple[list[list[np.ndarray]], str] | None = None
    reasons_logged: set[tuple[str, str]] = set()
    for _ in range(max_rounds):
        progressed = False
        for rule in selected:
            matches = _matches(rule, work, result, reasons_logged)
            if not matches:
                continue
            if dry_run:
                result.log += [_entry(rule, m, "proposed") for m in matches]
                continue
            before = _copy(work.proto)
            for m in sorted(matches, key=lambda m: -m.index):
                rule.apply(work, m)
            work.commit()
            if current is None:
                current = _run(before, feeds)
            failure, after = _verify(work.proto, current[0], feeds, checker_ok)
            if failure is not None:
                inserted = {k: v for k, v in work.inserted_by.items() if v != rule.id}
                work = RewriteModel(before)
                work.inserted_by = inserted
                result.model = work.proto
                result.log += [_entry(rule, m, "rolled_back", failure) for m in matches]
                continue
            assert after is not None
            error = _max_abs(after[0], current[0])
            result.max_abs_error[rule.id] = max(error, result.max_abs_error.get(rule.id, 0.0))
            result.verified_with = after[1]
            result.log += [_entry(rule, m, "applied", error=error) for m in matches]
            current = after
            progressed = True
        if not progressed:
            break
    result.model = work.proto
    return result


def _matches(rule: Rule, work: RewriteModel, result: RewriteResult,
             reasons_logged: set[tuple[str, str]]) -> list[Match]:
    targets = {(t.domain, t.op) for t in rule.targets}
    matches: list[Match] = []
    for record in work.records():
        if (record.domain, record.op) not in targets or work.inserted_by.get(
                record.name) == rule.id:
            continue
        found = rule.check(work, record)
        if isinstance(found, Reason):
            if (rule.id, found.node) not in reasons_logged:
                reasons_logged.add((rule.id, found.node))
                result.log.append(RewriteLogEntry(rule.id, found.node, rule.exact, "skipped",
                                                  found.text))
        else:
            matches.append(found)
    return matches


def _entry(rule: Rule, m: Match, status: Status, reason: str | None = None,
           error: float | None = None) -> RewriteLogEntry:
    return RewriteLogEntry(rule.id, m.node, rule.exact, status, reason, m.removed, m.added, error)


def _copy(model: onnx.ModelProto) -> onnx.ModelProto:
    out = onnx.ModelProto()
    out.CopyFrom(model)
    return out


def _checker_error(model: onnx.ModelProto) -> str | None:
    try:
        onnx.checker.check_model(model, full_check=True)
    except Exception as exc:  # noqa: BLE001 - checker and inference raise several types
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return None


def _run(model: onnx.ModelProto, feeds: list[Feeds]) -> tuple[list[list[np.ndarray]], str]:
    """Outputs per sample on onnxruntime CPU, or onnx.reference where ORT cannot run it."""
    try:
        import onnxruntime as ort

        session = ort.InferenceSession(model.SerializeToString(),
                                       providers=["CPUExecutionProvider"])
        return [list(session.run(None, f)) for f in feeds], "onnxruntime CPU"
    except Exception:  # noqa: BLE001 - any ORT failure means "use the reference evaluator"
        from onnx.reference import ReferenceEvaluator

        ev = ReferenceEvaluator(model)
        return [[np.asarray(o) for o in ev.run(None, f)] for f in feeds], "onnx.reference"


def _verify(model: onnx.ModelProto, expected: list[list[np.ndarray]], feeds: list[Feeds],
            checker_ok: bool) -> tuple[str | None, tuple[list[list[np.ndarray]], str] | None]:
    """(failure, outputs): checker first (when the input passed it), then per-dtype tolerance."""
    if checker_ok:
        error = _checker_error(model)
        if error is not None:
            return f"onnx.checker rejects the result: {error}", None
    try:
        after = _run(model, feeds)
    except Exception as exc:  # noqa: BLE001
        return f"the result does not run: {exc}", None
    for got_sample, want_sample in zip(after[0], expected, strict=True):
        for got, want in zip(got_sample, want_sample, strict=True):
            if got.shape != want.shape or got.dtype != want.dtype:
                return (f"output changed from {want.dtype}{list(want.shape)} to "
                        f"{got.dtype}{list(got.shape)}"), None
            rtol, atol = default_tolerance(want.dtype)
            if not np.allclose(got, want, rtol=rtol, atol=atol, equal_nan=True):
                return (f"outputs differ beyond rtol {rtol} / atol {atol} "
                        f"(max abs {_max_abs([[got]], [[want]]):.3g})"), None
    return None, after


def _max_abs(got: list[list[np.ndarray]], want: list[list[np.ndarray]]) -> float:
    worst = 0.0
    for gs, ws in zip(got, want, strict=True):
        for g, w in zip(gs, ws, strict=True):
            if g.size and np.issubdtype(g.dtype, np.number):
                diff: Any = np.abs(g.astype(np.float64) - w.astype(np.float64))
                finite = diff[np.isfinite(diff)]
                if finite.size:
                    worst = max(worst, float(finite.max()))
    return worst
