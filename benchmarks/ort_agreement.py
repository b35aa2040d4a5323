"""How often does the placement prediction agree with a real onnxruntime CPU session?

One-node models are generated from the operator schemas (onnx's for the default and ai.onnx.ml
domains, onnxruntime's for com.microsoft): for each op, each since_version at every model opset
in OPSET_RANGE where it is current (the function body ORT inlines depends on the model's opset),
and each type that the op's primary type constraint allows. For each model the analyzer predicts
CPU loadability, the op types that run on CPU and, for a model that fails, the node that fails; a
real `onnxruntime.InferenceSession` (ORT_DISABLE_ALL, EP graph assignment recorded) says what
happens. Models that onnx itself rejects are "invalid", not disagreements; sessions that fail
for reasons the analyzer does not model (kernel constructors wanting attributes the schema calls
optional) are listed apart, each op with its cause in NOT_MODELED.

    python -m benchmarks.ort_agreement [--verbose] [--optimized] [--workers N]

prints the counts, the agreement rates and the disagreements grouped by cause; --optimized also
creates an ORT_ENABLE_ALL session per case and counts where it places differently.
tests/analyzer/test_ort_agreement.py asserts the rates and that every disagreement is documented.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import faulthandler
import multiprocessing
import os
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

import onnx
import onnx.checker
import onnx.defs
import onnx.helper
import onnxruntime as ort

from analyzer.checks.placement import predict_placement
from analyzer.sources.onnx_inventory import build_inventory, prepare

CPU = "CPUExecutionProvider"
#: Model opsets swept for the ai.onnx domain: 7 (the oldest ORT supports) to the installed onnx's
#: newest, so that an onnx upgrade that ORT does not follow shows up as disagreements.
OPSET_RANGE = (7, onnx.defs.onnx_opset_version())
#: contrib ops come from onnxruntime's own registry, at their single version.
MS_DOMAIN = "com.microsoft"
DOMAINS = ("", "ai.onnx.ml", MS_DOMAIN)
MS_OPSET_FOR_DEFAULT_DOMAIN = 21
ML_DEFAULT_OPSET = {1: 7, 2: 11, 3: 18, 4: 20, 5: 21}

#: Preference among a secondary type constraint's allowed types (the primary one is enumerated).
PREFERRED_TYPES = (
    "tensor(float)",
    "tensor(int64)",
    "tensor(int32)",
    "tensor(uint8)",
    "tensor(int8)",
    "tensor(bool)",
    "tensor(string)",
    "tensor(float16)",
    "tensor(double)",
    "seq(tensor(float))",
)

#: Ops whose required attributes or inputs cannot be produced generically.
SKIP_OPS: dict[tuple[str, str], str] = {
    ("", "Loop"): "needs a loop body subgraph",
    ("", "Scan"): "needs a scan body subgraph",
    ("", "SequenceMap"): "needs a body subgraph",
}

_INT = onnx.AttributeProto.INT
_INTS = onnx.AttributeProto.INTS
_FLOAT = onnx.AttributeProto.FLOAT
_FLOATS = onnx.AttributeProto.FLOATS
_STRING = onnx.AttributeProto.STRING

#: Plausible values for required attributes, by name (and type); op-specific ones in _op_attrs.
ATTR_VALUES: dict[tuple[str, int], Any] = {
    ("axis", _INT): 0,
    ("blocksize", _INT): 2,
    ("k", _INT): 1,
    ("num_groups", _INT): 1,
    ("size", _INT): 3,
    ("to", _INT): onnx.TensorProto.FLOAT,
    ("num_heads", _INT): 1,
    ("kv_num_heads", _INT): 1,
    ("q_num_heads", _INT): 1,
    ("groups", _INT): 1,
    ("K", _INT): 16,
    ("N", _INT): 16,
    ("block_size", _INT): 16,
    ("axes", _INTS): [0],
    ("kernel_shape", _INTS): [1, 1],
    ("pads", _INTS): [0, 0],
    ("starts", _INTS): [0],
    ("ends", _INTS): [1],
    ("pooled_shape", _INTS): [1, 1],
    ("shape", _INTS): [2, 3],
    ("direction", _STRING): "LEFT",
    ("equation", _STRING): "ij->ji",
}
#: Attributes that the schema calls optional but ORT's kernel constructors require.
OP_ATTRS: dict[tuple[str, str], dict[str, Any]] = {
    ("", "RNN"): {"hidden_size": 1},
    ("", "GRU"): {"hidden_size": 1},
    ("", "LSTM"): {"hidden_size": 1},
    ("", "RegexFullMatch"): {"pattern": "a"},
    (MS_DOMAIN, "AttnLSTM"): {"hidden_size": 1},
    (MS_DOMAIN, "DynamicQuantizeLSTM"): {"hidden_size": 1},
    ("ai.onnx.ml", "FeatureVectorizer"): {"inputdimensions": [1]},
    ("ai.onnx.ml", "Imputer"): {"imputed_value_floats": [0.0], "replaced_value_float": 0.0},
    ("ai.onnx.ml", "Scaler"): {"offset": [0.0], "scale": [1.0]},
    ("ai.onnx.ml", "LinearRegressor"): {"coefficients": [1.0], "targets": 1},
    ("ai.onnx.ml", "LinearClassifier"): {"coefficients": [1.0], "classlabels_ints": [0]},
}
GENERIC_BY_TYPE: dict[int, Any] = {_INT: 1, _FLOAT: 1.0, _INTS: [1], _FLOATS: [1.0]}


@dataclass(frozen=True)
class Param:
    name: str
    type_str: str
    option: str  # single | optional | variadic


@dataclass(frozen=True)
class OpSpec:
    """What the generator needs from a schema (onnx's or onnxruntime's)."""

    domain: str
    op: str
    since_version: int
    inputs: tuple[Param, ...]
    outputs: tuple[Param, ...]
    min_input: int
    min_output: int
    constraints: dict[str, tuple[str, ...]] = field(hash=False)
    required_attrs: dict[str, int] = field(hash=False)


@dataclass(frozen=True)
class Case:
    domain: str
    op: str
    since_version: int
    opset: int
    type_str: str
    #: None once the case has been compared (outcomes travel between processes without it)
    model: onnx.ModelProto | None = field(default=None, compare=False, repr=False)

    @property
    def qualified_op(self) -> str:
        return qualified(self.domain, self.op)

    @property
    def key(self) -> str:
        """'Elu-6@18:double': op, since_version, model opset, primary type."""
        return f"{self.qualified_op}-{self.since_version}@{self.opset}:{short(self.type_str)}"


@dataclass(frozen=True)
class Skipped:
    domain: str
    op: str
    since_version: int
    reason: str


@dataclass
class Outcome:
    """One case's verdict: agree, invalid (onnx rejects the model), ort_rejected (ORT fails for a
    reason other than kernels: bad attribute values for a kernel constructor, type inference of
    its bundled onnx), loadability (predicted and real loadability differ) or placement."""

    case: Case
    kind: str
    detail: str = ""
    predicted_loadable: bool | None = None
    actual_loadable: bool | None = None
    predicted_ops: Counter[str] = field(default_factory=Counter)
    actual_ops: Counter[str] = field(default_factory=Counter)
    #: whether ORT_ENABLE_ALL changed the session's outcome (None: not checked)
    optimized_differs: bool | None = None

    @property
    def disagrees(self) -> bool:
        return self.kind in DISAGREEMENTS


#: Outcome kinds that count against the agreement rate.
DISAGREEMENTS = ("loadability", "placement", "failing_node")


def qualified(domain: str, op: str) -> str:
    return f"{domain}.{op}" if domain else op


def short(type_str: str) -> str:
    return type_str[7:-1] if type_str.startswith("tensor(") else type_str


def _option(option: Any) -> str:
    return str(getattr(option, "name", option)).rsplit(".", 1)[-1].lower()


def _attr_type(t: Any) -> int:
    name = str(getattr(t, "name", t)).rsplit(".", 1)[-1]
    return int(onnx.AttributeProto.AttributeType.Value(name))


def _spec(schema: Any) -> OpSpec:
    def params(ps: Any) -> tuple[Param, ...]:
        return tuple(
            Param(p.name, getattr(p, "type_str", None) or p.typeStr, _option(p.option)) for p in ps
        )

    return OpSpec(
        domain=schema.domain,
        op=schema.name,
        since_version=int(schema.since_version),
        inputs=params(schema.inputs),
        outputs=params(schema.outputs),
        min_input=int(schema.min_input),
        min_output=int(schema.min_output),
        constraints={
            tc.type_param_str: tuple(sorted(tc.allowed_type_strs)) for tc in schema.type_constraints
        },
        required_attrs={
            name: _attr_type(a.type) for name, a in schema.attributes.items() if a.required
        },
    )


def op_specs(domains: tuple[str, ...] = DOMAINS) -> list[OpSpec]:
    """Every non-deprecated schema version of the domains, from the library that defines it."""
    specs = [
        _spec(s)
        for s in onnx.defs.get_all_schemas_with_history()
        if s.domain in domains and not s.deprecated
    ]
    if MS_DOMAIN in domains:
        from onnxruntime.capi import onnxruntime_pybind11_state as ort_state

        specs += [
            _spec(s)
            for s in ort_state.get_all_operator_schema()
            if s.domain == MS_DOMAIN and not s.deprecated
        ]
    return sorted(specs, key=lambda s: (s.domain, s.op, s.since_version))


def model_opsets(spec: OpSpec, next_since: int | None, every: bool = True) -> list[int]:
    """The opsets within OPSET_RANGE at which this schema version is current: all of them (the
    function body ORT inlines depends on the model's opset), or the first and the last."""
    if spec.domain != "":
        return [spec.since_version]
    lo, hi = OPSET_RANGE
    if spec.since_version > hi:
        return []
    first = max(spec.since_version, lo)
    last = min((next_since - 1) if next_since else hi, hi)
    if first > last:
        return []
    return list(range(first, last + 1)) if every else sorted({first, last})


# ---------------------------------------------------------------------------------------------
# model construction


def type_proto(type_str: str) -> onnx.TypeProto:
    """'tensor(float)', 'seq(tensor(int64))', 'optional(...)', 'map(string,tensor(float))'."""
    t = type_str.replace(" ", "")
    if "(" not in t:  # a map's value type "float" is a tensor of float
        t = f"tensor({t})"
    head, _, rest = t.partition("(")
    inner = rest[:-1]
    if head == "tensor":
        elem = onnx.TensorProto.DataType.Value(inner.upper())
        return onnx.helper.make_tensor_type_proto(elem, None)
    if head == "sparse_tensor":
        elem = onnx.TensorProto.DataType.Value(inner.upper())
        return onnx.helper.make_sparse_tensor_type_proto(elem, None)
    if head == "seq":
        return onnx.helper.make_sequence_type_proto(type_proto(inner))
    if head == "optional":
        return onnx.helper.make_optional_type_proto(type_proto(inner))
    if head == "map":
        key, _, value = inner.partition(",")
        elem = onnx.TensorProto.DataType.Value(key.upper())
        return onnx.helper.make_map_type_proto(elem, type_proto(value))
    raise ValueError(f"unsupported type {type_str}")


def _elem(type_str: str) -> int | None:
    if not type_str.startswith("tensor("):
        return None
    return int(onnx.TensorProto.DataType.Value(short(type_str).upper()))


def _tensor_of(type_str: str, name: str = "value", values: list[Any] | None = None) -> Any:
    elem = _elem(type_str)
    if elem is None:
        raise ValueError(f"no tensor value for {type_str}")
    if elem == onnx.TensorProto.STRING:
        return onnx.helper.make_tensor(name, elem, [1], [b"a"])
    vals = values if values is not None else [1]
    if elem in (onnx.TensorProto.COMPLEX64, onnx.TensorProto.COMPLEX128):
        vals = [complex(v) for v in vals]
    if elem == onnx.TensorProto.BOOL:
        vals = [bool(v) for v in vals]
    return onnx.helper.make_tensor(name, elem, [len(vals)], vals)


def _primary_constraint(spec: OpSpec) -> str | None:
    """The constraint whose types are enumerated: the first (inputs, then outputs) that allows
    more than one type, else the first."""
    names = [p.type_str for p in (*spec.inputs, *spec.outputs) if p.type_str in spec.constraints]
    for n in names:
        if len(spec.constraints[n]) > 1:
            return n
    return names[0] if names else None


def _pick(allowed: tuple[str, ...], primary_type: str) -> str:
    """A secondary constraint's type: the one holding the primary's element type if there is one
    (SequenceInsert's sequence and tensor must agree), else the first preferred one."""
    element = re.findall(r"tensor\(\w+\)", primary_type)
    same = [t for t in allowed if element and re.findall(r"tensor\(\w+\)", t) == element]
    if same:
        return same[0]
    return next((t for t in PREFERRED_TYPES if t in allowed), allowed[0])


def _op_attrs(spec: OpSpec, primary_type: str) -> dict[str, Any] | str:
    """Attributes for the node, or a skip reason."""
    key = (spec.domain, spec.op)
    if key in OP_ATTRS:
        return dict(OP_ATTRS[key])
    if key == ("", "If"):
        return {
            "then_branch": _branch("then", "branch_value", primary_type),
            "else_branch": _branch("else", "branch_value", primary_type),
        }
    if key == ("", "Constant"):
        return {"value": _tensor_of(primary_type)}
    if key == ("", "TfIdfVectorizer"):
        pool: dict[str, Any] = (
            {"pool_strings": ["a"]} if primary_type == "tensor(string)" else {"pool_int64s": [1]}
        )
        return {
            "max_gram_length": 1,
            "min_gram_length": 1,
            "max_skip_count": 0,
            "mode": "TF",
            "ngram_counts": [0],
            "ngram_indexes": [0],
            **pool,
        }
    if key == ("ai.onnx.ml", "TreeEnsemble"):
        return {
            "tree_roots": [0],
            "nodes_featureids": [0],
            "nodes_splits": _tensor_of(primary_type, "nodes_splits", [0.5]),
            "nodes_modes": onnx.helper.make_tensor("nodes_modes", onnx.TensorProto.UINT8, [1], [0]),
            "nodes_truenodeids": [0],
            "nodes_trueleafs": [1],
            "nodes_falsenodeids": [1],
            "nodes_falseleafs": [1],
            "leaf_targetids": [0, 0],
            "leaf_weights": _tensor_of(primary_type, "leaf_weights", [1.0, 2.0]),
        }
    attrs: dict[str, Any] = {}
    for name, atype in spec.required_attrs.items():
        if (name, atype) in ATTR_VALUES:
            attrs[name] = ATTR_VALUES[(name, atype)]
        elif atype in GENERIC_BY_TYPE:
            attrs[name] = GENERIC_BY_TYPE[atype]
        else:
            type_name = onnx.AttributeProto.AttributeType.Name(atype)
            return f"required attribute {name} ({type_name}) has no generic value"
    return attrs


def _branch(name: str, outer: str, type_str: str) -> onnx.GraphProto:
    out = onnx.helper.make_value_info(f"{name}_out", type_proto(type_str))
    node = onnx.helper.make_node("Identity", [outer], [f"{name}_out"], name=f"{name}_identity")
    return onnx.helper.make_graph([node], name, [], [out])


def build_model(spec: OpSpec, opset: int, primary_type: str) -> onnx.ModelProto | str:
    """A one-node model (If: plus an Identity per branch), or a skip reason."""
    primary = _primary_constraint(spec)
    chosen = {
        name: (primary_type if name == primary else _pick(allowed, primary_type))
        for name, allowed in spec.constraints.items()
    }

    def typed(p: Param) -> str | None:
        return chosen.get(p.type_str) or (p.type_str if "(" in p.type_str else None)

    inputs, names = [], []
    for i, p in enumerate(spec.inputs):
        if p.option == "optional" and i >= spec.min_input:
            names.append("")
            continue
        t = typed(p)
        if t is None:
            return f"input {p.name} has an unresolvable type {p.type_str}"
        names.append(f"in{i}")
        inputs.append(onnx.helper.make_value_info(f"in{i}", type_proto(t)))
    while names and names[-1] == "":
        names.pop()
    outputs, out_names = [], []
    for i, p in enumerate(spec.outputs):
        if p.option == "optional" and i >= spec.min_output:
            break
        out_names.append(f"out{i}")
        outputs.append(onnx.helper.make_value_info(f"out{i}", onnx.TypeProto()))
    attrs = _op_attrs(spec, primary_type)
    if isinstance(attrs, str):
        return attrs
    if (spec.domain, spec.op) == ("", "If"):
        inputs.append(onnx.helper.make_value_info("branch_value", type_proto(primary_type)))
    node = onnx.helper.make_node(
        spec.op, names, out_names, name=f"{spec.op}_node", domain=spec.domain, **attrs
    )
    graph = onnx.helper.make_graph([node], "g", inputs, outputs)
    if spec.domain == "":
        imports = {"": opset}
    elif spec.domain == "ai.onnx.ml":
        imports = {"": ML_DEFAULT_OPSET.get(opset, 21), "ai.onnx.ml": opset}
    else:
        imports = {"": MS_OPSET_FOR_DEFAULT_DOMAIN, spec.domain: opset}
    ir = 8 if imports[""] <= 17 else 10 if imports[""] <= 21 else 11
    return onnx.helper.make_model(
        graph,
        opset_imports=[onnx.helper.make_opsetid(d, v) for d, v in imports.items()],
        ir_version=ir,
    )


def generate_cases(
    domains: tuple[str, ...] = DOMAINS,
) -> tuple[list[Case], list[Skipped]]:
    specs = op_specs(domains)
    by_op: dict[tuple[str, str], list[OpSpec]] = collections.defaultdict(list)
    for s in specs:
        by_op[(s.domain, s.op)].append(s)
    cases: list[Case] = []
    skipped: list[Skipped] = []
    for key, versions in by_op.items():
        for i, spec in enumerate(versions):
            next_since = versions[i + 1].since_version if i + 1 < len(versions) else None
            opsets = model_opsets(spec, next_since)
            if not opsets:
                continue
            if key in SKIP_OPS:
                skipped.append(Skipped(spec.domain, spec.op, spec.since_version, SKIP_OPS[key]))
                continue
            primary = _primary_constraint(spec)
            types = spec.constraints[primary] if primary else ("tensor(float)",)
            for opset in opsets:
                for t in types:
                    built = build_model(spec, opset, t)
                    if isinstance(built, str):
                        skipped.append(Skipped(spec.domain, spec.op, spec.since_version, built))
                        break
                    cases.append(Case(spec.domain, spec.op, spec.since_version, opset, t, built))
                else:
                    continue
                break
    return cases, skipped


# ---------------------------------------------------------------------------------------------
# prediction, reality, comparison


@dataclass
class Prediction:
    invalid: str | None
    loadable: bool
    cpu_ops: Counter[str]
    cast_mode: bool
    how: str
    #: (op, since_version) of the leaves that no provider runs
    failing: frozenset[tuple[str, int | None]] = frozenset()


def predict(model: onnx.ModelProto) -> Prediction:
    prepared = prepare(model)
    if prepared.inference_errors:
        return Prediction(prepared.inference_errors[0], False, Counter(), False, "")
    ctx = onnx.checker.C.CheckerContext()
    ctx.ir_version = model.ir_version
    ctx.opset_imports = {imp.domain: imp.version for imp in model.opset_import}
    try:
        for node in model.graph.node:
            # check_node has no outer scope for If's branches; strict inference covered them
            if not any(a.type == onnx.AttributeProto.GRAPH for a in node.attribute):
                onnx.checker.check_node(node, ctx)
    except onnx.checker.ValidationError as exc:
        return Prediction(str(exc).splitlines()[0], False, Counter(), False, "")
    placement = predict_placement(build_inventory(prepared), [CPU])
    leaves = list(placement.leaves())
    ops = Counter(
        qualified(leaf.node.domain, leaf.node.op) for leaf in leaves if leaf.provider == CPU
    )
    hows = "+".join(sorted({n.how for n in placement.nodes}))
    failing = frozenset(
        (leaf.node.op, leaf.node.since_version) for leaf in leaves if leaf.how == "none"
    )
    return Prediction(
        None, placement.loadable, ops, any(leaf.how == "cast" for leaf in leaves), hows, failing
    )


#: How a session creation failed, from ORT's message: the analyzer models the first two (no kernel
#: for a node, or a type ORT cannot hold at all); the others are about the node's attributes or
#: inputs as ORT's kernel constructors and its bundled onnx see them.
FAILURES: tuple[tuple[str, str], ...] = (
    ("Could not find an implementation", "no_kernel"),
    ("Failed to find kernel", "no_kernel"),
    ("is not currently registered or supported", "unsupported_type"),
    ("Exception during initialization", "kernel_init"),
    ("Type Error", "type_error"),
    ("TypeInferenceError", "type_error"),
    ("type inference failed", "type_error"),
    ("ShapeInferenceError", "shape_error"),
)
MODELED_FAILURES = ("no_kernel", "unsupported_type")


_NAMED_NODE = re.compile(r"(?:implementation|kernel) for (?:[\w.]+\.)?(\w+)\((\d+)\)")


@dataclass
class Reality:
    loadable: bool
    error: str
    failure: str  # "" when loadable, else one of FAILURES' categories or "other"
    cpu_ops: Counter[str]
    other_ops: Counter[str]

    @property
    def failing_node(self) -> tuple[str, int] | None:
        """The (op, since_version) that ORT names in a no-kernel error."""
        match = _NAMED_NODE.search(self.error) if self.failure == "no_kernel" else None
        return (match.group(1), int(match.group(2))) if match else None


def session_options(optimize: bool = False) -> ort.SessionOptions:
    so = ort.SessionOptions()
    so.add_session_config_entry("session.record_ep_graph_assignment_info", "1")
    so.graph_optimization_level = (
        ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if optimize
        else ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    )
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.log_severity_level = 4
    return so


def run_ort(model: onnx.ModelProto, optimize: bool = False) -> Reality:
    try:
        session = ort.InferenceSession(
            model.SerializeToString(), session_options(optimize), providers=[CPU]
        )
    except Exception as exc:  # noqa: BLE001 - every failure is a "does not load"
        text = str(exc)
        failure = next((cat for marker, cat in FAILURES if marker in text), "other")
        return Reality(False, text.splitlines()[0][:300], failure, Counter(), Counter())
    cpu: Counter[str] = Counter()
    other: Counter[str] = Counter()
    for entry in session.get_provider_graph_assignment_info():
        for n in entry.get_nodes():
            domain = "" if n.domain in ("", "ai.onnx") else n.domain
            (cpu if entry.ep_name == CPU else other)[qualified(domain, n.op_type)] += 1
    return Reality(True, "", "", cpu, other)


def _without_casts(ops: Counter[str]) -> Counter[str]:
    return Counter({k: v for k, v in ops.items() if k != "Cast"})


def _same(a: Reality, b: Reality) -> bool:
    return (a.loadable, a.failure, a.cpu_ops) == (b.loadable, b.failure, b.cpu_ops)


def compare(case: Case, check_optimized: bool = False) -> Outcome:
    """The verdict for one case (see Outcome); with check_optimized, also whether a session with
    ORT_ENABLE_ALL places the model differently from the ORT_DISABLE_ALL one compared."""
    assert case.model is not None
    pred = predict(case.model)
    if pred.invalid is not None:
        return Outcome(case, "invalid", pred.invalid)
    real = run_ort(case.model)
    out = _verdict(case, pred, real)
    if check_optimized:
        out.optimized_differs = not _same(real, run_ort(case.model, optimize=True))
    return out


def _verdict(case: Case, pred: Prediction, real: Reality) -> Outcome:
    out = Outcome(
        case,
        "agree",
        predicted_loadable=pred.loadable,
        actual_loadable=real.loadable,
        predicted_ops=pred.cpu_ops,
        actual_ops=real.cpu_ops,
    )
    if not real.loadable and pred.loadable and real.failure not in MODELED_FAILURES:
        out.kind, out.detail = "ort_rejected", f"{real.failure}: {real.error}"
        return out
    if pred.loadable != real.loadable:
        out.kind = "loadability"
        said = f"predicted {'loads' if pred.loadable else 'fails'} ({pred.how})"
        seen = f"ORT {real.failure}: {real.error}" if real.error else f"ORT loads {real.cpu_ops}"
        out.detail = f"{said}; {seen}"
        return out
    if not real.loadable:
        named = real.failing_node
        if named is not None and named not in pred.failing:
            out.kind = "failing_node"
            failing = sorted(pred.failing, key=str)
            out.detail = f"ORT fails on {named[0]}-{named[1]}; predicted failing {failing}"
        return out
    predicted, actual = pred.cpu_ops, real.cpu_ops
    if pred.cast_mode:
        # InsertCastTransformer's Casts (how many depends on its own heuristics) are not predicted.
        if actual["Cast"] < predicted["Cast"]:
            out.kind, out.detail = "placement", "fewer Casts than predicted"
            return out
        predicted, actual = _without_casts(predicted), _without_casts(actual)
    if predicted != actual or real.other_ops:
        out.kind = "placement"
        out.detail = f"predicted {dict(predicted)} ({pred.how}); ORT {dict(actual)}"
    return out


#: Cases where ORT fails for a reason the analyzer does not model: a kernel constructor (or ORT's
#: own schema inference) wants an attribute or input that the schema calls optional and the
#: generic node leaves out. They are reported, not counted; a new op here fails the test.
NOT_MODELED: dict[str, str] = {
    "Resize": "kernel constructor requires scales or sizes (optional inputs); none given",
    "ai.onnx.ml.DictVectorizer": "kernel requires a string or int64 vocabulary attribute",
    "ai.onnx.ml.LabelEncoder": "kernel requires keys/values attributes",
    "ai.onnx.ml.LinearClassifier": "kernel requires classlabels matching the coefficients",
    "ai.onnx.ml.SVMClassifier": "kernel requires support vectors / coefficients",
    "ai.onnx.ml.SVMRegressor": "kernel requires support vectors / coefficients",
    "ai.onnx.ml.TreeEnsemble": "kernel rejects the one-node tree of the generic attributes",
    "ai.onnx.ml.TreeEnsembleClassifier": "kernel requires tree attributes",
    "ai.onnx.ml.TreeEnsembleRegressor": "kernel requires tree attributes",
    "com.microsoft.EmbedLayerNormalization": "ORT's schema inference needs the optional outputs",
    "com.microsoft.FusedGemm": "kernel requires the optional C input",
    "com.microsoft.GatedDeltaNet": "ORT's schema inference requires initial_state",
    "com.microsoft.MaxpoolWithMask": "kernel requires kernel_shape",
    "com.microsoft.NGramHashMapping": "ORT's schema inference requires max_ngram_size >= 2",
    "com.microsoft.VarlenNGramHashMapping": "ORT's schema inference requires max_ngram_size >= 2",
    "com.microsoft.QLinearConcat": "kernel requires scale/zero-point inputs",
    "com.microsoft.QMoE": "kernel requires expert weight inputs",
    # ort_crashed: the kernel constructor indexes inputs the node omits (a C++ assertion aborts
    # the process; the comparison runs in worker processes so the run goes on).
    "com.microsoft.QLinearLeakyRelu": "kernel constructor reads omitted scale inputs and aborts",
    "com.microsoft.QLinearSigmoid": "kernel constructor reads omitted scale inputs and aborts",
}

#: Disagreements whose cause is understood but not (yet) modeled: (qualified op, primary type or
#: "*") -> cause. Empty since the fixes of this comparison (see the module docstring of
#: analyzer/checks/function_expansion.py); an entry needs a cause that names ORT's behaviour.
KNOWN_DISAGREEMENTS: dict[tuple[str, str], str] = {}


def known_cause(outcome: Outcome) -> str | None:
    """The documented cause of a disagreement or of an unmodeled ORT rejection, or None."""
    op, t = outcome.case.qualified_op, short(outcome.case.type_str)
    if outcome.disagrees:
        return KNOWN_DISAGREEMENTS.get((op, t)) or KNOWN_DISAGREEMENTS.get((op, "*"))
    if outcome.kind in ("ort_rejected", "ort_crashed"):
        return NOT_MODELED.get(op)
    return None


@dataclass
class Report:
    outcomes: list[Outcome]
    skipped: list[Skipped]
    seconds: float

    def by_kind(self, kind: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.kind == kind]

    @property
    def compared(self) -> list[Outcome]:
        """Cases where both sides had their say: agreements and disagreements."""
        return [o for o in self.outcomes if o.kind == "agree" or o.disagrees]

    @property
    def disagreements(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.disagrees]

    @property
    def loadability_rate(self) -> float:
        cmp = self.compared
        return sum(o.kind != "loadability" for o in cmp) / max(len(cmp), 1)

    @property
    def placement_rate(self) -> float:
        """Among cases both sides load: the same op types on CPU."""
        loaded = [o for o in self.compared if o.kind != "loadability" and o.actual_loadable]
        return sum(o.kind != "placement" for o in loaded) / max(len(loaded), 1)

    @property
    def failing_node_rate(self) -> float:
        """Among cases both sides fail: ORT's named node is one the prediction says fails."""
        failed = [
            o for o in self.compared if o.actual_loadable is False and not o.predicted_loadable
        ]
        return sum(o.kind != "failing_node" for o in failed) / max(len(failed), 1)

    @property
    def agreement_rate(self) -> float:
        cmp = self.compared
        return sum(not o.disagrees for o in cmp) / max(len(cmp), 1)


def _worker(conn: Connection, cases: list[Case], check_optimized: bool) -> None:
    # A kernel that aborts would print a C++ assertion and (under pytest) a faulthandler dump of
    # this process; the parent records the crash, so keep this process's stderr quiet.
    faulthandler.disable()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    while True:
        index = conn.recv()
        if index is None:
            return
        outcome = compare(cases[index], check_optimized)
        outcome.case = dataclasses.replace(outcome.case, model=None)
        conn.send((index, outcome))


def compare_all(
    cases: list[Case], workers: int = 2, check_optimized: bool = False
) -> list[Outcome]:
    """compare() every case in forked worker processes. Some contrib kernels' constructors read
    inputs that a generic model omits and abort the whole process (a C++ assertion), so a worker
    that dies is replaced and its case recorded as "ort_crashed"."""
    ctx = multiprocessing.get_context("fork")
    results: list[Outcome | None] = [None] * len(cases)
    pending = iter(range(len(cases)))
    slots: dict[Any, tuple[Any, int]] = {}

    def start_one() -> None:
        index = next(pending, None)
        if index is None:
            return
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_worker, args=(child, cases, check_optimized), daemon=True)
        proc.start()
        child.close()
        parent.send(index)
        slots[parent] = (proc, index)

    for _ in range(max(1, workers)):
        start_one()
    while slots:
        for conn in wait(list(slots)):
            proc, index = slots.pop(conn)
            try:
                got, outcome = conn.recv()  # type: ignore[union-attr]
            except (EOFError, OSError):
                proc.join()
                case = dataclasses.replace(cases[index], model=None)
                results[index] = Outcome(case, "ort_crashed", f"exit code {proc.exitcode}")
                conn.close()  # type: ignore[union-attr]
                start_one()
                continue
            results[got] = outcome
            nxt = next(pending, None)
            if nxt is None:
                conn.send(None)  # type: ignore[union-attr]
                proc.join()
                conn.close()  # type: ignore[union-attr]
            else:
                conn.send(nxt)  # type: ignore[union-attr]
                slots[conn] = (proc, nxt)
    return [r for r in results if r is not None]


