"""Lower a dynamo export from opset 18 to the requested opset, after torch.onnx's optimizer ran.

Why: the dynamo exporter (torch 2.13) always translates at opset 18 and converts the
*unoptimized* graph down with onnx's C converter, which asserts on ReduceMean / Squeeze / Slice
whose axes come from a Constant node, and has no adapter for version steps that only added
types (Add / Mul / Sub / Div / Relu-14, Pow-15, ...): any model with a Mul comes back at opset 18
when 13 was asked for, source rules or not. Here the export runs at 18 (optimized: constants
folded into initializers) and the project's own converter (rewrites/onnx/version_convert.py:
onnx.version_converter plus adapters for those gaps) takes it down.

Before converting, two things the dynamo exporter writes are normalized, both meaning-preserving
at opset 18 itself, because onnx's adapters trip on them:
- attributes set explicitly to their schema default (ReduceMean's noop_with_empty_axes=0: onnx's
  18 -> 13 adapter leaves it on the node and the checker rejects it) are dropped;
- Reshape's allowzero=1 (on every view) is dropped where the shape is an initializer without a
  0, the only case where allowzero changes anything; Reshape-13 has no allowzero.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import onnx
import onnx.checker
import onnx.defs
import onnx.helper
import onnx.numpy_helper

from rewrites.contract import Reason
from rewrites.onnx.rule import RewriteModel
from rewrites.onnx.version_convert import VersionConvert


@dataclass
class Lowered:
    """The model at the target opset, or why not; ops carried across unchanged (held)."""

    model: onnx.ModelProto | None
    held: list[str] = field(default_factory=list)
    error: str | None = None
    #: the op the conversion failed on ("model" when it named none)
    failed_op: str | None = None


def normalize_dynamo_output(model: onnx.ModelProto) -> int:
    """Drop default-valued attributes and meaningless allowzero=1 in place (main graph);
    returns how many attributes went."""
    opset = next((i.version for i in model.opset_import if i.domain in ("", "ai.onnx")), None)
    if opset is None:
        return 0
    shapes = {i.name: i for i in model.graph.initializer}
    dropped = 0
    for node in model.graph.node:
        if node.domain not in ("", "ai.onnx") or not node.attribute:
            continue
        try:
            schema = onnx.defs.get_schema(node.op_type, opset)
        except onnx.defs.SchemaError:
            continue
        keep = [a for a in node.attribute if not _removable(node, a, schema, shapes)]
        if len(keep) != len(node.attribute):
            dropped += len(node.attribute) - len(keep)
            del node.attribute[:]
            node.attribute.extend(keep)
    return dropped


def _removable(node: onnx.NodeProto, attr: onnx.AttributeProto, schema: onnx.defs.OpSchema,
               shapes: dict[str, onnx.TensorProto]) -> bool:
    if node.op_type == "Reshape" and attr.name == "allowzero" and len(node.input) > 1:
        shape = shapes.get(node.input[1])
        return shape is not None and 0 not in onnx.numpy_helper.to_array(shape).tolist()
    declared = schema.attributes.get(attr.name)
    if declared is None or not declared.default_value.name:
        return False
    return bool(onnx.helper.get_attribute_value(attr) ==
                onnx.helper.get_attribute_value(declared.default_value))


def lower(model: onnx.ModelProto, target: int) -> Lowered:
    """A copy of `model` at ai.onnx opset `target` that passes onnx.checker's full check."""
    work = onnx.ModelProto()
    work.CopyFrom(model)
    normalize_dynamo_output(work)
    result = VersionConvert().convert(RewriteModel(work), target)
    if isinstance(result, Reason):
        return Lowered(None, error=result.text, failed_op=result.node)
    try:
        onnx.checker.check_model(result.model, full_check=True)
    except Exception as exc:  # noqa: BLE001 - a checker complaint is the answer, not a crash
        return Lowered(None, sorted(result.held), f"the lowered model fails the checker: {exc}")
    return Lowered(result.model, sorted(result.held))
