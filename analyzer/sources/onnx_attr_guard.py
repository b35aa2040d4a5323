"""Attribute values that crash or exhaust onnx's own shape inference, refused before it runs.

The analyzer runs onnx's C++ shape inference in its own process. For a few attribute values the
spec forbids, that code dereferences out of range (a segmentation fault that would end the
whole run) or allocates per unit of the value (minutes and gigabytes for a 100-byte model).
Each rule here was found by fuzzing (benchmarks/fuzz_analyze.py) against the installed onnx;
a value outside the spec is bad input (ATTRIBUTE_INVALID), so no legitimate model is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import onnx

from analyzer.error_codes import ATTRIBUTE_INVALID
from analyzer.errors import InputError

__all__ = ["GUARDED_OPS", "check_attributes"]

_Rule = Callable[[onnx.NodeProto, dict[str, onnx.AttributeProto]], str | None]


def _gather_nd(node: onnx.NodeProto, attrs: dict[str, onnx.AttributeProto]) -> str | None:
    batch_dims = attrs.get("batch_dims")
    if batch_dims is not None and batch_dims.i < 0:
        return f"attribute batch_dims is {batch_dims.i}; the spec requires batch_dims >= 0"
    return None


def _split(node: onnx.NodeProto, attrs: dict[str, onnx.AttributeProto]) -> str | None:
    num_outputs = attrs.get("num_outputs")
    if num_outputs is not None and not 1 <= num_outputs.i <= len(node.output):
        return (f"attribute num_outputs is {num_outputs.i} but the node has "
                f"{len(node.output)} output(s); the spec requires them to be equal")
    return None


#: op type (default domain) -> the rule for its attributes
GUARDED_OPS: dict[str, _Rule] = {
    "GatherND": _gather_nd,
    "Split": _split,
}


def check_attributes(path: Path | None, node: onnx.NodeProto, where: str) -> None:
    """Raise ATTRIBUTE_INVALID when a guarded op's attributes are outside the spec."""
    rule = GUARDED_OPS.get(node.op_type)
    if rule is None or node.domain not in ("", "ai.onnx"):
        return
    problem = rule(node, {a.name: a for a in node.attribute})
    if problem is not None:
        label = f"{node.op_type} '{node.name}'" if node.name else node.op_type
        raise InputError(path, ATTRIBUTE_INVALID,
                         f"{label} in the {where}: {problem} (onnx's shape inference cannot "
                         "take it)")
