"""Rewrites: rules that turn a finding into a verified change (see docs/rewrites.md). The
contract every rule follows is rewrites.contract; every rule is listed in rewrites.registry."""

# `analyzer`'s package imports its workflows, which import rewrites: start it first, so that it
# never finds a rewrites module half-built (every rule module reads the analyzer core).
import analyzer.inventory  # noqa: F401, I001
from rewrites.contract import Match, ModelPass, PassResult, Reason, Rule, UnknownRule
from rewrites.onnx.rule import RewriteModel, Target
from rewrites.passes import RewriteLogEntry, RewriteResult, apply

__all__ = [
    "Match",
    "ModelPass",
    "PassResult",
    "Reason",
    "RewriteLogEntry",
    "RewriteModel",
    "RewriteResult",
    "Rule",
    "Target",
    "UnknownRule",
    "apply",
]
