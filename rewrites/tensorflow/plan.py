"""Which TensorFlow rules a conversion needs: read the graph's nodes as data (main graph and
every function of the library), ask each rule's `check`, and install the chosen handlers for
the conversion (`TFPlan.handlers()`).

Exact rules are chosen when they match; approximate ones only when named (as the ONNX pass
does). Nothing here imports TensorFlow: a GraphDef is read through its protobuf fields.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from analyzer.report.model import RewritesBlock, RuleOutcome
from rewrites import registry
from rewrites.contract import Reason
from rewrites.tensorflow.handlers import extra_handlers
from rewrites.tensorflow.rule import TFMatch, TFNode, TFRule

#: attributes rules read; the others are not decoded
_ATTRS = ("equation", "exclusive", "reverse", "approximate")


def _attr_value(attr: Any) -> Any:
    kind = attr.WhichOneof("value")
    value = getattr(attr, kind) if kind else None
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def nodes_from_graph_def(graph_def: Any) -> list[TFNode]:
    """Every node of a tensorflow GraphDef proto, including its function library's."""
    out: list[TFNode] = []

    def add(nodes: Iterable[Any], function: str) -> None:
        for n in nodes:
            attrs = {k: _attr_value(n.attr[k]) for k in _ATTRS if k in n.attr}
            out.append(TFNode(n.name, n.op, attrs, function))

    add(graph_def.node, "")
    for fn in graph_def.library.function:
        add(fn.node_def, fn.signature.name)
    return out


def nodes_from_ops(ops: Iterable[tuple[str, str]]) -> list[TFNode]:
    """TFNodes from (name, op) pairs, e.g. TFLite operators (`TFL_GELU`)."""
    return [TFNode(name, op) for name, op in ops]


@dataclass
class TFPlan:
    """The rules a conversion will use (`matches`) and why the others will not (`reasons`)."""

    opset: int
    matches: list[tuple[TFRule, TFMatch]] = field(default_factory=list)
    reasons: list[Reason] = field(default_factory=list)

    @property
    def rules(self) -> list[TFRule]:
        return [r for r, _ in self.matches]

    @property
    def graph_rules(self) -> list[TFRule]:
        """The chosen rules that rewrite the GraphDef before conversion."""
        return [r for r in self.rules if r.kind == "graph"]

    @contextmanager
    def handlers(self) -> Iterator[list[str]]:
        """Install the chosen rules' handlers for the conversion run inside the block."""
        with extra_handlers(self.rules) as installed:
            yield installed

    def to_block(self) -> RewritesBlock:
        """The report's rewrites block (family "tf"): the chosen rules as applied (the first
        20 nodes, the count and ops in `details`), the others skipped with their reason."""
        applied = [RuleOutcome(r.id, r.exact, "applied", list(m.payload.nodes[:20]),
                               details={"ops": list(m.payload.ops),
                                        "node_count": len(m.payload.nodes)})
                   for r, m in self.matches]
        exact = {r.id: r.exact for r in registry.TF_RULES}
        skipped = [RuleOutcome(x.rule, exact.get(x.rule, True), "skipped", reason=x.text)
                   for x in self.reasons]
        return RewritesBlock("tf", applied=[r.id for r, _ in self.matches],
                             rules=applied + skipped, plan={"opset": self.opset})


def plan(nodes: Sequence[TFNode], opset: int, named: Sequence[str] = ()) -> TFPlan:
    """Choose rules for `nodes` at `opset`: every exact rule that matches, plus the named
    ones (approximate rules run only when named). Unknown names raise
    rewrites.contract.UnknownRule (a KeyError)."""
    chosen = set(r.id for r in registry.named(named, "tf"))
    result = TFPlan(opset)
    for rule in registry.TF_RULES:
        found = rule.check(nodes, opset)
        if isinstance(found, Reason):
            result.reasons.append(found)
        elif rule.exact or rule.id in chosen:
            result.matches.append((rule, found))
        else:
            result.reasons.append(Reason(rule.id, "", "approximate: applied only when named "
                                           f"(--rules {rule.id})"))
    return result
