"""Fuzz `analyzer.analyze` with mutated models: nothing may escape but InputError, nothing may
crash the process or hang.

Each case is determined by (--seed, case number), so any failure reproduces with `--case N`.
Half the cases mutate the serialized bytes (flips, truncation, insertions, splices) and go
through the file loader; half mutate protobuf fields of a parsed model (opset and IR versions,
dims, element types, attribute types, node inputs/outputs, op types, domains, subgraphs) and go
in memory or through a file. Cases run in worker processes; a worker that dies (a crash in
native code) or stops answering (a hang) is recorded against the case it was on and replaced.

    .venv/bin/python benchmarks/fuzz_analyze.py --cases 20000 --workers 2
    .venv/bin/python benchmarks/fuzz_analyze.py --case 1234          # rerun one, with traceback

Prints the count of cases, of failures by kind, and the first failures with their case numbers.
"""

from __future__ import annotations

import argparse
import random
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CASE_TIME_LIMIT = 20  # seconds; a case slower than this counts as a hang

SEED_MODELS = {
    "mlp": """<ir_version: 9, opset_import: ["" : 17]>
        g (float[1,4] X) => (float[1,3] Y) <float[4,3] W = {1,2,3,4,5,6,7,8,9,10,11,12},
                                            float[3] B = {1,2,3}> {
            XW = MatMul(X, W)
            XB = Add(XW, B)
            Y = Relu(XB)
        }""",
    "conv": """<ir_version: 8, opset_import: ["" : 13]>
        g (float[1,3,8,8] X) => (float[1,2,4,4] Y) <float[2,3,3,3] K> {
            C = Conv <pads = [1,1,1,1], strides = [2,2]> (X, K)
            T = Transpose <perm = [0,1,3,2]> (C)
            Y = Sigmoid(T)
        }""",
    "if": """<ir_version: 9, opset_import: ["" : 17]>
        g (bool c, float[2] X) => (float[2] Y) {
            Y = If (c) <then_branch = t () => (float[2] a) { a = Relu(X) },
                        else_branch = e () => (float[2] b) { b = Neg(X) }>
        }""",
    "loop": """<ir_version: 9, opset_import: ["" : 17]>
        g (int64 n, float[2] X) => (float[2] Y) {
            cond = Constant <value = bool {1}> ()
            Y = Loop (n, cond, X) <body = body (int64 i, bool ci, float[2] acc) =>
                                               (bool co, float[2] out) {
                co = Identity(ci)
                out = Add(acc, X)
            }>
        }""",
    "function": """<ir_version: 9, opset_import: ["" : 17, "local" : 1]>
        g (float[2,3] X) => (float[2,3] Y) {
            Y = local.Gelu2(X)
        }
        <domain: "local", opset_import: ["" : 17]>
        Gelu2 (x) => (y) {
            h = Constant <value = float {0.5}> ()
            a = Mul(x, h)
            y = Tanh(a)
        }""",
    "mixed": """<ir_version: 8, opset_import: ["" : 15, "com.microsoft" : 1]>
        g (float[2,4] X, int64[3] I) => (float[2,4] Y, float[3,4] G) {
            H = Cast <to = 10> (X)
            F = Cast <to = 1> (H)
            Y = com.microsoft.BiasGelu(F, F)
            G = Gather <axis = 0> (X, I)
        }""",
    "reshape": """<ir_version: 9, opset_import: ["" : 18]>
        g (float[2,3,4] X) => (float[6,4] Y, float[2,12] Z) {
            s = Constant <value = int64[2] {6, 4}> ()
            Y = Reshape(X, s)
            Z = Flatten <axis = 1> (X)
        }""",
}

OP_TYPES = ("Relu", "Add", "MatMul", "Conv", "If", "Loop", "Scan", "Gather", "Reshape",
            "Cast", "Constant", "Identity", "Upsample", "Resize", "LayerNormalization", "Gelu",
            "Attention", "NotAnOp", "", "Split", "Concat", "Softmax", "TopK", "NonZero",
            "Einsum", "SequenceConstruct", "Optional", "BiasGelu", "QLinearConv", "Foo.Bar")
DOMAINS = ("", "ai.onnx", "ai.onnx.ml", "com.microsoft", "local", "x.y", "ai.onnx.preview",
           "ai.onnx.preview.training", "com.microsoft.nchwc", "\x00", "ai.onnx.ml.x")
NAMES = ("X", "Y", "W", "B", "", "XW", "c", "nope", "a" * 300, "I", "acc", "out", "ci")


def _seeds() -> dict[str, bytes]:
    import onnx.parser

    return {k: onnx.parser.parse_model(v).SerializeToString() for k, v in SEED_MODELS.items()}


