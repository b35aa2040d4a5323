"""Generate opsets/data/onnx_downconvert.json: which default-domain ONNX ops survive
conversion from opset 18 to a lower (or higher) opset.

Why this table exists: the dynamo exporter (torch 2.13, ``torch.onnx.export(..., dynamo=True)``)
always builds its model at opset 18 when a lower ``opset_version`` is requested
(``_compat.export_compat`` logs "Setting ONNX exporter to use operator set version 18 ...") and
then calls ``onnxscript._framework_apis.torch_2_9.convert_version``, i.e.
``onnxscript.version_converter.convert_version(model, target, fallback=True)``. onnxscript's own
converter only handles targets in [18, 25] (``version_supported``), so for a target below 18 it
logs "... will be converted using the onnx C API" and runs
``onnx.version_converter.convert_version`` on the whole (inlined) model. When that raises, it logs
"Failed to convert the model to the target version N using the ONNX C API. The model was not
modified" and torch returns the opset-18 model: no exception, only a log warning. So one op
without a down adapter leaves the whole export at opset 18.

The table is measured, not read from onnx's sources: for every default-domain op with a schema at
opset 18 it builds a valid one-node opset-18 model (float data where the op allows it, the
shape-like int64 inputs as initializers, as the exporter emits them; checked with the full onnx
checker) and records, per target opset 7..17 (and 19..23), whether
``onnx.version_converter.convert_version`` succeeds, or the first line of its error. Ops it
cannot build a valid probe for are listed under "skipped" with the reason. Answers are for the
probe's element type: a few adapters (TypeRestriction) reject only some types.
"""

from __future__ import annotations

import re
from typing import Any

import onnx
import onnx.parser
import onnx.shape_inference
import onnx.version_converter
from onnx import helper

from opsets.generators.cache import build_once
from opsets.onnx_downconvert import FROM_OPSET

#: root > ops|skipped > one record per op (one line per op in the file)
DOWNCONVERT_EXPAND_DEPTH = 2

DOWN_TARGETS: tuple[int, ...] = tuple(range(7, FROM_OPSET))
UP_TARGETS: tuple[int, ...] = tuple(range(FROM_OPSET + 1, 24))
_PREFERRED = (
    "tensor(float)",
    "tensor(int64)",
    "tensor(int32)",
    "tensor(uint8)",
    "tensor(bool)",
    "tensor(string)",
)
_DATA_SHAPE = (2, 3, 4, 5)
#: the C++ assertion prefix ("/project/onnx/version_converter/X.h:66: fn: Assertion `false`
#: failed: ") names the wheel's build path; the message after it is what matters
_ASSERT_PREFIX = re.compile(r"^.*?Assertion `[^`]*` failed: ")

# ---------------------------------------------------------------------------------------------
# probe models

