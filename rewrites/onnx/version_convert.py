"""onnx:version-convert: move a model to another ai.onnx opset with onnx.version_converter, filling
the gaps it raises on with this project's own adapters.

onnx.version_converter converts the whole model or nothing, and it raises on (measured, onnx
1.23, converting 20 -> 13 and 20 -> 11):

* ops that do not exist at the target ("No Previous Version of Gelu / LayerNormalization /
  GroupNormalization / HardSwish / Mish exists"): no adapter can exist. The node rules run first
  and remove them (the pass's findings at the target opset list them as SCH202):
  onnx:layer-norm-decompose (LayerNormalization), onnx:attention-decompose (Attention),
  onnx:expand-function (Gelu, GroupNormalization, HardSwish, Mish, Celu, ... their schema bodies).
* version steps whose only change added element types, for which onnx ships no adapter ("No
  Adapter From Version $14 for Div"; likewise Mul-14, Add-14, Sub-14, Relu-14, Pow-15, ...).
  The adapter here, `hold`, is: when the op's inputs and outputs are the same at the node's
  version and at the target's (optional inputs added later and unused by the node allowed:
  Pad-18's axes, for which onnx has no 18 -> 13 adapter), the attributes the target's version
  lacks are unset or at their defaults (Cast-19's saturate=1, whose 19 -> 13 adapter onnx
  leaves in place and the checker then rejects), and the node's actual types are allowed at
  the target's version, the node is already valid at the target: it is set aside under a
  private domain (those attributes dropped) while onnx converts the rest, and put back after.
  Ops whose semantics changed under an unchanged signature (Softmax-13, LogSoftmax-13,
  Hardmax-13) are never held.
* Shape-15's start / end attributes (used by GroupNormalization's body): onnx has no adapter
  that drops them; the adapter here writes Shape + Slice before converting below 15.
* Constant-12's value_float(s) / value_int(s) (GroupNormalization's body again), which onnx
  cannot take below 12: the adapter here rewrites them as a `value` tensor.
* Reshape-14's allowzero=1 (the torch exporter sets it) below 14: dropped where the shape is a
  constant without zeros (then it changes nothing).
* A node that sets an attribute value its op accepts only above the target (ScatterElements'
  reduction="add" below 16, "max" below 18: rewrites.onnx.attribute_values): no exact lower
  form; the pass names the node before converting (onnx's adapter fails on it naming none).
* ReduceMean/ReduceSum-18 and the like with axes from a graph input ("No initializer or constant
  input to node found"): no static form exists; the failure is reported with the op named.
* Forms onnx cannot lower although an exact lower form exists (Reduce*-18 with constant axes
  and noop_with_empty_axes=0, Split-18 num_outputs, Pad-18 axes, Resize-18/19 to 11, Slice /
  TopK / Scatter / Gemm / ThresholdedRelu / DequantizeLinear below 10-11, Trilu below 14,
  AffineGrid-20 with a constant size, If / Loop / Scan bodies): rewrites.onnx.adapters writes
  each node in its form at the target before converting, under a private domain that onnx
  leaves alone (or, for AffineGrid, as plain lower ops), and puts it back after. Which
  (op, version) the exporters emit converts how: opsets/data/downconvert_coverage.json.

The result is verified by the pass like every rule (checker, then outputs before vs after).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import onnx
import onnx.checker
import onnx.defs
import onnx.helper
import onnx.numpy_helper
import onnx.version_converter

from analyzer.inventory import NodeRecord
from analyzer.onnx_weights import weightless_copy
from analyzer.sources.deferred import deferred_source
from analyzer.sources.onnx_walk import to_default_domain, walk_nodes
from analyzer.sources.weightless import check_model_weightless
from rewrites.contract import PassResult, Reason
from rewrites.onnx import adapters, attribute_values
from rewrites.onnx.adapters import subgraph_ops
from rewrites.onnx.rule import RewriteModel

HOLD_DOMAIN = "onnx_preflight.hold"
MAX_HOLD_ROUNDS = 64

#: Version steps that kept the signature but changed what the op computes.
SEMANTIC_CHANGES: frozenset[tuple[str, int]] = frozenset(
    {("Softmax", 13), ("LogSoftmax", 13), ("Hardmax", 13)}
)

_OPTIONAL = onnx.defs.OpSchema.FormalParameterOption.Optional
_VARIADIC = onnx.defs.OpSchema.FormalParameterOption.Variadic


_OP_IN_ERROR = (
    re.compile(r"No Previous Version of (\w+) exists"),
    re.compile(r"No Adapter (?:From|To) Version \$\d+ for (\w+)"),
    re.compile(r"No Op registered for (\w+)"),
    re.compile(r"op_type:(\w+)"),
    re.compile(r"for operator (\w+)"),
)


@dataclass
class Converted:
    """The converted model and the ops the `hold` adapter carried across."""

    model: onnx.ModelProto
    #: op -> (from version, to version, attributes dropped)
    held: dict[str, tuple[int, int, tuple[str, ...]]] = field(default_factory=dict)
    #: exact-lower-form adapter id -> nodes it rewrote (rewrites.onnx.adapters)
    adapted: dict[str, int] = field(default_factory=dict)


class VersionConvert:
    """A whole-model pass (rewrites.contract.ModelPass): not matched per node, run by the pass
    after its node rules when a target opset is set."""

    id = "onnx:version-convert"
    summary = ("convert the model to the target ai.onnx opset (onnx.version_converter + this "
               "project's adapters)")
    exact = True

    def needed(self, model: RewriteModel) -> bool:
        return (model.target_opset is not None
                and model.opset_imports.get("") != model.target_opset)

    def change(self, model: RewriteModel) -> tuple[tuple[str, ...], tuple[str, ...]]:
        return (f"opset {model.opset_imports.get('')}",), (f"opset {model.target_opset}",)

    def run(self, model: RewriteModel) -> PassResult:
        """The model at `model.target_opset`; `note` names the ops the hold adapter kept."""
        if model.target_opset is None:
            return PassResult(reason=Reason(self.id, "model", "no target opset"))
        converted = self.convert(model, model.target_opset)
        if isinstance(converted, Reason):
            return PassResult(reason=converted)
        note = ", ".join([f"{op}-{a} kept as {op}-{b} (hold adapter)"
                          for op, (a, b, _) in sorted(converted.held.items())]
                         + [f"{n} node(s) by the {name} adapter"
                            for name, n in sorted(converted.adapted.items())]) or None
        return PassResult(converted.model, note=note)

    def convert(self, model: RewriteModel, target: int,
                known: subgraph_ops.Types | None = None) -> Converted | Reason:
        """The model at `target`, or a Reason naming the op onnx.version_converter fails on.

        When onnx lacks an adapter for a step below the model's opset ("No Adapter From Version
        $13 for ReduceMean" going 20 -> 11: the node is ReduceMean-18, converted to 13 first),
        the conversion is split there: to that version, then on from it, each leg with its own
        held ops. `known`: value types inferred in the model a body comes from, before its
        adapters hid nodes from inference (subgraph_ops)."""
        source = model.opset_imports.get("")
        if source is None:
            return Reason(self.id, "model", "the model imports no ai.onnx opset")
        held: dict[str, tuple[int, int, tuple[str, ...]]] = {}
        lacking = _values_missing_at(model, target)
        if lacking is not None:
            return lacking
        # the adapters edit a copy (the caller's model stays as it was) that holds no large
        # weight's bytes: those are put back, by name, into what the converter returns
        copy, weights = weightless_copy(model.proto, _BIG_WEIGHT)
        current = RewriteModel(copy)
        if (_shape_slices(current, target) + _constant_tensors(current.proto, target)
                + _reshape_allowzero(current, target)):
            current = RewriteModel(current.proto)
        # nodes rewritten into their target-version form travel under a private domain
        # through every leg and are put back at the end
        if subgraph_ops.type_loop_inputs(current):  # the dynamo exporter leaves them untyped
            current = RewriteModel(current.proto)
        # before the adapters hide nodes from inference; what this model alone cannot type
        # (a value an outer graph's adapter already moved) from the model it came from
        types = subgraph_ops.merge_types(known or {}, current.value_types())
        # bodies first, each as its own model (its nodes adapted there, where the outer
        # initializers it reads are constants), set aside while the adapters run on the rest
        bodies = subgraph_ops.adapt(current, target, self._convert_body, types, park=True)
        if isinstance(bodies, str):
            return Reason(self.id, "model", f"cannot convert a body: {bodies}")
        if bodies:
            subgraph_ops.type_if_outputs(current.proto)
            current = RewriteModel(current.proto)
        adapted = adapters.adapt(current, target)
        subgraph_ops.unpark(current.proto)
        if bodies:
            adapted[subgraph_ops.ID] = bodies
        if adapted:
            current = RewriteModel(current.proto)
        for _ in range(MAX_LEGS):
            leg = _convert_leg(current, target, weights)
            if isinstance(leg, Reason):
                return leg
            out, leg_held, stop = leg
            held.update(leg_held)
            if stop is None:
                if adapted:
                    adapters.restore(out)
                    try:
                        _check(out)
                    except Exception as exc:  # noqa: BLE001 - the checker raises ValidationError
                        return Reason(self.id, "model", "the adapted nodes are invalid at "
                                      f"opset {target}: {str(exc).strip().splitlines()[0]}")
                return Converted(out, held, adapted)
            current = RewriteModel(out)
        return Reason(self.id, "model", "too many conversion legs")

    def _convert_body(self, body: onnx.ModelProto, target: int,
                      known: subgraph_ops.Types) -> onnx.ModelProto | str:
        """A body of an If / Loop, as its own model, at `target` (rewrites.onnx.adapters.
        subgraph_ops), or why not."""
        converted = self.convert(RewriteModel(body), target, known)
        return converted.text if isinstance(converted, Reason) else converted.model


MAX_LEGS = 8


def _values_missing_at(model: RewriteModel, target: int) -> Reason | None:
    """The first node that sets an attribute value its op accepts only above `target`
    (ScatterElements' reduction="add" below 16): no adapter can lower it, and onnx's own
    adapters fail on it with a message that names no node."""
    for r in model.records():
        if r.domain or r.proto is None:
            continue
        why = attribute_values.missing_at(r.op, r.proto, target)
        if why is not None:
            return Reason(VersionConvert.id, r.op, f"{r.op} node {r.name}: {why}")
    return None


def _reshape_allowzero(model: RewriteModel, target: int) -> int:
    """Adapter for Reshape-14's allowzero=1 (the torch exporter sets it), which Reshape-13 and
    older lack: with a constant shape that holds no 0, allowzero changes nothing and is dropped.
    A shape with a 0, or one computed at run time, keeps it (and the conversion says why)."""
    if target >= 14:
        return 0
    constants = {i.name: i for i in model.proto.graph.initializer}
    records = model.records()
    for r in records:
        if r.op == "Constant" and not r.domain and r.proto is not None:
            value = next((a.t for a in r.proto.attribute if a.name == "value"), None)
            if value is not None:
                constants[r.outputs[0]] = value
    count = 0
    for index, r in enumerate(records):
        if r.op != "Reshape" or r.domain or len(r.inputs) < 2:
            continue
        node = model.node(index)
        if not any(a.name == "allowzero" and a.i == 1 for a in node.attribute):
            continue
        shape = constants.get(r.inputs[1])
        if shape is None or 0 in onnx.numpy_helper.to_array(shape).tolist():
            continue
        kept = [a for a in node.attribute if a.name != "allowzero"]
        del node.attribute[:]
        node.attribute.extend(kept)
        count += 1
    return count


_CONSTANT_FORMS = {"value_float": onnx.TensorProto.FLOAT, "value_floats": onnx.TensorProto.FLOAT,
                   "value_int": onnx.TensorProto.INT64, "value_ints": onnx.TensorProto.INT64}


def _constant_tensors(model: onnx.ModelProto, target: int) -> int:
    """Adapter for Constant-12's value_float(s) / value_int(s), which onnx has no adapter to
    lower: the same value as a `value` tensor (a scalar for the singular forms)."""
    if target >= 12:
        return 0
    count = 0
    for node in walk_nodes(model.graph):
        if node.op_type != "Constant" or node.domain not in ("", "ai.onnx"):
            continue
        attr = next((a for a in node.attribute if a.name in _CONSTANT_FORMS), None)
        if attr is None:
            continue
        value = onnx.helper.get_attribute_value(attr)
        dims = [] if attr.name in ("value_float", "value_int") else [len(value)]
        values = [value] if not dims else list(value)
        tensor = onnx.helper.make_tensor(node.output[0], _CONSTANT_FORMS[attr.name], dims,
                                         values)
        del node.attribute[:]
        node.attribute.append(onnx.helper.make_attribute("value", tensor))
        count += 1
    return count


def _shape_slices(model: RewriteModel, target: int) -> int:
    """Adapter for Shape-15's start/end (GroupNormalization's body uses them), which onnx has
    no adapter to drop: Shape then Slice, valid from opset 10. Edits model.proto in place and
    returns how many nodes it rewrote."""
    if target >= 15:
        return 0
    count = 0
    for index, record in enumerate(model.records()):
        if record.op != "Shape" or record.domain:
            continue
        node = model.node(index)
        start = next((a.i for a in node.attribute if a.name == "start"), 0)
        end = next((a.i for a in node.attribute if a.name == "end"), None)
        if start == 0 and end is None:
            continue
        prefix = node.name or record.name
        full = model.fresh_name(f"{node.output[0]}/full")
        shape = onnx.helper.make_node("Shape", [node.input[0]], [full],
                                      name=model.fresh_name(f"{prefix}/Shape"))
        consts = []
        names = []
        for label, value in (("starts", start), ("ends", end if end is not None else 2**62),
                             ("axes", 0)):
            name = model.fresh_name(f"{prefix}/{label}")
            consts.append(onnx.helper.make_node(
                "Constant", [], [name], name=model.fresh_name(f"{prefix}/{label}"),
                value=onnx.helper.make_tensor(name, onnx.TensorProto.INT64, [1], [value])))
            names.append(name)
        sliced = onnx.helper.make_node("Slice", [full, *names], [node.output[0]],
                                       name=model.fresh_name(f"{prefix}/Slice"))
        model.replace(index, [shape, *consts, sliced], VersionConvert.id)
        count += 1
    model.commit()
    return count


def _convert_leg(
    model: RewriteModel, target: int, weights: list[onnx.TensorProto]
) -> tuple[onnx.ModelProto, dict[str, tuple[int, int, tuple[str, ...]]], int | None] | Reason:
    """Convert towards `target`: (model, held ops, None) when there, or (model at an
    intermediate opset, held ops, that opset) when onnx lacks an adapter below the source."""
    source = model.opset_imports.get("", target)
    by_op = _records_by_op(model)
    # Held up front: every op the adapter can carry, not only those onnx fails on. Each failed
    # attempt costs a whole conversion, and onnx's converter grows faster than the node count
    # (measured: 0.26 s at 10k nodes, 1.0 s at 30k), so retrying per op was the pass's
    # slowest step on large graphs.
    held = {op: v for op, v in ((op, _holdable(records, op, target))
                                for op, records in by_op.items()) if not isinstance(v, str)}
    failed_on: set[str] = set()
    for _ in range(MAX_HOLD_ROUNDS):
        # the converter serializes, parses, converts and serializes back: without the large
        # weights' bytes (put back by name after), they are not copied four times at once
        work, more = weightless_copy(model.proto, _BIG_WEIGHT)
        restore = _hold(work, held)
        try:
            out = onnx.version_converter.convert_version(work, target)
            del work
            _restore(out, restore)
            _put_weights_back(out, [*weights, *more])
            _check(out)  # onnx adapters can leave attributes behind
            return out, held, None
        except Exception as exc:  # noqa: BLE001 - the C++ converter raises RuntimeError
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        op = _op_in(message) or _dynamic_axes_op(model, message) or _attribute_op(model, message)
        if op is None or op in failed_on or op in held:
            return Reason(VersionConvert.id, _op_name(op), _explain(message, op, source, target))
        failed_on.add(op)
        versions = _holdable(by_op.get(op, []), op, target)
        if isinstance(versions, str):
            step = _FROM_VERSION.search(message)
            middle = int(step.group(1)) if step else None
            if middle is not None and target < middle < source:
                first = _convert_leg(model, middle, weights)
                if isinstance(first, Reason):
                    return first
                return first[0], first[1], middle
            return Reason(VersionConvert.id, _op_name(op),
                          _explain(message, op, source, target, versions))
        held[op] = versions
    return Reason(VersionConvert.id, "model", "too many ops need the hold adapter")


#: Initializers at least this large travel through onnx's converter without their bytes: the
#: converter serializes its input, parses it into its IR, converts and serializes back, so each
#: weight would be copied about four times at once (measured: peak 5x the weights during the
#: conversion). The adapters that read an initializer's value (axes, split, scales, pads) read
#: small ones.
_BIG_WEIGHT = 1 << 16


def _check(model: onnx.ModelProto) -> None:
    """onnx.checker on the converted model without serializing its large weights (a model past
    2 GiB cannot be serialized at all; below, it would be three more copies of the weights)."""
    if not check_model_weightless(model):
        onnx.checker.check_model(model)


def _put_weights_back(out: onnx.ModelProto, weights: list[onnx.TensorProto]) -> None:
    """Give the converted model's initializers their bytes again, by name (the converter keeps
    initializer names, types and shapes). One the converter changed (its type or shape) fails
    the conversion rather than carrying bytes that do not fit."""
    source = {t.name: t for t in weights}
    for tensor in out.graph.initializer:
        original = source.get(tensor.name)
        if original is None or tensor.HasField("raw_data"):
            continue
        if (tensor.data_type, tuple(tensor.dims)) != (original.data_type, tuple(original.dims)):
            raise RuntimeError(f"the converter changed initializer {tensor.name}")
        if deferred_source(original) is not None:  # still in its file: the reference, again
            tensor.CopyFrom(original)
            continue
        tensor.raw_data = original.raw_data


_FROM_VERSION = re.compile(r"No Adapter From Version \$(\d+) for")


def _op_name(op: str | None) -> str:
    """A failure's Reason.node: the op the converter failed on ("ReduceMean" of "ReduceMean node
    n1"), or "model" when the message names none (rewrites.onnx.target_check reads it)."""
    return op.split()[0] if op else "model"


