"""Property: whatever bytes or protobuf fields a model holds, `analyzer.analyze` either returns
a report or raises the project's InputError; no other exception escapes, and no case hangs.

Valid seed models are mutated at the byte level (flips, overwrites, truncation, insertion)
and at the field level (opset and IR versions, dims and element types, attribute types, node
inputs, op types, domains). The long run is benchmarks/fuzz_analyze.py (20,000+ cases, worker
processes that survive native crashes); this is its quick CI form.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import onnx
import onnx.parser
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analyzer import analyze
from analyzer.errors import InputError

SEEDS = {
    "mlp": """<ir_version: 9, opset_import: ["" : 17]>
        g (float[1,4] X) => (float[1,3] Y) <float[4,3] W = {1,2,3,4,5,6,7,8,9,10,11,12}> {
            XW = MatMul(X, W)
            Y = Relu(XW)
        }""",
    "if": """<ir_version: 9, opset_import: ["" : 17]>
        g (bool c, float[2] X) => (float[2] Y) {
            Y = If (c) <then_branch = t () => (float[2] a) { a = Relu(X) },
                        else_branch = e () => (float[2] b) { b = Neg(X) }>
        }""",
    "conv": """<ir_version: 8, opset_import: ["" : 13, "com.microsoft" : 1]>
        g (float[1,3,8,8] X) => (float[1,2,4,4] Y) <float[2,3,3,3] K> {
            C = Conv <pads = [1,1,1,1], strides = [2,2]> (X, K)
            T = Transpose <perm = [0,1,3,2]> (C)
            Y = com.microsoft.BiasGelu(T, T)
        }""",
    "function": """<ir_version: 9, opset_import: ["" : 17, "local" : 1]>
        g (float[2,3] X) => (float[2,3] Y) { Y = local.F(X) }
        <domain: "local", opset_import: ["" : 17]>
        F (x) => (y) { y = Tanh(x) }""",
}
SEED_BYTES = {k: onnx.parser.parse_model(v).SerializeToString() for k, v in SEEDS.items()}
OP_TYPES = ("Relu", "Add", "MatMul", "If", "Loop", "Gather", "Reshape", "Cast", "Upsample",
            "LayerNormalization", "NotAnOp", "", "BiasGelu", "F", "Constant")
DOMAINS = ("", "ai.onnx", "ai.onnx.ml", "com.microsoft", "local", "x.y", "ai.onnx.preview")
VERSIONS = st.one_of(st.integers(-3, 30), st.sampled_from([999, 2**31 - 1, -(2**31)]))
ATTRIBUTE_TYPES = sorted(onnx.AttributeProto.AttributeType.values())
FUZZ = settings(max_examples=250, deadline=10_000, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


def _analyze_quietly(source: object) -> None:
    with contextlib.suppress(InputError):
        analyze(source, providers=("cuda", "cpu"))  # type: ignore[arg-type]


def _graphs(model: onnx.ModelProto) -> list[onnx.GraphProto]:
    graphs = [model.graph]
    for graph in graphs:
        for node in graph.node:
            for attr in node.attribute:
                if attr.HasField("g"):
                    graphs.append(attr.g)
    return graphs


@st.composite
def byte_mutants(draw: st.DrawFn) -> bytes:
    data = bytearray(SEED_BYTES[draw(st.sampled_from(sorted(SEED_BYTES)))])
    for _ in range(draw(st.integers(1, 3))):
        if not data:
            break
        pos = draw(st.integers(0, len(data) - 1))
        kind = draw(st.sampled_from(["flip", "set", "truncate", "insert"]))
        if kind == "flip":
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set":
            data[pos] = draw(st.integers(0, 255))
        elif kind == "truncate":
            del data[pos:]
        else:
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
    return bytes(data)


@st.composite
def field_mutants(draw: st.DrawFn) -> onnx.ModelProto:
    model = onnx.ModelProto.FromString(SEED_BYTES[draw(st.sampled_from(sorted(SEED_BYTES)))])
    for _ in range(draw(st.integers(1, 3))):
        graph = draw(st.sampled_from(_graphs(model)))
        nodes = list(graph.node) + [n for f in model.functions for n in f.node]
        node = draw(st.sampled_from(nodes)) if nodes else None
        kind = draw(st.sampled_from(["opset", "ir", "dims", "elem", "attr_type", "input",
                                     "op_type", "domain", "import_domain"]))
        if kind == "opset":
            draw(st.sampled_from(list(model.opset_import))).version = draw(VERSIONS)
        elif kind == "ir":
            model.ir_version = draw(VERSIONS)
        elif kind == "dims":
            values = [v for v in list(graph.input) + list(graph.output)
                      if v.type.tensor_type.shape.dim]
            tensors = [t for t in graph.initializer if t.dims]
            if values:
                dim = draw(st.sampled_from(list(draw(st.sampled_from(values))
                                                .type.tensor_type.shape.dim)))
                dim.dim_value = draw(st.integers(-5, 2**40))
            elif tensors:
                tensor = draw(st.sampled_from(tensors))
                tensor.dims[0] = draw(st.integers(-5, 2**40))
        elif kind == "elem":
            values = list(graph.input) + list(graph.output)
            if values:
                draw(st.sampled_from(values)).type.tensor_type.elem_type = draw(
                    st.integers(-1, 30))
        elif kind == "attr_type" and node is not None and node.attribute:
            draw(st.sampled_from(list(node.attribute))).type = draw(
                st.sampled_from(ATTRIBUTE_TYPES))
        elif kind == "input" and node is not None and node.input:
            names = [o for g in _graphs(model) for n in g.node for o in n.output]
            names += [v.name for v in graph.input] + ["", "nowhere"]
            node.input[draw(st.integers(0, len(node.input) - 1))] = draw(st.sampled_from(names))
        elif kind == "op_type" and node is not None:
            node.op_type = draw(st.sampled_from(OP_TYPES))
        elif kind == "domain" and node is not None:
            node.domain = draw(st.sampled_from(DOMAINS))
        elif kind == "import_domain":
            draw(st.sampled_from(list(model.opset_import))).domain = draw(st.sampled_from(DOMAINS))
    return model


@FUZZ
@given(data=byte_mutants())
def test_mutated_bytes_never_escape(data: bytes, tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(data)
    _analyze_quietly(path)
    assert path.read_bytes() == data  # the input is never changed


@FUZZ
@given(model=field_mutants(), through_file=st.booleans())
def test_mutated_fields_never_escape(model: onnx.ModelProto, through_file: bool,
                                     tmp_path: Path) -> None:
    if through_file:
        path = tmp_path / "model.onnx"
        path.write_bytes(model.SerializeToString())
        _analyze_quietly(path)
    else:
        _analyze_quietly(model)


def test_not_utf8_names_are_corrupt_protobuf(tmp_path: Path) -> None:
    """Found by the fuzzer: protobuf returns bytes for a string field that is not UTF-8, and the
    analysis then compared bytes with str. Such a file is damaged: CORRUPT_PROTOBUF."""
    model = onnx.parser.parse_model(SEEDS["mlp"])
    model.graph.node[0].domain = "qq"
    data = model.SerializeToString()
    assert data.count(b"qq") == 1
    path = tmp_path / "model.onnx"
    path.write_bytes(data.replace(b"qq", b"\xff\xfe"))
    with pytest.raises(InputError) as caught:
        analyze(path)
    assert caught.value.code == "CORRUPT_PROTOBUF"
    assert "UTF-8" in caught.value.message