#: Per-op tweaks to the generic probe: "attrs" (values for attributes), "shapes" (input name ->
#: shape), "init" (input name -> int64 initializer values, also for optional inputs to include;
#: "init_dims" gives their shape when not 1-D),
#: "types" (input name -> tensor type), "outputs" (number of outputs).
_TWEAKS: dict[str, dict[str, Any]] = {
    "AveragePool": {"attrs": {"kernel_shape": [2, 2]}},
    "MaxPool": {"attrs": {"kernel_shape": [2, 2]}},
    "LpPool": {"attrs": {"kernel_shape": [2, 2]}},
    "MaxRoiPool": {"attrs": {"pooled_shape": [2, 2]}, "shapes": {"rois": (1, 5)}},
    "MaxUnpool": {"attrs": {"kernel_shape": [2, 2]}},
    "BitShift": {"attrs": {"direction": "LEFT"}, "types": {"X": "uint32", "Y": "uint32"}},
    "Cast": {"attrs": {"to": 7}},
    "CastLike": {"types": {"target_type": "int64"}},
    "Col2Im": {
        "shapes": {"input": (1, 4, 4)},
        "init": {"image_shape": [3, 3], "block_shape": [2, 2]},
    },
    "Concat": {"attrs": {"axis": 0}},
    "Conv": {"shapes": {"W": (2, 3, 2, 2)}},
    "ConvTranspose": {"shapes": {"W": (3, 2, 2, 2)}},
    "ConvInteger": {"types": {"x": "uint8", "w": "uint8"}, "shapes": {"w": (2, 3, 2, 2)}},
    "DepthToSpace": {"attrs": {"blocksize": 2}, "shapes": {"input": (1, 4, 2, 2)}},
    "SpaceToDepth": {"attrs": {"blocksize": 2}, "shapes": {"input": (1, 1, 4, 4)}},
    "DequantizeLinear": {"types": {"x": "uint8"}, "shapes": {"x_scale": ()}},
    "QuantizeLinear": {"shapes": {"y_scale": ()}},
    "Einsum": {"attrs": {"equation": "ij,jk->ik"}, "shapes": {"Inputs": (2, 3)}},
    "Expand": {"init": {"shape": [2, 3, 4, 5]}},
    "Gather": {"types": {"indices": "int64"}, "shapes": {"indices": (2,)}},
    "GatherElements": {"types": {"indices": "int64"}},
    "GatherND": {"shapes": {"indices": (2, 1)}},
    "ScatterElements": {"types": {"indices": "int64"}},
    "ScatterND": {"shapes": {"indices": (2, 1), "updates": (2, 3, 4, 5)}, "init": {}},
    "Gemm": {"shapes": {"A": (2, 3), "B": (3, 4)}},
    "MatMul": {"shapes": {"A": (2, 3), "B": (3, 4)}},
    "MatMulInteger": {"types": {"A": "uint8", "B": "uint8"}, "shapes": {"A": (2, 3), "B": (3, 4)}},
    "QLinearMatMul": {
        "types": {"a": "uint8", "a_zero_point": "uint8", "b": "uint8", "b_zero_point": "uint8"},
        "shapes": {
            "a": (2, 3),
            "b": (3, 4),
            "a_scale": (),
            "a_zero_point": (),
            "b_scale": (),
            "b_zero_point": (),
            "y_scale": (),
            "y_zero_point": (),
        },
    },
    "QLinearConv": {
        "types": {
            "x": "uint8",
            "x_zero_point": "uint8",
            "w": "uint8",
            "w_zero_point": "uint8",
            "y_zero_point": "uint8",
        },
        "shapes": {
            "w": (2, 3, 2, 2),
            "x_scale": (),
            "x_zero_point": (),
            "w_scale": (),
            "w_zero_point": (),
            "y_scale": (),
            "y_zero_point": (),
        },
    },
    "LRN": {"attrs": {"size": 3}},
    "GRU": {
        "attrs": {"hidden_size": 4},
        "shapes": {"X": (2, 1, 3), "W": (1, 12, 3), "R": (1, 12, 4)},
    },
    "LSTM": {
        "attrs": {"hidden_size": 4},
        "shapes": {"X": (2, 1, 3), "W": (1, 16, 3), "R": (1, 16, 4)},
    },
    "RNN": {
        "attrs": {"hidden_size": 4},
        "shapes": {"X": (2, 1, 3), "W": (1, 4, 3), "R": (1, 4, 4)},
    },
    "LayerNormalization": {"shapes": {"Scale": (5,)}},
    "BatchNormalization": {
        "shapes": {"scale": (3,), "B": (3,), "input_mean": (3,), "input_var": (3,)}
    },
    "InstanceNormalization": {"shapes": {"scale": (3,), "B": (3,)}},
    "PRelu": {"shapes": {"slope": (5,)}},
    "NegativeLogLikelihoodLoss": {
        "shapes": {"input": (2, 3), "target": (2,)},
        "types": {"target": "int64"},
    },
    "SoftmaxCrossEntropyLoss": {
        "shapes": {"scores": (2, 3), "labels": (2,)},
        "types": {"labels": "int64"},
    },
    "NonMaxSuppression": {"shapes": {"boxes": (1, 2, 4), "scores": (1, 1, 2)}},
    "RoiAlign": {"shapes": {"rois": (1, 4), "batch_indices": (1,)}},
    "Pad": {"init": {"pads": [0, 0, 1, 1, 0, 0, 1, 1]}},
    "ReduceL1": {"init": {"axes": [1]}},
    "ReduceL2": {"init": {"axes": [1]}},
    "ReduceLogSum": {"init": {"axes": [1]}},
    "ReduceLogSumExp": {"init": {"axes": [1]}},
    "ReduceMax": {"init": {"axes": [1]}},
    "ReduceMean": {"init": {"axes": [1]}},
    "ReduceMin": {"init": {"axes": [1]}},
    "ReduceProd": {"init": {"axes": [1]}},
    "ReduceSum": {"init": {"axes": [1]}},
    "ReduceSumSquare": {"init": {"axes": [1]}},
    "Reshape": {"init": {"shape": [6, 20]}},
    "Resize": {"init": {"sizes": [2, 3, 8, 10]}, "empty": ["roi", "scales"]},
    "ReverseSequence": {"shapes": {"input": (4, 2, 3)}, "init": {"sequence_lens": [1, 2]}},
    "Slice": {"init": {"starts": [0], "ends": [1], "axes": [1]}},
    "Split": {"attrs": {"axis": 1}, "init": {"split": [1, 2]}, "outputs": 2},
    "MeanVarianceNormalization": {"attrs": {"axes": [0, 2, 3]}},
    "Squeeze": {"shapes": {"data": (2, 1, 4, 5)}, "init": {"axes": [1]}},
    "Unsqueeze": {"init": {"axes": [1]}},
    "Tile": {"init": {"repeats": [1, 2, 1, 1]}},
    "TopK": {"init": {"K": [2]}},
    "Trilu": {"shapes": {"input": (3, 4)}},
    "OneHot": {
        "types": {"indices": "int64", "depth": "int64"},
        "shapes": {"depth": ()},
        "init": {"values": None},
    },
    "DFT": {"shapes": {"input": (1, 8, 1)}},
    "STFT": {
        "shapes": {"signal": (1, 16, 1)},
        "init": {"frame_step": [4], "frame_length": [8]},
        "scalar_init": ["frame_step", "frame_length"],
    },
    "TfIdfVectorizer": {
        "types": {"X": "int64"},
        "shapes": {"X": (2, 3)},
        "attrs": {
            "mode": "TF",
            "ngram_indexes": [0, 1],
            "ngram_counts": [0, 2],
            "max_skip_count": 0,
            "min_gram_length": 1,
            "max_gram_length": 1,
            "pool_int64s": [1, 2],
        },
    },
    "StringNormalizer": {"shapes": {"X": (3,)}},
    "RandomNormal": {"attrs": {"shape": [2, 3]}},
    "RandomUniform": {"attrs": {"shape": [2, 3]}},
    "Range": {
        "types": {"start": "float", "limit": "float", "delta": "float"},
        "shapes": {"start": (), "limit": (), "delta": ()},
    },
    "Where": {"types": {"condition": "bool"}},
    "Compress": {"types": {"condition": "bool"}, "shapes": {"condition": (2,)}},
    "Mod": {"types": {"A": "int64", "B": "int64"}},
    "CenterCropPad": {"init": {"shape": [2, 3, 2, 2]}},
    "Det": {"shapes": {"X": (2, 3, 3)}},
    "EyeLike": {"shapes": {"input": (3, 4)}},
    "ConstantOfShape": {"init": {"input": [2, 3]}},
    "Multinomial": {"shapes": {"input": (2, 3)}},
    "MelWeightMatrix": {
        "types": {
            "num_mel_bins": "int64",
            "dft_length": "int64",
            "sample_rate": "int64",
            "lower_edge_hertz": "float",
            "upper_edge_hertz": "float",
        },
        "init": {"num_mel_bins": [8], "dft_length": [16], "sample_rate": [8000]},
        "scalar_init": ["num_mel_bins", "dft_length", "sample_rate"],
        "shapes": {"lower_edge_hertz": (), "upper_edge_hertz": ()},
    },
    "BlackmanWindow": {"init": {"size": [8]}, "scalar_init": ["size"]},
    "HammingWindow": {"init": {"size": [8]}, "scalar_init": ["size"]},
    "HannWindow": {"init": {"size": [8]}, "scalar_init": ["size"]},
    "GridSample": {"shapes": {"X": (1, 3, 4, 5), "grid": (1, 2, 2, 2)}},
    "AffineGrid": {"shapes": {"theta": (1, 2, 3)}, "init": {"size": [1, 3, 4, 5]}},
    "DeformConv": {"shapes": {"X": (1, 3, 4, 4), "W": (2, 3, 2, 2), "offset": (1, 8, 3, 3)}},
}

