"""How often does the placement prediction agree with a real onnxruntime CPU session?

Single-node models are generated from the operator schemas (onnx's for the default and ai.onnx.ml
domains, onnxruntime's for com.microsoft): for each op, each since_version in OPSET_RANGE (at the
first opset where it is current and at the last one), and each type its primary type constraint
allows. For each model the analyzer predicts CPU loadability and the op types that run on CPU;
a real `onnxruntime.InferenceSession` (optimizations off, EP graph assignment recorded) says what
happens. Run `python -m benchmarks.ort_agreement` for the table; tests/analyzer/
test_ort_agreement.py asserts the rate and that every disagreement has a documented cause.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import multiprocessing
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

import numpy as np
import onnx
import onnx.checker
import onnx.defs
import onnx.helper
import onnxruntime as ort

from analyzer.checks.placement import predict_placement
from analyzer.sources.onnx_inventory import build_inventory, prepare

CPU = "CPUExecutionProvider"
#: since_versions tested (ORT 1.32 implements these opsets; the brief asked for 7..22 and more).
OPSET_RANGE = (7, 24)
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
    def key(self) -> str:
        return f"{qualified(self.domain, self.op)}-{self.since_version}@{self.opset}:{short(self.type_str)}"


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

    @property
    def disagrees(self) -> bool:
        return self.kind in ("loadability", "placement")


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


def _pick(allowed: tuple[str, ...]) -> str:
    return next((t for t in PREFERRED_TYPES if t in allowed), allowed[0])


def _op_attrs(spec: OpSpec, primary_type: str) -> dict[str, Any] | str:
    """Attributes for the node, or a skip reason."""
    key = (spec.domain, spec.op)
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
        name: (primary_type if name == primary else _pick(allowed))
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
        attrs = {
            "then_branch": _branch("then", "branch_value", primary_type),
            "else_branch": _branch("else", "branch_value", primary_type),
        }
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


def predict(model: onnx.ModelProto) -> Prediction:
    prepared = prepare(model)
    if prepared.inference_errors:
        return Prediction(prepared.inference_errors[0], False, Counter(), False, "")
    ctx = onnx.checker.C.CheckerContext()
    ctx.ir_version = model.ir_version
    ctx.opset_imports = {imp.domain: imp.version for imp in model.opset_import}
    try:
        for node in model.graph.node:
            onnx.checker.check_node(node, ctx)
    except onnx.checker.ValidationError as exc:
        return Prediction(str(exc).splitlines()[0], False, Counter(), False, "")
    placement = predict_placement(build_inventory(prepared), [CPU])
    leaves = list(placement.leaves())
    ops = Counter(
        qualified(leaf.node.domain, leaf.node.op) for leaf in leaves if leaf.provider == CPU
    )
    hows = "+".join(sorted({n.how for n in placement.nodes}))
    return Prediction(
        None, placement.loadable, ops, any(leaf.how == "cast" for leaf in leaves), hows
    )


@dataclass
class Reality:
    loadable: bool
    error: str
    no_kernel: bool
    cpu_ops: Counter[str]
    other_ops: Counter[str]


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
        no_kernel = "Could not find an implementation" in text
        return Reality(False, text.splitlines()[0][:300], no_kernel, Counter(), Counter())
    cpu: Counter[str] = Counter()
    other: Counter[str] = Counter()
    for entry in session.get_provider_graph_assignment_info():
        for n in entry.get_nodes():
            domain = "" if n.domain in ("", "ai.onnx") else n.domain
            (cpu if entry.ep_name == CPU else other)[qualified(domain, n.op_type)] += 1
    return Reality(True, "", False, cpu, other)


def _without_casts(ops: Counter[str]) -> Counter[str]:
    return Counter({k: v for k, v in ops.items() if k != "Cast"})


def compare(case: Case) -> Outcome:
    assert case.model is not None
    pred = predict(case.model)
    if pred.invalid is not None:
        return Outcome(case, "invalid", pred.invalid)
    real = run_ort(case.model)
    out = Outcome(
        case,
        "agree",
        predicted_loadable=pred.loadable,
        actual_loadable=real.loadable,
        predicted_ops=pred.cpu_ops,
        actual_ops=real.cpu_ops,
    )
    if not real.loadable and not real.no_kernel:
        out.kind, out.detail = "ort_rejected", real.error
        return out
    if pred.loadable != real.loadable:
        out.kind = "loadability"
        out.detail = f"predicted {'loads' if pred.loadable else 'fails'} ({pred.how}); " + (
            f"ORT: {real.error}" if real.error else f"ORT loads: {dict(real.cpu_ops)}"
        )
        return out
    if not real.loadable:
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


@dataclass
class Report:
    outcomes: list[Outcome]
    skipped: list[Skipped]
    seconds: float

    def by_kind(self, kind: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.kind == kind]

    @property
    def compared(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.kind in ("agree", "loadability", "placement")]

    @property
    def loadability_rate(self) -> float:
        cmp = self.compared
        return sum(o.kind != "loadability" for o in cmp) / max(len(cmp), 1)

    @property
    def placement_rate(self) -> float:
        loadable = [o for o in self.compared if o.kind != "loadability" and o.actual_loadable]
        return sum(o.kind != "placement" for o in loadable) / max(len(loadable), 1)

    @property
    def agreement_rate(self) -> float:
        cmp = self.compared
        return sum(not o.disagrees for o in cmp) / max(len(cmp), 1)


def _worker(conn: Connection, cases: list[Case]) -> None:
    while True:
        index = conn.recv()
        if index is None:
            return
        outcome = compare(cases[index])
        outcome.case = dataclasses.replace(outcome.case, model=None)
        conn.send((index, outcome))


def compare_all(cases: list[Case], workers: int = 2) -> list[Outcome]:
    """compare() every case in forked worker processes. Some contrib kernels' constructors read
    inputs that a generic model omits and abort the whole process (a C++ assertion), so a worker
    that dies is replaced and its case recorded as "ort_crashed"."""
    ctx = multiprocessing.get_context("fork")
    results: list[Outcome | None] = [None] * len(cases)
    pending = iter(range(len(cases)))
    slots: dict[Connection, tuple[Any, int]] = {}

    def start_one() -> None:
        index = next(pending, None)
        if index is None:
            return
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_worker, args=(child, cases), daemon=True)
        proc.start()
        child.close()
        parent.send(index)
        slots[parent] = (proc, index)

    for _ in range(max(1, workers)):
        start_one()
    while slots:
        for conn in wait(list(slots)):
            proc, index = slots.pop(conn)  # type: ignore[index]
            try:
                got, outcome = conn.recv()
            except (EOFError, OSError):
                proc.join()
                case = dataclasses.replace(cases[index], model=None)
                results[index] = Outcome(case, "ort_crashed", f"exit code {proc.exitcode}")
                conn.close()
                start_one()
                continue
            results[got] = outcome
            nxt = next(pending, None)
            if nxt is None:
                conn.send(None)
                proc.join()
                conn.close()
            else:
                conn.send(nxt)
                slots[conn] = (proc, nxt)
    return [r for r in results if r is not None]


def run_agreement(domains: tuple[str, ...] = DOMAINS, workers: int = 2) -> Report:
    start = time.perf_counter()
    cases, skipped = generate_cases(domains)
    outcomes = compare_all(cases, workers)
    return Report(outcomes, skipped, time.perf_counter() - start)


def iter_disagreements(report: Report) -> Iterator[Outcome]:
    return (o for o in report.outcomes if o.disagrees)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ort_agreement", description=__doc__)
    parser.add_argument("--verbose", action="store_true", help="list every disagreement")
    args = parser.parse_args(argv)
    report = run_agreement()
    print(f"cases {len(report.outcomes)}  compared {len(report.compared)}  "
          f"invalid {len(report.by_kind('invalid'))}  ort_rejected "
          f"{len(report.by_kind('ort_rejected'))}  ort_crashed "
          f"{len(report.by_kind('ort_crashed'))}  skipped {len(report.skipped)}  "
          f"({report.seconds:.1f}s)")
    print(f"loadability {report.loadability_rate:.2%}  placement {report.placement_rate:.2%}  "
          f"overall {report.agreement_rate:.2%}")
    for o in iter_disagreements(report):
        if args.verbose:
            print(o.kind, o.case.key, o.detail)
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    raise SystemExit(main())