def _dynamic_axes_op(model: RewriteModel, message: str) -> str | None:
    """The axes_input_to_attribute adapter does not name its node: find the first node whose
    axes input is neither an initializer nor a Constant's output."""
    if "axes_input_to_attribute" not in message:
        return None
    constant = {i.name for i in model.proto.graph.initializer}
    for r in model.records():
        if r.op == "Constant":
            constant.update(r.outputs)
    for r in model.records():
        if (r.op.startswith("Reduce") or r.op in ("Squeeze", "Unsqueeze")) and len(
                r.inputs) > 1 and r.inputs[1] and r.inputs[1] not in constant:
            return f"{r.op} node {r.name}"
    return None


_ATTRIBUTE_VALUE = re.compile(r"Attribute (\w+) must have value (\S+)")


def _attribute_op(model: RewriteModel, message: str) -> str | None:
    """onnx's adapters that refuse an attribute value ("Attribute reduction must have value none
    for this version conversion") do not name their node: the first node that sets it to
    another value (one that sets it to the value asked for is not the one refused)."""
    found = _ATTRIBUTE_VALUE.search(message)
    if found is None:
        return None
    name, wanted = found.group(1), found.group(2)
    for r in model.records():
        if r.domain or r.proto is None:
            continue
        for a in r.proto.attribute:
            if a.name != name:
                continue
            value = onnx.helper.get_attribute_value(a)
            if (value.decode() if isinstance(value, bytes) else str(value)) != wanted:
                return f"{r.op} node {r.name}"
    return None