#: Ops that a generic node cannot express (graph attributes, sequences, optionals): their probe
#: as onnx text (onnx.parser), at opset 18.
_TEXT_PROBES: dict[str, str] = {
    # Subgraph bodies use Sin / Cos / Not (unchanged since opset 7 or earlier) so that only the
    # control-flow op itself decides: the converter converts body nodes too.
    "If": """
        <ir_version: 8, opset_import: ["" : 18]>
        probe (bool c, float[2] x) => (float[2] y) {
            y = If (c) <then_branch = g1 () => (float[2] a) { a = Sin (x) },
                        else_branch = g2 () => (float[2] b) { b = Cos (x) }>
        }""",
    "Loop": """
        <ir_version: 8, opset_import: ["" : 18]>
        probe (int64 m, bool c, float[2] x) => (float[2] y) {
            y = Loop (m, c, x) <body = g (int64 i, bool ci, float[2] xi) => (bool co, float[2] xo) {
                co = Not (ci)
                xo = Sin (xi)
            }>
        }""",
    "Scan": """
        <ir_version: 8, opset_import: ["" : 18]>
        probe (float[2] s, float[3, 2] xs) => (float[2] y, float[3, 2] ys) {
            y, ys = Scan (s, xs) <num_scan_inputs = 1,
                body = g (float[2] si, float[2] xi) => (float[2] so, float[2] yo) {
                    so = Sin (si)
                    yo = Cos (xi)
                }>
        }""",
    "SequenceMap": """
        <ir_version: 8, opset_import: ["" : 18]>
        probe (seq(float[2]) s) => (seq(float[2]) y) {
            y = SequenceMap (s) <body = g (float[2] x) => (float[2] o) { o = Sin (x) }>
        }""",
    "ConcatFromSequence": """
        <ir_version: 8, opset_import: ["" : 18]>
        probe (seq(float[2]) s) => (float[N] y) { y = ConcatFromSequence <axis = 0> (s) }""",
    "SequenceAt": """
        <ir_version: 8, opset_import: ["" : 18]>
        probe (seq(float[2]) s, int64 p) => (float[2] y) { y = SequenceAt (s, p) }""",
    "SequenceConstruct": """
        <ir_version: 8, opset_import: ["" : 18]>
        probe (float[2] a, float[2] b) => (seq(float[2]) y) { y = SequenceConstruct (a, b) }""",
    "SequenceEmpty": """
        <ir_version: 8, opset_import: ["" : 18]>
        probe (float[2] a) => (seq(float) y) { y = SequenceEmpty <dtype = 1> () }""",
    "SequenceErase": """
        <ir_version: 8, opset_import: ["" : 18]>
        probe (seq(float[2]) s, int64 p) => (seq(float[2]) y) { y = SequenceErase (s, p) }""",
    "SequenceInsert": """
        <ir_version: 8, opset_import: ["" : 18]>
        probe (seq(float[2]) s, float[2] t) => (seq(float[2]) y) { y = SequenceInsert (s, t) }""",
    "SequenceLength": """
        <ir_version: 8, opset_import: ["" : 18]>
        probe (seq(float[2]) s) => (int64 y) { y = SequenceLength (s) }""",
    "SplitToSequence": """
        <ir_version: 8, opset_import: ["" : 18]>
        probe (float[4, 2] x) => (seq(float[1, 2]) y) { y = SplitToSequence <axis = 0> (x) }""",
    "Optional": """
        <ir_version: 8, opset_import: ["" : 18]>
        probe (float[2] x) => (optional(float[2]) y) { y = Optional (x) }""",
    "OptionalGetElement": """
        <ir_version: 8, opset_import: ["" : 18]>
        probe (optional(float[2]) o) => (float[2] y) { y = OptionalGetElement (o) }""",
    "OptionalHasElement": """
        <ir_version: 8, opset_import: ["" : 18]>
        probe (optional(float[2]) o) => (bool y) { y = OptionalHasElement (o) }""",
    "Constant": """
        <ir_version: 8, opset_import: ["" : 18]>
        probe () => (float[2] y) { y = Constant <value = float[2] {1.0, 2.0}> () }""",
}