# --------------------------------------------------------------------------------------------
# Mutations


def mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.choice((1, 1, 2, 4))):
        kind = rng.randrange(6)
        if not buf:
            buf = bytearray(rng.randbytes(rng.randint(0, 32)))
            continue
        pos = rng.randrange(len(buf))
        if kind == 0:
            buf[pos] ^= 1 << rng.randrange(8)
        elif kind == 1:
            buf[pos] = rng.randrange(256)
        elif kind == 2:
            del buf[rng.randrange(len(buf)):]
        elif kind == 3:
            buf[pos:pos] = rng.randbytes(rng.randint(1, 8))
        elif kind == 4:
            end = min(len(buf), pos + rng.randint(1, 16))
            buf[pos:pos] = buf[pos:end] * rng.randint(1, 3)
        else:
            del buf[pos:pos + rng.randint(1, 8)]
    return bytes(buf)


def _all_graphs(model):  # type: ignore[no-untyped-def]
    graphs = [model.graph]
    i = 0
    while i < len(graphs):
        for node in graphs[i].node:
            for attr in node.attribute:
                if attr.HasField("g"):
                    graphs.append(attr.g)
                graphs.extend(attr.graphs)
        i += 1
    return graphs


def _random_int(rng: random.Random) -> int:
    return rng.choice((0, 1, -1, 2, 3, 7, 13, 17, 21, 24, 28, 29, 999, -2**31, 2**31 - 1, 2**62,
                       rng.randint(-100, 100)))


def _version(rng: random.Random) -> int:
    """Mostly versions onnx knows (so the case gets past the loader), sometimes any integer."""
    return rng.randint(1, 23) if rng.random() < 0.8 else _random_int(rng)


def _value_name(model, rng: random.Random) -> str:  # type: ignore[no-untyped-def]
    """Mostly a name the model defines somewhere (so the graph stays well-formed), else junk."""
    if rng.random() < 0.15:
        return rng.choice(NAMES)
    names = [v.name for g in _all_graphs(model) for v in list(g.input) + list(g.output)]
    names += [o for g in _all_graphs(model) for n in g.node for o in n.output]
    return rng.choice(names) if names else rng.choice(NAMES)


def mutate_proto(model, rng: random.Random) -> None:  # type: ignore[no-untyped-def]
    """Change 1-3 fields of the parsed model in place (the model stays serializable)."""
    import onnx

    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        graphs = _all_graphs(model)
        graph = rng.choice(graphs)
        nodes = list(graph.node) + [n for f in model.functions for n in f.node]
        kind = rng.randrange(16)
        if kind == 0 and model.opset_import:
            rng.choice(model.opset_import).version = _version(rng)
        elif kind == 1:
            model.ir_version = rng.randint(1, 11) if rng.random() < 0.8 else _random_int(rng)
        elif kind == 2 and model.opset_import:
            rng.choice(model.opset_import).domain = rng.choice(DOMAINS)
        elif kind == 3 and nodes:
            rng.choice(nodes).op_type = rng.choice(OP_TYPES)
        elif kind == 4 and nodes:
            rng.choice(nodes).domain = rng.choice(DOMAINS)
        elif kind == 5 and nodes:
            node = rng.choice(nodes)
            if node.input and rng.random() < 0.7:
                node.input[rng.randrange(len(node.input))] = _value_name(model, rng)
            else:
                node.input.append(_value_name(model, rng))
        elif kind == 6 and nodes:
            node = rng.choice(nodes)
            if node.output:
                node.output[rng.randrange(len(node.output))] = rng.choice(NAMES)
            else:
                node.output.append(rng.choice(NAMES))
        elif kind == 7 and nodes:
            node = rng.choice(nodes)
            if node.attribute:
                attr = rng.choice(node.attribute)
                attr.type = rng.randrange(0, 15)
            else:
                node.attribute.add(name=rng.choice(("axis", "perm", "to", "body")),
                                   type=rng.randrange(0, 15), i=_random_int(rng))
        elif kind == 8 and nodes:
            node = rng.choice(nodes)
            if node.attribute:
                attr = rng.choice(node.attribute)
                choice = rng.randrange(4)
                if choice == 0:
                    attr.i = _random_int(rng)
                elif choice == 1:
                    attr.ints.append(_random_int(rng))
                elif choice == 2:
                    attr.f = rng.choice((float("nan"), float("inf"), -0.0, 1e38))
                else:
                    attr.name = rng.choice(("axis", "perm", "to", "", "body", "then_branch"))
        elif kind == 9:
            values = list(graph.input) + list(graph.output) + list(graph.value_info)
            if values:
                vi = rng.choice(values)
                if vi.type.HasField("tensor_type"):
                    shape = vi.type.tensor_type.shape
                    if shape.dim and rng.random() < 0.6:
                        dim = rng.choice(shape.dim)
                        if rng.random() < 0.8:
                            dim.dim_value = _random_int(rng)
                        else:
                            dim.dim_param = rng.choice(("N", "", "x" * 100))
                    else:
                        vi.type.tensor_type.elem_type = rng.randrange(-1, 30)
                else:
                    vi.type.Clear()
        elif kind == 10 and graph.initializer:
            tensor = rng.choice(graph.initializer)
            choice = rng.randrange(4)
            if choice == 0 and tensor.dims:
                tensor.dims[rng.randrange(len(tensor.dims))] = _random_int(rng)
            elif choice == 1:
                tensor.data_type = rng.randrange(-1, 30)
            elif choice == 2:
                tensor.dims.append(_random_int(rng))
            else:
                tensor.raw_data = rng.randbytes(rng.randint(0, 20))
        elif kind == 11 and nodes:
            node = rng.choice(nodes)
            other = rng.choice(graphs)
            snapshot = other.SerializeToString()  # `other` may hold `node`: never copy into self
            node.attribute.add(name="body", type=onnx.AttributeProto.GRAPH).g.ParseFromString(
                snapshot)
        elif kind == 12 and len(graph.node) > 1:
            i, j = rng.sample(range(len(graph.node)), 2)
            a, b = onnx.NodeProto(), onnx.NodeProto()
            a.CopyFrom(graph.node[i])
            b.CopyFrom(graph.node[j])
            graph.node[i].CopyFrom(b)
            graph.node[j].CopyFrom(a)
        elif kind == 13 and graph.node:
            del graph.node[rng.randrange(len(graph.node))]
        elif kind == 14:
            values = list(graph.input) + list(graph.output)
            if values:
                rng.choice(values).name = rng.choice(NAMES)
        elif kind == 15 and nodes:
            node = rng.choice(nodes)
            snapshot = node.SerializeToString()
            graph.node.add().ParseFromString(snapshot)