def _op_in(message: str) -> str | None:
    for pattern in _OP_IN_ERROR:
        found = pattern.search(message)
        if found:
            return found.group(1)
    return None


def _explain(message: str, op: str | None, source: int, target: int,
             why_not_held: str | None = None) -> str:
    text = message.split("failed: ", 1)[-1].strip()
    where = f" ({op})" if op else ""
    hint = ""
    if "No Previous Version" in message:
        needs = adapters.requirement(op) if op else None
        hint = (f"; {op} does not exist at opset {target}: no rule in the registry "
                "decomposes this node" + (f", and {needs}" if needs else ""))
    if "No initializer or constant input" in message:
        hint = "; its axes come from a graph input, so no attribute form exists"
    held = f"; not held: {why_not_held}" if why_not_held else ""
    return (f"onnx.version_converter cannot convert opset {source} -> {target}{where}: "
            f"{text}{hint}{held}")


def _schema(op: str, version: int) -> Any:
    try:
        return onnx.defs.get_schema(op, version, "")
    except onnx.defs.SchemaError:
        return None


Signature = tuple[tuple[str, Any], ...]


def _io_signature(schema: Any) -> tuple[Signature, Signature]:
    return (
        tuple((p.name, p.option) for p in schema.inputs),
        tuple((p.name, p.option) for p in schema.outputs),
    )