def _option(param: Any) -> str:
    return str(getattr(param.option, "name", param.option)).rsplit(".", 1)[-1].lower()


def _elem(type_str: str) -> int:
    return int(onnx.TensorProto.DataType.Value(type_str[len("tensor(") : -1].upper()))


def _generic_probe(schema: Any, opset: int = FROM_OPSET,
                   tweak: dict[str, Any] | None = None) -> Any:
    """A one-node model at `opset` from the schema plus _TWEAKS (or `tweak`); raises ValueError
    when an input type cannot be expressed generically."""
    tweak = _TWEAKS.get(schema.name, {}) if tweak is None else tweak
    constraints = {
        tc.type_param_str: tuple(sorted(tc.allowed_type_strs)) for tc in schema.type_constraints
    }
    chosen: dict[str, str] = {}  # constraint -> type, so a constraint binds every param alike
    inputs, initializers, names = [], [], []
    init = tweak.get("init", {})
    empty = set(tweak.get("empty", ()))
    for param in schema.inputs:
        option = _option(param)
        name = param.name
        if option == "optional" and name not in init and name not in empty:
            if any(later in init for later in _names_after(schema, name)):
                names.append("")  # an omitted optional before an included one
                continue
            break
        if name in empty:
            names.append("")
            continue
        if name in tweak.get("types", {}):
            type_str = f"tensor({tweak['types'][name]})"
        elif param.type_str in constraints:
            allowed = constraints[param.type_str]
            if param.type_str not in chosen:
                chosen[param.type_str] = next((p for p in _PREFERRED if p in allowed), allowed[0])
            type_str = chosen[param.type_str]
        else:
            type_str = param.type_str
        if not type_str.startswith("tensor("):
            raise ValueError(f"input {name!r} has type {type_str}: not a tensor")
        if param.type_str in constraints and param.type_str not in chosen:
            chosen[param.type_str] = type_str
        count = 2 if option == "variadic" else 1
        for k in range(count):
            value_name = name if count == 1 else f"{name}_{k}"
            names.append(value_name)
            if name in init and init[name] is not None:
                values = init[name]
                dims: list[int] = ([] if name in tweak.get("scalar_init", ()) else
                                   list(tweak.get("init_dims", {}).get(name, [len(values)])))
                initializers.append(
                    helper.make_tensor(value_name, onnx.TensorProto.INT64, dims, values)
                )
                continue
            if name in init:  # None: a small float/int tensor of shape [2]
                shape: tuple[int, ...] = (2,)
            else:
                shape = tweak.get("shapes", {}).get(name, _DATA_SHAPE)
            inputs.append(helper.make_tensor_value_info(value_name, _elem(type_str), list(shape)))
    outputs = []
    n_out = tweak.get("outputs")
    for i, param in enumerate(schema.outputs):
        if _option(param) == "optional" and n_out is None:
            break
        repeat = (n_out or 1) if _option(param) == "variadic" else 1
        for k in range(repeat):
            outputs.append(helper.make_value_info(f"out{i}_{k}", onnx.TypeProto()))
        if n_out is not None and len(outputs) >= n_out:
            break
    node = helper.make_node(
        schema.name, names, [o.name for o in outputs], name="probe", **tweak.get("attrs", {})
    )
    graph = helper.make_graph([node], "probe", inputs, outputs, initializer=initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    # typed outputs, so the probe is a graph the exporter could have written
    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    del model.graph.output[:]
    model.graph.output.extend(inferred.graph.output)
    for out in model.graph.output:
        if not out.type.HasField("tensor_type") and not out.type.HasField("sequence_type"):
            raise ValueError(f"output {out.name!r} has no inferred type")
    return model


def _names_after(schema: Any, name: str) -> list[str]:
    names = [p.name for p in schema.inputs]
    return names[names.index(name) + 1 :]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return _ASSERT_PREFIX.sub("", line).strip()


def probe_model(op: str, opset: int = FROM_OPSET, tweak: dict[str, Any] | None = None) -> Any:
    """The validated one-node probe for `op` at `opset` (default 18; raises with the reason when
    none). `tweak` replaces the op's _TWEAKS entry (attributes as an exporter writes them)."""
    schema = onnx.defs.get_schema(op, opset, "")
    if op in _TEXT_PROBES:
        text = _TEXT_PROBES[op].replace('"" : 18', f'"" : {opset}')
        model = onnx.parser.parse_model(text)
    else:
        model = _generic_probe(schema, opset, tweak)
    onnx.checker.check_model(model, full_check=True)
    return model


def _convert(model: Any, target: int) -> bool | str:
    try:
        converted = onnx.version_converter.convert_version(model, target)
    except Exception as exc:  # noqa: BLE001 - the converter's error is the answer
        return _first_line(exc)
    try:
        onnx.checker.check_model(converted, full_check=True)
    except Exception as exc:  # noqa: BLE001
        return "converted, but the result is invalid: " + _first_line(exc)
    return True


def probe_all() -> tuple[dict[str, Any], dict[str, str]]:
    """(op -> {"since", "down": [True | reason per DOWN_TARGETS], "up": [... UP_TARGETS]},
    op -> skip reason)."""
    ops: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    names = sorted({s.name for s in onnx.defs.get_all_schemas_with_history() if s.domain == ""})
    for op in names:
        try:
            schema = onnx.defs.get_schema(op, FROM_OPSET, "")
        except onnx.defs.SchemaError:
            continue  # introduced after opset 18: cannot be in an opset-18 model
        if schema.deprecated:
            skipped[op] = f"deprecated at opset {schema.since_version}"
            continue
        try:
            model = probe_model(op)
        except Exception as exc:  # noqa: BLE001 - recorded: which ops have no probe, and why
            skipped[op] = "no valid probe: " + _first_line(exc)
            continue
        ops[op] = {
            "since": int(schema.since_version),
            "down": [_convert(model, t) for t in DOWN_TARGETS],
            "up": [_convert(model, t) for t in UP_TARGETS],
        }
    return ops, skipped


def build_downconvert_table() -> dict[str, Any]:
    """{"provenance", "ops", "skipped"}, without the generated date (the writer adds it).
    Built once per process (about 3,000 converter calls, ~10 s); a fresh copy each call."""
    return build_once(__name__, _downconvert_table)


def _downconvert_table() -> dict[str, Any]:
    ops, skipped = probe_all()
    return {
        "provenance": {
            "library": "onnx",
            "version": onnx.__version__,
            "source": (
                "probe: onnx.version_converter.convert_version on a checked one-node model per "
                f"default-domain op at opset {FROM_OPSET}, to opsets "
                f"{DOWN_TARGETS[0]}..{DOWN_TARGETS[-1]} and {UP_TARGETS[0]}..{UP_TARGETS[-1]}"
            ),
            "from_opset": FROM_OPSET,
            "down_targets": list(DOWN_TARGETS),
            "up_targets": list(UP_TARGETS),
        },
        "ops": ops,
        "skipped": skipped,
    }