# --------------------------------------------------------------------------------------------
# Synthesized models: random ops from the onnx schemas with random attributes, so that strict
# shape inference (onnx's C++, run in the analyzer's process) sees values no exporter writes.

_ELEM = {"float": 1, "uint8": 2, "int8": 3, "uint16": 4, "int16": 5, "int32": 6, "int64": 7,
         "string": 8, "bool": 9, "float16": 10, "double": 11, "uint32": 12, "uint64": 13,
         "bfloat16": 16}
_SCHEMAS: list = []  # type: ignore[type-arg]


def _schemas() -> list:  # type: ignore[type-arg]
    import onnx.defs

    if not _SCHEMAS:
        _SCHEMAS.extend(sorted((s for s in onnx.defs.get_all_schemas()
                                if s.domain in ("", "ai.onnx.ml") and not s.deprecated),
                               key=lambda s: (s.domain, s.name)))
    return _SCHEMAS


def _random_attribute(name: str, kind: int, rng: random.Random):  # type: ignore[no-untyped-def]
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper

    A = onnx.AttributeProto
    small = (-3, -2, -1, 0, 1, 2, 3, 4, 2**31, -(2**40))
    if kind == A.INT:
        return helper.make_attribute(name, rng.choice(small), attr_type=kind)
    if kind == A.INTS:
        ints = [rng.choice(small) for _ in range(rng.randint(0, 5))]
        return helper.make_attribute(name, ints, attr_type=kind)
    if kind == A.FLOAT:
        value = rng.choice((0.0, 1.0, -1.5, 1e-9, 1e30, float("nan")))
        return helper.make_attribute(name, value, attr_type=kind)
    if kind == A.FLOATS:
        floats = [rng.uniform(-2, 2) for _ in range(rng.randint(0, 4))]
        return helper.make_attribute(name, floats, attr_type=kind)
    if kind == A.STRING:
        text = rng.choice(("", "constant", "linear", "NOTSET", "SAME_UPPER", "nearest", "x" * 50))
        return helper.make_attribute(name, text, attr_type=kind)
    if kind == A.STRINGS:
        return helper.make_attribute(name, ["a", "b"][: rng.randint(0, 2)], attr_type=kind)
    if kind == A.TENSOR:
        shape = [rng.randint(0, 3) for _ in range(rng.randint(0, 2))]
        array = (np.arange(int(np.prod(shape)) if shape else 1) % 2).astype(rng.choice(
            (np.float32, np.int64, np.int32, np.bool_))).reshape(shape)
        return helper.make_attribute(name, numpy_helper.from_array(array), attr_type=kind)
    if kind == A.GRAPH:
        out = helper.make_tensor_value_info("g_out", rng.choice((1, 7, 9)), None)
        body = helper.make_graph([helper.make_node("Identity", ["g_in"], ["g_out"])], "g",
                                 [helper.make_tensor_value_info("g_in", 1, [2])], [out])
        return helper.make_attribute(name, body, attr_type=kind)
    return None