def _at_default(node: onnx.NodeProto, name: str, schema: Any) -> bool:
    """The node leaves attribute `name` unset or sets it to the schema's default."""
    attr = next((a for a in node.attribute if a.name == name), None)
    if attr is None:
        return True
    default = schema.attributes[name].default_value
    if default.type == onnx.AttributeProto.UNDEFINED:
        return False
    return bool(onnx.helper.get_attribute_value(attr) ==
                onnx.helper.get_attribute_value(default))


def _allowed(schema: Any) -> dict[str, set[str]]:
    return {c.type_param_str: set(c.allowed_type_strs) for c in schema.type_constraints}


def _records_by_op(model: RewriteModel) -> dict[str, list[NodeRecord]]:
    """Default-domain records per op, in one walk (ops with subgraphs left out: holding an
    If / Loop / Scan would hide its bodies from the converter)."""
    out: dict[str, list[NodeRecord]] = {}
    with_graphs: set[str] = set()
    for r in model.records():
        if r.domain:
            continue
        if r.proto is not None and any(a.type in (onnx.AttributeProto.GRAPH,
                                                  onnx.AttributeProto.GRAPHS)
                                       for a in r.proto.attribute):
            with_graphs.add(r.op)
        out.setdefault(r.op, []).append(r)
    for op in with_graphs:
        out.pop(op, None)
    return out


