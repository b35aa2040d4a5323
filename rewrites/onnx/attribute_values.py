"""Attribute values an op accepts only from some version on (ScatterElements' reduction="add"
from 16, "max" / "min" from 18): a node that sets one has no exact lower form below that
version, whatever the converter can do with the op itself. Read by onnx:version-convert (the
hold adapter never drops such a value, and the pass names the node before converting) and by
rewrites.onnx.target_check (such a node is a no-lower-form blocker)."""

from __future__ import annotations

import onnx
import onnx.helper

#: (op, attribute) -> value -> the first version of the op that accepts it.
VALUES_ADDED: dict[tuple[str, str], dict[str, int]] = {
    ("Pad", "mode"): {"edge": 2, "reflect": 2, "wrap": 19},
    ("ScatterElements", "reduction"): {"add": 16, "mul": 16, "max": 18, "min": 18},
    ("ScatterND", "reduction"): {"add": 16, "mul": 16, "max": 18, "min": 18},
}


def first_version(op: str, node: onnx.NodeProto) -> tuple[str, str, int] | None:
    """(attribute, value, version) for the attribute value of `node` (an `op` of the default
    domain) that came latest, or None when it sets none of VALUES_ADDED's."""
    latest: tuple[str, str, int] | None = None
    for attr in node.attribute:
        later = VALUES_ADDED.get((op, attr.name))
        if not later or attr.type != onnx.AttributeProto.STRING:
            continue
        value = onnx.helper.get_attribute_value(attr).decode()
        since = later.get(value, 0)
        if since and (latest is None or since > latest[2]):
            latest = (attr.name, value, since)
    return latest


def missing_at(op: str, node: onnx.NodeProto, target: int) -> str | None:
    """Why `node` has no exact lower form at opset `target` because of an attribute value, or
    None: "reduction='add' exists in ScatterElements from opset 16 only"."""
    found = first_version(op, node)
    if found is None or found[2] <= target:
        return None
    name, value, since = found
    return (f"{name}={value!r} exists in {op} from opset {since} only: no exact lower form at "
            f"opset {target}")
