"""Actual placement (what ORT assigned to each provider) next to the analyzer's prediction.

ORT renames, inlines and fuses nodes, so the two are compared as multisets of (domain, op_type)
per provider, not node by node. The comparison session runs with graph optimizations disabled,
because fusions (MatMul+Add -> Gemm, ...) would otherwise show up as disagreements that are not
placement errors; the benchmarked (optimized) session's assignment is recorded beside it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import onnx

from analyzer.checks.placement import predict_placement
from analyzer.runtime.session import ASSIGNMENT_CONFIG_KEY, SessionSpec, create_session
from analyzer.sources.onnx_inventory import build_inventory, prepare

CONFIG_KEY = ASSIGNMENT_CONFIG_KEY
# Nodes ORT inserts itself that the prediction counts as device copies, not as placed nodes.
INSERTED_OPS = frozenset({"MemcpyToHost", "MemcpyFromHost"})


def _key(domain: str, op_type: str) -> str:
    return f"{domain}::{op_type}" if domain and domain != "ai.onnx" else op_type


def actual_ops(session: Any) -> dict[str, dict[str, int]]:
    """Op-type counts per provider, from a session created with CONFIG_KEY set to "1"."""
    out: dict[str, Counter[str]] = {}
    for sub in session.get_provider_graph_assignment_info():
        counts = out.setdefault(sub.ep_name, Counter())
        for node in sub.get_nodes():
            if node.op_type in INSERTED_OPS:
                continue
            counts[_key(node.domain, node.op_type)] += 1
    return {ep: dict(sorted(c.items())) for ep, c in sorted(out.items())}


def predicted_ops(model: onnx.ModelProto, providers: Sequence[str]) -> dict[str, dict[str, int]]:
    """Op-type counts per provider from analyzer.checks.placement.predict_placement."""

    placement = predict_placement(build_inventory(prepare(model)), providers)
    out: dict[str, Counter[str]] = {}
    for leaf in placement.leaves():
        if leaf.provider is None or leaf.how == "constant":
            continue
        out.setdefault(leaf.provider, Counter())[_key(leaf.node.domain, leaf.node.op)] += 1
    return {ep: dict(sorted(c.items())) for ep, c in sorted(out.items())}


@dataclass
class PlacementCheck:
    """Predicted vs actual op counts per provider; `disagreements` says, in words, each op type
    whose count differs (empty when the prediction held)."""

    predicted: dict[str, dict[str, int]]
    actual: dict[str, dict[str, int]]
    actual_optimized: dict[str, dict[str, int]] = field(default_factory=dict)
    disagreements: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def agrees(self) -> bool:
        return self.error is None and not self.disagreements

    def to_dict(self) -> dict[str, object]:
        return {
            "predicted": self.predicted,
            "actual": self.actual,
            "actual_optimized": self.actual_optimized,
            "disagreements": list(self.disagreements),
            "agrees": self.agrees,
            "error": self.error,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PlacementCheck:
        return cls(
            predicted=data["predicted"],
            actual=data["actual"],
            actual_optimized=data.get("actual_optimized", {}),
            disagreements=list(data.get("disagreements", [])),
            error=data.get("error"),
        )


def disagreements(
    predicted: dict[str, dict[str, int]], actual: dict[str, dict[str, int]]
) -> list[str]:
    """One line per (provider, op type) whose predicted and actual counts differ."""
    lines = []
    for ep in sorted(set(predicted) | set(actual)):
        p, a = predicted.get(ep, {}), actual.get(ep, {})
        for op in sorted(set(p) | set(a)):
            if p.get(op, 0) != a.get(op, 0):
                lines.append(f"{ep}: {op} predicted {p.get(op, 0)}, actual {a.get(op, 0)}")
    return lines


def compare_placement(
    model: onnx.ModelProto,
    model_bytes: bytes | str,
    providers: Sequence[str],
    optimized_actual: dict[str, dict[str, int]] | None = None,
) -> PlacementCheck:
    """Create an unoptimized session that records its assignment and compare it with the
    prediction; an analyzer failure is kept as `error`, never raised, since timing succeeded."""
    spec = SessionSpec(providers=tuple(providers), cpu_fallback=False, log_severity=None,
                       graph_optimization="disable", record_assignment=True)
    session = create_session(model_bytes, spec)
    actual = actual_ops(session)
    try:
        predicted = predicted_ops(model, providers)
    except Exception as exc:  # noqa: BLE001 - the bench result stands without the prediction
        return PlacementCheck({}, actual, optimized_actual or {}, [],
                              f"prediction failed: {type(exc).__name__}: {exc}")
    return PlacementCheck(predicted, actual, optimized_actual or {},
                          disagreements(predicted, actual))