def _holdable(records: list[NodeRecord], op: str,
              target: int) -> tuple[int, int, tuple[str, ...]] | str:
    """(node version, target version, attributes to drop) when every node of `op` is already
    valid at the target once attributes the target's version lacks (set to their defaults, such
    as Cast-19's saturate=1) are dropped; else why not."""
    if not records:
        return f"no {op} node in the model's graphs"
    since = {r.since_version for r in records}
    if len(since) != 1 or None in since:
        return f"{op} nodes resolve to several versions"
    version = since.pop()
    assert version is not None
    low = _schema(op, target)
    if low is not None and int(low.since_version) == version:
        return f"{op}-{version} is the same at opset {target}"
    high = _schema(op, version)
    if low is None or high is None:
        return f"{op} has no schema at opset {target}"
    low_version = int(low.since_version)
    if (op, version) in SEMANTIC_CHANGES or any(
            (op, v) in SEMANTIC_CHANGES for v in range(low_version + 1, version + 1)):
        return f"{op} changed semantics between versions {low_version} and {version}"
    low_in, low_out = _io_signature(low)
    high_in, high_out = _io_signature(high)
    # Attributes the lower version has and the node's version lacks must be optional there
    # (Dropout-10's ratio: unused in inference, as Dropout-13's ratio input left out).
    if any(low.attributes[a].required for a in set(low.attributes) - set(high.attributes)):
        return f"{op}-{version} and {op}-{low_version} differ in inputs or attributes"
    extra = tuple(sorted(set(high.attributes) - set(low.attributes)))
    for r in records:
        why = _fits_signature(r, low_in, high_in, low_out, high_out)
        if why:
            return f"{r.name} {why} at {op}-{low_version}"
        if r.proto is not None:
            later = attribute_values.first_version(op, r.proto)
            if later is not None and later[2] > low_version:
                return f"{r.name} uses {later[0]}={later[1]}, which {op}-{low_version} lacks"
        for name in extra:
            if r.proto is None or not _at_default(r.proto, name, high):
                return (f"{r.name} sets {name}, which {op}-{low_version} lacks, to a "
                        "non-default value")
    allowed = _allowed(low)
    for r in records:
        for params, types in ((low.inputs, r.input_types), (low.outputs, r.output_types)):
            for i, t in enumerate(types):
                if not t:
                    continue
                param = params[min(i, len(params) - 1)]
                if param.type_str in allowed and t not in allowed[param.type_str]:
                    return f"{op}-{low_version} does not take {t} (node {r.name})"
                if t is None:
                    return f"the types of {r.name} are unknown"
    return version, low_version, extra


