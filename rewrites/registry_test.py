"""The registry: ids are unique across families, every rule declares the contract's members,
and the one lookup raises one error type naming the known ids."""

from __future__ import annotations

import pytest

from rewrites.contract import FAMILIES, Rule, UnknownRule
from rewrites.registry import PASSES, RULES, default_rules, model_pass, named, rule, rules


def test_ids_are_unique_across_families_and_passes() -> None:
    ids = [r.id for r in RULES] + [p.id for p in PASSES]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


def test_every_rule_declares_the_contract() -> None:
    for r in RULES:
        assert isinstance(r, Rule), r.id
        assert r.family in FAMILIES and r.answers and isinstance(r.ops, tuple), r.id
    assert {r.family for r in RULES} == set(FAMILIES)


def test_one_lookup_one_error() -> None:
    assert rule("onnx:expand-function").family == "onnx"
    assert rule("torch:decompose-gelu", "torch").id == "torch:decompose-gelu"
    assert model_pass("onnx:version-convert").exact
    with pytest.raises(UnknownRule, match="known: .*tf:erfc"):
        rule("nope", "tf")
    with pytest.raises(KeyError):
        rule("tf:erfc", "onnx")
    with pytest.raises(ValueError, match="unknown source rule"):
        named(["torch:decompose-gelu", "nope"], "torch")
    assert all(r.exact for r in default_rules("onnx"))
    assert [r.family for r in rules("torch")] == ["torch"] * len(rules("torch"))
