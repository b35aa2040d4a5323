"""The TensorFlow rule protocol: rules that make tf2onnx convert what it rejects.

Two kinds, as docs/rewrites.md describes:
- handler rules add tf2onnx handlers (tf2onnx's own `tf_op` registry, the mechanism its op
  modules use) for the duration of one conversion; `registry.extra_handlers` installs and
  removes them, so tf2onnx's files and its state after the conversion are untouched;
- graph rules rewrite the TensorFlow GraphDef (main graph and every function in its library)
  before conversion, where a handler cannot express the fix (e.g. the einsum equation tf2onnx
  refuses to parse before any handler runs).

A rule's `check` reads only op types, node names and attributes (the graph as data) and
returns a `Match` whose payload is a `TFHit`, or a `Reason` (a value shown in reports, never
raised).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

from analyzer.finding_ids import TFC601, TFC602, TFC613
from rewrites.contract import Family, Match, Reason, Rule, Site


@dataclass(frozen=True)
class TFTarget:
    """A TF (or TFLite, `TFL_*`) op a rule answers, for opsets in [lo, hi] (hi None: any)."""

    op: str
    lo: int = 1
    hi: int | None = None

    def covers(self, opset: int) -> bool:
        return self.lo <= opset and (self.hi is None or opset <= self.hi)


@dataclass(frozen=True)
class TFNode:
    """What a rule reads of one TF node: name, op, attributes (decoded to plain values), and
    the function of the library it sits in ('' for the main graph)."""

    name: str
    op: str
    attrs: Mapping[str, Any] = field(default_factory=dict)
    function: str = ""


@dataclass(frozen=True)
class TFHit:
    """A TF rule's payload: the nodes it converts and their op types."""

    nodes: tuple[str, ...]
    ops: tuple[str, ...]
    note: str = ""


#: What a TF rule's `check` returns when the graph has what it converts.
TFMatch = Match[TFHit]

Handler = Callable[..., None]

#: Pre-flight findings a TF rule answers: TFC601 (no handler), TFC602 (needs a higher opset),
#: TFC613 (the handler refuses), for an op the rule targets at the target opset.
ANSWERS = (TFC601.id, TFC602.id, TFC613.id)


@runtime_checkable
class TFRule(Rule, Protocol):
    """A TensorFlow rule (rewrites.contract.Rule for tf2onnx conversions): `check(nodes,
    opset)`; `kind` "handler" (`handlers()` installed for one conversion) or "graph" (`apply`
    rewrites the GraphDef before it)."""

    @property
    def targets(self) -> tuple[TFTarget, ...]: ...

    def handlers(self) -> Mapping[str, tuple[int, Handler]]: ...

    def check(self, subject: Sequence[TFNode], item: int) -> TFMatch | Reason: ...


class TFRuleBase:
    """Defaults of the declared rule members for TF rules."""

    family: ClassVar[Family] = "tf"
    answers: ClassVar[tuple[str, ...]] = ANSWERS
    kind = "handler"
    id = ""
    summary = ""
    targets: tuple[TFTarget, ...] = ()
    exact = True

    @property
    def ops(self) -> tuple[str, ...]:
        return tuple(t.op for t in self.targets)

    def proposes(self, site: Site) -> bool:
        """The finding's op is a target at the target opset."""
        opset = site.target_opset
        return opset is not None and any(t.op == site.op and t.covers(opset)
                                         for t in self.targets)

    def handlers(self) -> Mapping[str, tuple[int, Handler]]:
        return {}


class HandlerRule(TFRuleBase):
    """Base of handler rules: `handlers` maps TF op names to (tf2onnx opset version, handler);
    `check` matches the nodes whose op is a target at this opset."""

    def handlers(self) -> Mapping[str, tuple[int, Handler]]:
        raise NotImplementedError

    def apply(self, subject: Any, match: TFMatch | None = None) -> Mapping[
            str, tuple[int, Handler]]:
        """A handler rule applies through its handlers (installed by `handlers.extra_handlers`
        for one conversion)."""
        return self.handlers()

    def check(self, subject: Sequence[TFNode], item: int) -> TFMatch | Reason:
        nodes, opset = subject, item
        ops = {t.op for t in self.targets if t.covers(opset)}
        hit = [n for n in nodes if n.op in ops]
        if hit:
            return Match(self.id, TFHit(tuple(n.name for n in hit),
                                        tuple(sorted({n.op for n in hit}))))
        present = sorted({n.op for n in nodes} & {t.op for t in self.targets})
        if not present:
            wanted = ", ".join(sorted({t.op for t in self.targets}))
            return Reason(self.id, "", f"no {wanted} node in the graph")
        spans = [t for t in self.targets if t.op in present]
        if all(t.lo > opset for t in spans):
            return Reason(self.id, "", f"{', '.join(present)}: this rule needs opset >= "
                          f"{min(t.lo for t in spans)}")
        return Reason(self.id, "", f"tf2onnx converts {', '.join(present)} at opset {opset} "
                      "itself")