def synth_model(rng: random.Random):  # type: ignore[no-untyped-def]
    """A few random schema ops wired to each other and to random graph inputs."""
    import onnx
    from onnx import helper

    values: list[tuple[str, int]] = []  # (name, elem type)
    inputs: list[Any] = []
    nodes: list[Any] = []

    def fresh_input(elem: int) -> str:
        name = f"in{len(inputs)}"
        rank = rng.randint(0, 4)
        dims = [rng.choice((1, 2, 3, 4, 0, "N")) for _ in range(rank)]
        inputs.append(helper.make_tensor_value_info(name, elem, dims))
        values.append((name, elem))
        return name

    for index in range(rng.randint(1, 5)):
        schema = rng.choice(_schemas())
        chosen: dict[str, int] = {}
        for constraint in schema.type_constraints:
            tensors = [t[7:-1] for t in constraint.allowed_type_strs
                       if t.startswith("tensor(") and t[7:-1] in _ELEM]
            chosen[constraint.type_param_str] = _ELEM[rng.choice(tensors)] if tensors else 1
        node_inputs: list[str] = []
        for formal in schema.inputs:
            elem = chosen.get(formal.type_str, _ELEM.get(formal.type_str[7:-1], 1))
            option = formal.option.name
            count = rng.randint(1, 3) if option == "Variadic" else 1
            if option == "Optional" and rng.random() < 0.4:
                node_inputs.append("")
                continue
            for _ in range(count):
                same = [n for n, e in values if e == elem]
                node_inputs.append(rng.choice(same) if same and rng.random() < 0.6
                                   else fresh_input(elem))
        while node_inputs and node_inputs[-1] == "":
            node_inputs.pop()
        outs = [f"n{index}_o{k}" for k in range(max(schema.min_output, 1)
                                               if schema.max_output else 0)]
        attrs = []
        for attr in schema.attributes.values():
            if attr.required or rng.random() < 0.3:
                made = _random_attribute(attr.name, int(attr.type), rng)
                if made is not None:
                    attrs.append(made)
        node = helper.make_node(schema.name, node_inputs, outs, name=f"n{index}",
                                domain=schema.domain)
        node.attribute.extend(attrs)
        nodes.append(node)
        for k, out in enumerate(outs):
            formal = schema.outputs[min(k, len(schema.outputs) - 1)] if schema.outputs else None
            elem = chosen.get(formal.type_str, 1) if formal is not None else 1
            values.append((out, elem))
    produced = [o for n in nodes for o in n.output]
    outputs = [helper.make_tensor_value_info(name, 0, None) for name in produced[-2:]] or [
        helper.make_tensor_value_info(inputs[0].name if inputs else "in0", 1, None)]
    graph = helper.make_graph(nodes, "synth", inputs, outputs)
    max_opset = onnx.defs.onnx_opset_version()
    imports = [helper.make_opsetid("", rng.randint(max(1, max_opset - 12), max_opset)),
               helper.make_opsetid("ai.onnx.ml", rng.randint(1, onnx.defs.onnx_ml_opset_version()))]
    model = helper.make_model(graph, opset_imports=imports)
    model.ir_version = rng.randint(7, onnx.IR_VERSION)
    return model


# --------------------------------------------------------------------------------------------
# One case


MIXES = {"all": (0.25, 0.5), "synth": (0.0, 1.0), "mutate": (0.5, 0.5)}


