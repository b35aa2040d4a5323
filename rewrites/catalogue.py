"""The rule catalogue: every ONNX graph rule, in the order a pass tries them, and the default
set. Explicit tuples, no discovery by import side effects (DESIGN.md, "Rewrites").

Order matters where two rules answer the same op: the hand-written decompositions come before
expand-function, because they emit forms valid at any opset (expand-function emits the schema
body, which can need the op's own, newer opset)."""

from __future__ import annotations

from analyzer.finding_ids import EP301, EP302, EP303, SCH202, SCH203
from analyzer.inventory import NodeRecord
from rewrites.onnx.approx_relu import ApproxRelu
from rewrites.onnx.attention_decompose import AttentionDecompose
from rewrites.onnx.cuda_fallback import CudaFallback, CudaFallbackApprox
from rewrites.onnx.expand_function import ExpandFunction
from rewrites.onnx.layer_norm_decompose import LayerNormDecompose
from rewrites.rule import Rule

CATALOGUE: tuple[Rule, ...] = (
    LayerNormDecompose(),
    AttentionDecompose(),
    ExpandFunction(),
    CudaFallback(),
    ApproxRelu(),
    CudaFallbackApprox(),
)

#: Exact rules that run when none are named.
DEFAULT_RULES: tuple[Rule, ...] = tuple(r for r in CATALOGUE if r.exact)


def rule_by_id(rule_id: str) -> Rule:
    """The catalogue rule with this id; KeyError names the known ids."""
    for rule in CATALOGUE:
        if rule.id == rule_id:
            return rule
    raise KeyError(f"unknown rewrite rule {rule_id!r} (known: "
                   f"{', '.join(r.id for r in CATALOGUE)})")


#: Which findings (docs/findings.md) a rule can answer. SCH202: the op does not exist at the
#: (target) opset; SCH203: the op is deprecated (its body replaces it); EP301: no provider has a
#: kernel; EP302: a node falls back from CUDA to CPU; EP303: ORT inlines the op's body (info:
#: listed as a fix, not acted on by the pass).
FINDING_RULES: dict[str, tuple[str, ...]] = {
    SCH202.id: ("layer-norm-decompose", "attention-decompose", "expand-function", "approx-relu"),
    EP301.id: ("layer-norm-decompose", "attention-decompose", "expand-function", "cuda-fallback",
               "approx-relu"),
    SCH203.id: ("expand-function",),
    # a function op the accelerator lacks (e.g. Celu on CUDA) runs there as its body's ops
    EP302.id: ("cuda-fallback", "expand-function", "cuda-fallback-approx"),
    EP303.id: ("expand-function",),
}


def rules_answering(finding_id: str, record: NodeRecord, opsets: dict[str, int],
                    target_opset: int | None = None) -> list[str]:
    """Rule ids that may answer finding `finding_id` about `record`'s node: the rule targets
    the node's op and, where the rule has a static test (`proposes`), it passes."""
    out = []
    for rule_id in FINDING_RULES.get(finding_id, ()):
        rule = rule_by_id(rule_id)
        if (record.domain, record.op) not in {(t.domain, t.op) for t in rule.targets}:
            continue
        proposes = getattr(rule, "proposes", None)
        if proposes is not None and not proposes(record, opsets, target_opset):
            continue
        out.append(rule_id)
    return out
