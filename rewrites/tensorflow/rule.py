"""The TensorFlow rule protocol: rules that make tf2onnx convert what it rejects.

Two kinds, as docs/rewrites.md describes:
- handler rules add tf2onnx handlers (tf2onnx's own `tf_op` registry, the mechanism its op
  modules use) for the duration of one conversion; `registry.extra_handlers` installs and
  removes them, so tf2onnx's files and its state after the conversion are untouched;
- graph rules rewrite the TensorFlow GraphDef (main graph and every function in its library)
  before conversion, where a handler cannot express the fix (e.g. the einsum equation tf2onnx
  refuses to parse before any handler runs).

A rule's `check` reads only op types, node names and attributes (the graph as data) and
returns a `TFMatch` or a `Reason` (a value shown in reports, never raised).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


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
class TFMatch:
    rule: str
    nodes: tuple[str, ...]
    ops: tuple[str, ...]
    note: str = ""


@dataclass(frozen=True)
class TFReason:
    rule: str
    text: str


Handler = Callable[..., None]


@runtime_checkable
class TFRule(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def summary(self) -> str: ...

    @property
    def targets(self) -> tuple[TFTarget, ...]: ...

    @property
    def exact(self) -> bool: ...

    @property
    def kind(self) -> str:
        """"handler" or "graph"."""
        ...

    def check(self, nodes: Sequence[TFNode], opset: int) -> TFMatch | TFReason: ...


class HandlerRule:
    """Base of handler rules: `handlers` maps TF op names to (tf2onnx opset version, handler);
    `check` matches the nodes whose op is a target at this opset."""

    id = ""
    summary = ""
    targets: tuple[TFTarget, ...] = ()
    exact = True
    kind = "handler"

    def handlers(self) -> Mapping[str, tuple[int, Handler]]:
        raise NotImplementedError

    def check(self, nodes: Sequence[TFNode], opset: int) -> TFMatch | TFReason:
        ops = {t.op for t in self.targets if t.covers(opset)}
        hit = [n for n in nodes if n.op in ops]
        if hit:
            return TFMatch(self.id, tuple(n.name for n in hit),
                           tuple(sorted({n.op for n in hit})))
        present = sorted({n.op for n in nodes} & {t.op for t in self.targets})
        if not present:
            wanted = ", ".join(sorted({t.op for t in self.targets}))
            return TFReason(self.id, f"no {wanted} node in the graph")
        spans = [t for t in self.targets if t.op in present]
        if all(t.lo > opset for t in spans):
            return TFReason(self.id, f"{', '.join(present)}: this rule needs opset >= "
                            f"{min(t.lo for t in spans)}")
        return TFReason(self.id, f"tf2onnx converts {', '.join(present)} at opset {opset} "
                        "itself")
