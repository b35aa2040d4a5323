"""The rewrite pass: run rules over a copy of the model, one rule at a time, and verify each
rule's batch before keeping it: the result must pass onnx.checker (full check) and is run on
seeded inputs against the model before the rule. Verifying per rule is what lets the log carry
each rule's own measured error and undo just the rule that broke something.

Exact rules must reproduce the outputs within the per-dtype tolerance, or they are rolled back.
Approximate rules (opted into by name) are kept with their measured effect (max abs / rel error
per output) reported; they are rolled back only when the result is invalid, does not run, or
changes an output's shape or dtype.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import onnx
import onnx.checker

from analyzer.inventory import NodeRecord
from analyzer.onnx_weights import (
    has_deferred,
    load_with_weights,
    materialize_all,
    tensor_bytes,
    weightless_copy,
)
from analyzer.runtime.compare import compare
from analyzer.runtime.inputs import Feeds, random_inputs, runnable_inputs
from analyzer.runtime.session import SHARE_WEIGHTS_BYTES, SessionSpec, create_fed_session
from analyzer.sources.deferred import deferred_source
from analyzer.sources.weightless import check_model_weightless
from opsets.tables import load_schemas, normalize_provider
from rewrites import registry
from rewrites.contract import Match, ModelPass, Reason, UnknownRule
from rewrites.onnx.rule import OnnxRule as Rule
from rewrites.onnx.rule import RewriteModel

__all__ = ["RewriteLogEntry", "RewriteResult", "apply"]

Status = Literal["applied", "skipped", "proposed", "rolled_back"]
Outputs = tuple[list[list[np.ndarray]], str]


@dataclass
class RewriteLogEntry:
    """What one rule did (or why not) to one node; the errors are the rule's whole batch
    measured against the model before it (analyzer.runtime.compare's max_abs / max_rel)."""

    rule: str
    node: str
    exact: bool
    status: Status
    reason: str | None = None
    removed: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    max_abs_error: float | None = None
    max_rel_error: float | None = None


@dataclass
class RewriteResult:
    """The rewritten copy (the input untouched), the log, and the measured effect per applied
    rule: overall max abs error, and per output name {"max_abs", "max_rel"}."""

    model: onnx.ModelProto
    log: list[RewriteLogEntry] = field(default_factory=list)
    max_abs_error: dict[str, float] = field(default_factory=dict)
    output_errors: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    verified_with: str | None = None
    #: why a whole-model pass (onnx:version-convert) did not deliver its model: its Reason (`node`:
    #: the op it failed on, or "model"); read by rewrites.onnx.target_check
    blocked: Reason | None = None
    #: outputs of `model` on the pass's seeded inputs, when it ran them (the next pass over
    #: this model can start from them instead of creating another session)
    outputs: Outputs | None = field(default=None, repr=False)
    #: the inputs `outputs` were computed on (integer inputs may have been drawn again when
    #: the model did not run on the default draw: analyzer.runtime.inputs.runnable_inputs)
    feeds: list[Feeds] | None = field(default=None, repr=False)

    @property
    def applied(self) -> list[RewriteLogEntry]:
        return [e for e in self.log if e.status == "applied"]


def select_rules(rules: Sequence[Rule] | None, only: Collection[str] | None) -> list[Rule]:
    """The rules a pass runs: the named ones (approximate ones included), else the exact
    defaults. UnknownRule (a ValueError) names unknown ids."""
    pool = list(rules) if rules is not None else list(_onnx_rules())
    if only is not None:
        only = {registry.canonical(i) for i in only}
        known = {r.id for r in pool}
        unknown = set(only) - known
        if unknown:
            raise UnknownRule(sorted(unknown), [r.id for r in pool], "onnx",
                              registry.elsewhere(sorted(unknown), "onnx"))
        return [r for r in pool if r.id in only]
    defaults = ({r.id for r in registry.default_rules("onnx")} if rules is None
                else {r.id for r in pool})
    return [r for r in pool if r.exact and r.id in defaults]


def _onnx_rules() -> tuple[Rule, ...]:
    return registry.ONNX_RULES


def apply(
    model: onnx.ModelProto | str | os.PathLike[str],
    rules: Sequence[Rule] | None = None,
    only: Collection[str] | None = None,
    dry_run: bool = False,
    *,
    nodes: Mapping[str, Collection[str]] | None = None,
    target_opset: int | None = None,
    providers: Sequence[str] = (),
    convert: bool = True,
    expected: Outputs | None = None,
    feeds: list[Feeds] | None = None,
    seed: int = 0,
    samples: int = 2,
    max_rounds: int = 4,
    copy: bool = True,
) -> RewriteResult:
    """Apply rules to a copy of `model`: `only` names rule ids (approximate ones must be named),
    else the exact rules of `rules` (default: the registry's exact ONNX rules). `nodes` limits
    a rule id to the named nodes (the findings it answers); rules not in it see every node.
    `dry_run` logs proposals ("proposed") and returns an unchanged copy. Rounds repeat while
    something applied, since a body may hold further ops to rewrite. With `target_opset` (and
    `convert`), the onnx:version-convert step runs last, verified like a rule. `expected`: the
    model's outputs on `feeds` (default: these seeded inputs), when the caller has them
    (RewriteResult.outputs and .feeds). The inputs are seeded random ones on which the model
    runs (analyzer.runtime.inputs.runnable_inputs: integer inputs are drawn again, smaller, when
    it does not run on the default draw); when the model runs on none, each step is kept
    unverified (its note says why) if the checker accepts it.
    A path is read with its external data (locations checked first); an in-memory model whose
    weights are still in files is refused (EXTERNAL_DATA_NEEDS_PATH). Save the result with
    analyzer.onnx_weights.write_model to keep the weights external. `copy=False`: the caller
    gives `model` up, and the rules change it in place (one copy of the weights less)."""
    model = load_with_weights(model).model
    selected = select_rules(rules, only)
    providers = tuple(normalize_provider(p) for p in providers)
    work = RewriteModel(_copy(model) if copy else model, target_opset=target_opset,
                        providers=providers)
    result = RewriteResult(work.proto)
    checker_ok = _checker_error(model) is None
    current: Outputs | None = expected
    if expected is None:
        feeds = None  # drawn, and the model run on them, when a step first needs them
    elif feeds is None:
        feeds = random_inputs(model, samples=samples, seed=seed).samples
    baseline_error: str | None = None
    reasons_logged: set[tuple[str, str]] = set()
    claimed: dict[str, str] = {}
    for _ in range(max_rounds):
        progressed = False
        for rule in selected:
            named = nodes.get(rule.id) if nodes is not None else None
            allowed = set(named) if named is not None else None  # a list would be quadratic
            matches = _matches(rule, work, result, reasons_logged, allowed)
            if not matches:
                continue
            if dry_run:
                for m in matches:
                    if m.node in claimed:  # what the pass would do: the first rule wins
                        result.log.append(_entry(rule, m, "skipped",
                                                 f"not chosen: {claimed[m.node]} rewrites "
                                                 "this node first"))
                    else:
                        claimed[m.node] = rule.id
                        result.log.append(_entry(rule, m, "proposed"))
                continue
            if feeds is None:  # on the model before the rule changes it
                feeds, current, baseline_error = _baseline(model, work.proto, samples, seed)
            before = _snapshot(work.proto)
            for m in sorted(matches, key=lambda m: -m.index):
                rule.apply(work, m)
            work.commit()
            failure, after = _verify(work.proto, current, feeds, checker_ok, rule.exact,
                                     baseline_error)
            if failure is None and current is None and not rule.exact:
                failure = (f"the model before the rule does not run ({baseline_error}): an "
                           "approximation cannot be measured")
            if failure is not None:
                _restore_weights(before, work.proto)
                inserted = {k: v for k, v in work.inserted_by.items() if v != rule.id}
                work = RewriteModel(before, target_opset=target_opset, providers=providers)
                work.inserted_by = inserted
                result.model = work.proto
                result.log += [_entry(rule, m, "rolled_back", failure) for m in matches]
                continue
            note = None
            if current is None:
                note = _unverified(baseline_error, after)
                errors: dict[str, dict[str, float]] = {}
            else:
                errors = _errors(work.proto, after[0], current[0])
            worst = max((e["max_abs"] for e in errors.values()), default=0.0)
            rel = max((e["max_rel"] for e in errors.values()), default=0.0)
            result.max_abs_error[rule.id] = max(worst, result.max_abs_error.get(rule.id, 0.0))
            merged = result.output_errors.setdefault(rule.id, {})
            for name, e in errors.items():
                old = merged.get(name, {"max_abs": 0.0, "max_rel": 0.0})
                merged[name] = {k: max(old[k], e[k]) for k in ("max_abs", "max_rel")}
            if after is not None:
                result.verified_with = after[1]
            result.log += [_entry(rule, m, "applied", note, worst, rel) for m in matches]
            current = after
            progressed = True
        if not progressed:
            break
    passes = [p for p in registry.PASSES if p.needed(work)] if convert else []
    for step in passes:
        if feeds is None and not dry_run:
            feeds, current, baseline_error = _baseline(model, work.proto, samples, seed)
        result.outputs = current
        result.feeds = feeds
        work = _run_pass(step, work, result, dry_run, feeds or [], current, checker_ok,
                         baseline_error)
        current = result.outputs
    if passes:
        result.model = work.proto
        return result
    result.model = work.proto
    result.outputs = current
    result.feeds = feeds
    return result


def _baseline(model: onnx.ModelProto, work: onnx.ModelProto, samples: int,
              seed: int) -> tuple[list[Feeds], Outputs | None, str | None]:
    """(feeds, outputs of `work` on them, None), or (feeds, None, why it does not run): seeded
    inputs drawn from `model`'s inputs on which `work` (the same graph, before a rule) runs,
    integer inputs drawn again when it cannot (analyzer.runtime.inputs.runnable_inputs)."""
    found = runnable_inputs(model, lambda feeds: _run(work, feeds), samples=samples, seed=seed)
    return found.inputs.samples, found.outputs, found.error


def _unverified(baseline_error: str | None, after: Outputs | None) -> str:
    """A step's note when the model before it runs on no verification input: kept (not a
    failure of the step: the input itself cannot run), never reported as verified."""
    runs = "runs" if after is not None else "does not run on them either"
    return (f"unverified: the model before does not run on the verification inputs "
            f"({baseline_error}); the result passes the checker and {runs}")


def _run_pass(step: ModelPass, work: RewriteModel, result: RewriteResult, dry_run: bool,
              feeds: list[Feeds], current: Outputs | None, checker_ok: bool,
              baseline_error: str | None) -> RewriteModel:
    """A whole-model pass, verified like a rule; returns the model to continue with."""
    change = step.change(work)
    if dry_run:
        result.log.append(RewriteLogEntry(step.id, "model", step.exact, "proposed", None,
                                          *change))
        return work
    ran = step.run(work)
    if ran.model is None:
        text = ran.reason.text if ran.reason is not None else "the pass returned no model"
        result.blocked = ran.reason or Reason(step.id, "model", text)
        result.log.append(RewriteLogEntry(step.id, "model", step.exact, "skipped", text,
                                          *change))
        return work
    note = ran.note
    failure, after = _verify(ran.model, current, feeds, checker_ok, step.exact, baseline_error)
    if failure is not None:
        result.blocked = Reason(step.id, "model", f"rolled back: {failure}")
        result.log.append(RewriteLogEntry(step.id, "model", step.exact, "rolled_back",
                                          failure, *change))
        return work
    result.outputs = after
    errors = (_errors(ran.model, after[0], current[0])
              if current is not None and after is not None else {})
    if current is None:
        note = "; ".join(filter(None, [note, _unverified(baseline_error, after)]))
    worst = max((e["max_abs"] for e in errors.values()), default=0.0)
    rel = max((e["max_rel"] for e in errors.values()), default=0.0)
    result.max_abs_error[step.id] = worst
    result.output_errors[step.id] = errors
    if after is not None:
        result.verified_with = after[1]
    result.log.append(RewriteLogEntry(step.id, "model", step.exact, "applied", note, *change,
                                      worst, rel))
    return RewriteModel(ran.model, target_opset=work.target_opset, providers=work.providers)


def _matches(rule: Rule, work: RewriteModel, result: RewriteResult,
             reasons_logged: set[tuple[str, str]],
             allowed: Collection[str] | None) -> list[Match[Any]]:
    targets = {(t.domain, t.op) for t in rule.targets}
    matches: list[Match[Any]] = []

    def reason(node: str, text: str) -> None:
        if (rule.id, node) not in reasons_logged:
            reasons_logged.add((rule.id, node))
            result.log.append(RewriteLogEntry(rule.id, node, rule.exact, "skipped", text))

    for record in work.records():
        if (record.domain, record.op) not in targets:
            continue
        if work.inserted_by.get(record.name) == rule.id and not _missing_at_target(work, record):
            continue
        if allowed is not None and record.name not in allowed:
            continue
        found = rule.check(work, record)
        if isinstance(found, Reason):
            if not found.quiet:
                reason(found.node, found.text)
        else:
            matches.append(found)
    for fn in work.proto.functions:
        for index, node in enumerate(fn.node):
            if ((node.domain if node.domain != "ai.onnx" else ""), node.op_type) in targets:
                name = f"{fn.domain}.{fn.name}::{node.name or f'{node.op_type}_{index}'}"
                reason(name, f"inside local function {fn.domain}.{fn.name}: a function body is "
                       "untyped until it is called, so rules do not rewrite it; inline it "
                       "first (onnx.inliner.inline_local_functions) to rewrite its nodes")
    return matches


def _missing_at_target(work: RewriteModel, record: NodeRecord) -> bool:
    """A node a rule inserted is rewritten again only when its op does not exist at the target
    opset (the CastLike in a Gelu body, going down to opset 13)."""
    if work.target_opset is None or record.domain:
        return False
    return load_schemas().resolve("", record.op, work.target_opset) is None


def _entry(rule: Rule, m: Match[Any], status: Status, reason: str | None = None,
           error: float | None = None, rel: float | None = None) -> RewriteLogEntry:
    return RewriteLogEntry(rule.id, m.node, rule.exact, status, reason, m.removed, m.added,
                           error, rel)


def _copy(model: onnx.ModelProto) -> onnx.ModelProto:
    out = onnx.ModelProto()
    out.CopyFrom(model)
    return out


#: A rule's rollback snapshot leaves out the bytes of initializers this large when they add up
#: to SHARE_WEIGHTS_BYTES: rules replace nodes and never write an initializer (RewriteModel has
#: no way to), so a rollback takes the bytes back, by name, from the model the rule changed.
#: One copy of the weights less while a rule is verified.
_SNAPSHOT_TENSOR_BYTES = 1 << 16


def _snapshot(model: onnx.ModelProto) -> onnx.ModelProto:
    """The model as it is before a rule, for its rollback (see _SNAPSHOT_TENSOR_BYTES)."""
    light, big = weightless_copy(model, _SNAPSHOT_TENSOR_BYTES)
    if sum(tensor_bytes(t) for t in big) < SHARE_WEIGHTS_BYTES:
        return _copy(model)
    return light


def _restore_weights(snapshot: onnx.ModelProto, changed: onnx.ModelProto) -> None:
    """Put the bytes that _snapshot left out back into `snapshot`, from `changed` (the model
    after the rule: same initializers, since rules never write one)."""
    source = {t.name: t for t in changed.graph.initializer}
    for tensor in snapshot.graph.initializer:
        if tensor.HasField("raw_data") or tensor.data_location == onnx.TensorProto.EXTERNAL:
            continue
        original = source.get(tensor.name)
        deferred = original is not None and deferred_source(original) is not None
        if original is None or not (original.HasField("raw_data") or deferred):
            continue  # a tensor with no bytes at all (empty) has none to put back
        if (original.data_type, tuple(original.dims)) != (tensor.data_type, tuple(tensor.dims)):
            raise RuntimeError(f"a rule changed initializer {tensor.name}")
        if deferred:  # still in its file: the reference, again
            tensor.CopyFrom(original)
            continue
        tensor.raw_data = original.raw_data


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def _checker_error(model: onnx.ModelProto) -> str | None:
    try:
        if not check_model_weightless(model, full_check=True):  # large weights: without bytes
            onnx.checker.check_model(model, full_check=True)
    except Exception as exc:  # noqa: BLE001 - checker and inference raise several types
        return _first_line(exc)
    return None


def run_outputs(model: onnx.ModelProto, feeds: list[Feeds]) -> Outputs:
    """Outputs per sample on onnxruntime CPU, or onnx.reference where ORT cannot run it."""
    return _run(model, feeds)


# Log level 4: failures come back as exceptions, not stderr noise. The reference run needs the
# kernels' results, not a fast session: graph optimizations took most of the pass's time on
# large graphs (measured: 3 s of session creation per run at 10k nodes,
# benchmarks/bench_rewrite_scale.py) and could fuse away the very nodes a rule changed. Weights
# are not prepacked either: a packed copy of every MatMul/Conv weight for a session that runs
# twice is a second copy of the weights in memory (benchmarks/bench_rewrite_external_memory.py).
_SPEC = SessionSpec(log_severity=4, graph_optimization="disable",
                    config={"session.disable_prepacking": "1"})


def _run(model: onnx.ModelProto, feeds: list[Feeds]) -> Outputs:
    try:
        session = create_fed_session(model, _SPEC)  # large weights fed, not copied by ORT
        return [session.run(None, f) for f in feeds], "onnxruntime CPU"
    except Exception:  # noqa: BLE001 - any ORT failure means "use the reference evaluator"
        from onnx.reference import ReferenceEvaluator

        if has_deferred(model):  # the evaluator reads bytes from the proto: read them in
            model = _copy(model)
            materialize_all(model)
        ev = ReferenceEvaluator(model)
        return [[np.asarray(o) for o in ev.run(None, f)] for f in feeds], "onnx.reference"


def verify_step(model: onnx.ModelProto, expected: Outputs | None, feeds: list[Feeds],
                checker_ok: bool, exact: bool) -> tuple[str | None, Outputs | None]:
    """Public form of the per-rule check, for whole-model steps (onnx:version-convert)."""
    return _verify(model, expected, feeds, checker_ok, exact)


def _verify(model: onnx.ModelProto, expected: Outputs | None, feeds: list[Feeds],
            checker_ok: bool, exact: bool,
            baseline_error: str | None = None) -> tuple[str | None, Outputs | None]:
    """(failure, outputs): checker first (when the input passed it), then shapes and dtypes,
    then (exact rules) per-dtype tolerance. When the model before did not run on `feeds`
    (`baseline_error`), the result not running on them either is no failure: (None, None)."""
    if checker_ok:
        error = _checker_error(model)
        if error is not None:
            return f"onnx.checker rejects the result: {error}", None
    try:
        after = _run(model, feeds)
    except Exception as exc:  # noqa: BLE001
        if expected is None and baseline_error is not None:
            return None, None
        return f"the result does not run: {_first_line(exc)}", None
    if expected is None:
        return None, after
    for got_sample, want_sample in zip(after[0], expected[0], strict=True):
        for got, want in zip(got_sample, want_sample, strict=True):
            if got.shape != want.shape or got.dtype != want.dtype:
                return (f"output changed from {want.dtype}{list(want.shape)} to "
                        f"{got.dtype}{list(got.shape)}"), None
            if not exact:
                continue
            parity = compare("", got, want)
            if parity.mismatched:
                return (f"outputs differ beyond rtol {parity.rtol} / atol {parity.atol} "
                        f"(max abs {parity.max_abs:.3g})"), None
    return None, after


def _errors(model: onnx.ModelProto, got: list[list[np.ndarray]],
            want: list[list[np.ndarray]]) -> dict[str, dict[str, float]]:
    """Per output, the worst over the samples of analyzer.runtime.compare's max_abs and
    max_rel (elementwise |got - want| / |want|)."""
    names = [o.name for o in model.graph.output]
    out: dict[str, dict[str, float]] = {}
    for gs, ws in zip(got, want, strict=True):
        for name, g, w in zip(names, gs, ws, strict=True):
            parity = compare(name, g, w)
            old = out.get(name, {"max_abs": 0.0, "max_rel": 0.0})
            out[name] = {"max_abs": max(old["max_abs"], parity.max_abs),
                         "max_rel": max(old["max_rel"], parity.max_rel)}
    return out