def run_case(seed: int, index: int, seeds: dict[str, bytes], scratch: Path,
             mix: str = "all") -> tuple[
        str | None, str]:
    """(None, outcome) when the analyzer behaved, the outcome being "report" or the input
    error's code; else (a one-line description of the failure, "failure")."""
    import onnx

    from analyzer import analyze
    from analyzer.errors import InputError

    rng = random.Random(seed * 1_000_003 + index)
    name = rng.choice(sorted(seeds))
    data = seeds[name]
    providers = rng.choice((("cpu",), ("cuda", "cpu"), ()))
    opset = rng.choice((None, None, None, 7, 13, 18, 21))
    source: object
    roll = rng.random()
    bytes_below, synth_below = MIXES[mix]
    if roll < bytes_below:
        path = scratch / "case.onnx"
        path.write_bytes(mutate_bytes(data, rng))
        source = path
    elif roll < synth_below:
        source = synth_model(rng)
        if rng.random() < 0.3:
            mutate_proto(source, rng)
    else:
        model = onnx.ModelProto.FromString(data)
        mutate_proto(model, rng)
        if rng.random() < 0.5:
            source = model
        else:
            path = scratch / "case.onnx"
            path.write_bytes(model.SerializeToString())
            source = path
    try:
        analyze(source, opset=opset, providers=providers)  # type: ignore[arg-type]
    except InputError as exc:
        return None, exc.code
    except Exception as exc:  # noqa: BLE001 - what the fuzzer is looking for
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        return f"{type(exc).__name__}: {first}", "failure"
    return None, "report"


def _alarm(signum: int, frame: object) -> None:
    raise TimeoutError(f"case took over {CASE_TIME_LIMIT} s")


def worker(seed: int, start: int, stop: int, step: int, mix: str = "all") -> None:
    """Run cases start, start+step, ... < stop; report 'START i' before and 'FAIL i ...' after."""
    seeds = _seeds()
    signal.signal(signal.SIGALRM, _alarm)
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        for index in range(start, stop, step):
            print(f"START {index}", flush=True)
            signal.alarm(CASE_TIME_LIMIT)
            try:
                failure, outcome = run_case(seed, index, seeds, scratch, mix)
            except TimeoutError as exc:
                failure, outcome = f"hang: {exc}", "failure"
            finally:
                signal.alarm(0)
            if failure:
                print(f"FAIL {index} {failure}", flush=True)
            else:
                print(f"DONE {index} {outcome}", flush=True)


def _run_worker(seed: int, start: int, stop: int, step: int, failures: dict[int, str],
                outcomes: Counter[str], mix: str) -> int:
    """Run one worker until it finishes or dies; return the case to resume from (or stop)."""
    cmd = [sys.executable, __file__, "--worker", str(seed), str(start), str(stop), str(step),
           "--mix", mix]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    current = None
    assert proc.stdout is not None
    for line in proc.stdout:
        parts = line.rstrip("\n").split(" ", 2)
        if parts[0] == "START":
            current = int(parts[1])
        elif parts[0] == "FAIL":
            failures[int(parts[1])] = parts[2]
        elif parts[0] == "DONE":
            outcomes[parts[2]] += 1
    code = proc.wait()
    if code == 0 or current is None:
        return stop
    failures[current] = f"crash: worker exited with {code}"
    return current + step


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--case", type=int, help="run one case in this process, with traceback")
    parser.add_argument("--mix", choices=sorted(MIXES), default="all",
                        help="all: bytes, synthesized and field-mutated models; synth: only "
                        "random schema ops; mutate: only mutations of the seed models")
    parser.add_argument("--worker", nargs=4, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        seed, start, stop, step = args.worker
        worker(seed, start, stop, step, mix=args.mix)
        return 0
    if args.case is not None:
        import analyzer.onnx_analysis as api

        real = api._analyze

        def loud(*a: object, **k: object) -> object:
            try:
                return real(*a, **k)  # type: ignore[arg-type]
            except Exception:
                traceback.print_exc()
                raise

        api._analyze = loud  # type: ignore[assignment]
        with tempfile.TemporaryDirectory() as tmp:
            failure, outcome = run_case(args.seed, args.case, _seeds(), Path(tmp), args.mix)
            print(failure or f"ok: {outcome}")
        return 0
    import concurrent.futures

    start_time = time.perf_counter()
    failures: dict[int, str] = {}
    outcomes: Counter[str] = Counter()

    def lane(offset: int) -> None:
        position = offset
        while position < args.cases:
            position = _run_worker(args.seed, position, args.cases, args.workers, failures,
                                   outcomes, args.mix)

    with concurrent.futures.ThreadPoolExecutor(args.workers) as pool:
        list(pool.map(lane, range(args.workers)))
    seconds = time.perf_counter() - start_time
    kinds = Counter(f.split(":", 1)[0] for f in failures.values())
    print(f"cases: {args.cases} (seed {args.seed}, mix {args.mix}) in {seconds:.0f} s")
    print(f"outcomes: {outcomes['report']} full reports, "
          + ", ".join(f"{code} {n}" for code, n in outcomes.most_common() if code != "report"))
    print(f"failures: {len(failures)}" + (f" ({dict(kinds)})" if kinds else ""))
    for index in sorted(failures)[:40]:
        print(f"  case {index}: {failures[index]}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
