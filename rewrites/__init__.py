"""Rewrites: rules that turn a finding into a verified graph change (see docs/rewrites.md)."""

from rewrites.catalogue import CATALOGUE
from rewrites.passes import DEFAULT_RULES, RewriteLogEntry, RewriteResult, apply
from rewrites.rule import Match, Reason, RewriteModel, Rule, Target

__all__ = [
    "CATALOGUE",
    "DEFAULT_RULES",
    "Match",
    "Reason",
    "RewriteLogEntry",
    "RewriteModel",
    "RewriteResult",
    "Rule",
    "Target",
    "apply",
]