def _fits_signature(r: NodeRecord, low_in: Signature, high_in: Signature, low_out: Signature,
                    high_out: Signature) -> str | None:
    """Whether the inputs and outputs the node uses exist, under the same names and positions,
    in the lower version, and the node gives every input and output the lower version requires
    (BatchNormalization-15 with one output is a BatchNormalization-9; Pad-18 without axes is a
    Pad-13). None when it fits, else what does not."""
    for used, low, high in ((r.inputs, low_in, high_in), (r.outputs, low_out, high_out)):
        variadic = bool(low) and low[-1][1] == _VARIADIC
        for i, name in enumerate(used):
            if not name:
                continue
            if i >= len(low):
                if variadic:
                    continue
                return f"uses {'an input' if used is r.inputs else 'an output'} that does not exist"
            # inputs keep their meaning by position across versions (BatchNormalization-15's
            # input_mean is BatchNormalization-9's mean); an output renamed may not
            if used is r.outputs and i < len(high) and high[i][0] != low[i][0]:
                return f"uses output {i}, which is {low[i][0]!r}"
        for i, (_, option) in enumerate(low):
            if option == _OPTIONAL or (option == _VARIADIC and i > 0):
                continue
            if i >= len(used) or not used[i]:
                return f"leaves {low[i][0]!r} unset, which is required"
    return None


def _hold(work: onnx.ModelProto,
          held: dict[str, tuple[int, int, tuple[str, ...]]]) -> list[onnx.NodeProto]:
    """Move the held ops of `work` (a copy of model.proto) into HOLD_DOMAIN."""
    if not held:
        return []
    moved: list[onnx.NodeProto] = []
    for node in walk_nodes(work.graph):
        if node.op_type in held and node.domain in ("", "ai.onnx"):
            node.domain = HOLD_DOMAIN
            drop = held[node.op_type][2]
            if drop:
                kept = [a for a in node.attribute if a.name not in drop]
                del node.attribute[:]
                node.attribute.extend(kept)
            moved.append(node)
    work.opset_import.append(onnx.helper.make_opsetid(HOLD_DOMAIN, 1))
    return moved


def _restore(out: onnx.ModelProto, moved: list[onnx.NodeProto]) -> None:
    """Put held nodes back in the default domain and drop the private import."""
    if moved:
        to_default_domain(out, HOLD_DOMAIN)