def run_agreement(
    domains: tuple[str, ...] = DOMAINS, workers: int = 2, check_optimized: bool = False
) -> Report:
    """Generate, compare and time the whole sweep."""
    start = time.perf_counter()
    cases, skipped = generate_cases(domains)
    outcomes = compare_all(cases, workers, check_optimized)
    return Report(outcomes, skipped, time.perf_counter() - start)


def _grouped(outcomes: list[Outcome]) -> dict[str, list[Outcome]]:
    groups: dict[str, list[Outcome]] = collections.defaultdict(list)
    for o in outcomes:
        groups[known_cause(o) or f"UNEXPLAINED {o.kind}"].append(o)
    return dict(sorted(groups.items(), key=lambda kv: -len(kv[1])))


def print_report(report: Report, verbose: bool = False) -> None:
    rows = [
        ("cases", f"{len(report.outcomes)}"),
        ("compared", f"{len(report.compared)}"),
        ("invalid (onnx rejects the model)", f"{len(report.by_kind('invalid'))}"),
        ("ORT rejects, not modeled", f"{len(report.by_kind('ort_rejected'))}"),
        ("ORT crashes, not modeled", f"{len(report.by_kind('ort_crashed'))}"),
        ("skipped op versions", f"{len(report.skipped)}"),
        ("agreement: loadability", f"{report.loadability_rate:.2%}"),
        ("agreement: placement (loadable)", f"{report.placement_rate:.2%}"),
        ("agreement: failing node", f"{report.failing_node_rate:.2%}"),
        ("agreement: overall", f"{report.agreement_rate:.2%}"),
        ("seconds", f"{report.seconds:.1f}"),
    ]
    checked = [o for o in report.outcomes if o.optimized_differs is not None]
    if checked:
        differs = [o for o in checked if o.optimized_differs]
        rows.append(("ORT_ENABLE_ALL differs", f"{len(differs)} of {len(checked)}"))
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v:>12}")
    sections = [
        ("disagreements", report.disagreements),
        (
            "ORT rejections not modeled",
            report.by_kind("ort_rejected") + report.by_kind("ort_crashed"),
        ),
    ]
    for title, outcomes in sections:
        print(f"\n{title}: {len(outcomes)}")
        for cause, group in _grouped(outcomes).items():
            ops = sorted({o.case.qualified_op for o in group})
            print(f"  {len(group):5}  {cause}  [{', '.join(ops)}]")
            if verbose:
                for o in group:
                    print(f"         {o.kind} {o.case.key}: {o.detail[:160]}")
    if checked and any(o.optimized_differs for o in checked):
        ops = sorted({o.case.qualified_op for o in checked if o.optimized_differs})
        print(f"\nORT_ENABLE_ALL places differently: {', '.join(ops)}")
    reasons = Counter(s.reason for s in report.skipped)
    print(f"\nskipped op versions: {len(report.skipped)}")
    for reason, n in reasons.most_common():
        ops = sorted({qualified(s.domain, s.op) for s in report.skipped if s.reason == reason})
        print(f"  {n:5}  {reason}  [{', '.join(ops)}]")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ort_agreement", description=__doc__)
    parser.add_argument("--verbose", action="store_true", help="list every case of each group")
    parser.add_argument(
        "--optimized", action="store_true", help="also compare with ORT_ENABLE_ALL sessions"
    )
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    report = run_agreement(workers=args.workers, check_optimized=args.optimized)
    print_report(report, args.verbose)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
