"""Tests for the ONNX loader: every bad input is built here, from real models, in tmp_path.

Each failing case asserts the stable code, that the one-line message names the file, and that
loading left every file in the folder byte-for-byte as it was.
"""

from __future__ import annotations

import os
import pickle
import random
import stat
import sys
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from analyzer.errors import InputError
from analyzer.sources.onnx_loader import MAX_SUBGRAPH_DEPTH, LoadedModel, load_onnx

WEIGHT_SHAPE = (16, 16)
WEIGHT_BYTES = 16 * 16 * 4
TEST_DATA = Path(onnx.__file__).parent / "backend" / "test" / "data"


# --------------------------------------------------------------------------------------------
# Builders


def make_model(opset: int = 17, ir_version: int = 10) -> onnx.ModelProto:
    """A small real model: Y = MatMul(X, W) + B, with W and B as initializers."""
    rng = np.random.default_rng(0)
    weight = numpy_helper.from_array(rng.standard_normal(WEIGHT_SHAPE).astype(np.float32), "W")
    bias = numpy_helper.from_array(np.arange(16, dtype=np.float32), "B")
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["X", "W"], ["XW"], name="matmul"),
            helper.make_node("Add", ["XW", "B"], ["Y"], name="add"),
        ],
        "main",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 16])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, 16])],
        initializer=[weight, bias],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = ir_version
    return model


def write(path: Path, model: onnx.ModelProto) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(model.SerializeToString())
    return path


def mark_external(
    tensor: TensorProto, location: str, offset: int | None = 0, length: int | None = None
) -> None:
    """Point a tensor at external data without writing any (the data file is the test's job)."""
    tensor.ClearField("raw_data")
    tensor.ClearField("float_data")
    tensor.data_location = TensorProto.EXTERNAL
    del tensor.external_data[:]
    entries = {"location": location, "offset": offset, "length": length}
    for key, value in entries.items():
        if value is not None:
            tensor.external_data.add(key=key, value=str(value))


def model_with_external_w(
    folder: Path, location: str, offset: int | None = 0, length: int | None = WEIGHT_BYTES
) -> Path:
    """Write model.onnx whose initializer W lives at `location` (which the test creates or not)."""
    model = make_model()
    mark_external(model.graph.initializer[0], location, offset, length)
    return write(folder / "model.onnx", model)


def nested_model(depth: int) -> onnx.ModelProto:
    """Loops nested `depth` deep, built in place (copying a deep message would hit upb's limit)."""
    model = onnx.ModelProto(ir_version=10)
    model.opset_import.add(domain="", version=17)
    graph = model.graph
    graph.name = "main"
    for level in range(depth):
        node = graph.node.add(op_type="Loop", name=f"loop{level}")
        attr = node.attribute.add(name="body", type=onnx.AttributeProto.GRAPH)
        graph = attr.g
        graph.name = f"body{level + 1}"
    return model


def snapshot(folder: Path) -> dict[str, bytes]:
    """Bytes of every regular file under the folder (links are followed; FIFOs skipped)."""
    files: dict[str, bytes] = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and stat.S_ISREG(path.stat().st_mode):
            files[str(path)] = path.read_bytes()
    return files


def expect_error(
    path: Path, code: str, *, folder: Path | None = None, watch: bool = True, **kwargs: int
) -> str:
    """Load, assert the code and that the line names the file and nothing changed; return it.

    `folder` is what to watch for changes (default: the file's folder); `watch=False` skips it.
    """
    watched = folder or path.parent
    watched_exists = watch and watched.exists()
    before = snapshot(watched) if watched_exists else {}
    with pytest.raises(InputError) as caught:
        load_onnx(path, **kwargs)
    error = caught.value
    line = error.one_line()
    assert error.code == code, line
    assert error.path == str(path)
    assert line.startswith(f"{path}: ")
    assert line.endswith(f"[{code}]")
    assert "\n" not in line
    assert error.message[:1].islower(), line
    if watched_exists:
        assert snapshot(watched) == before
    return error.message


# --------------------------------------------------------------------------------------------
# Good models


def test_loads_a_valid_model(tmp_path: Path) -> None:
    path = write(tmp_path / "model.onnx", make_model())
    loaded = load_onnx(path)
    assert isinstance(loaded, LoadedModel)
    assert loaded.path == path
    assert loaded.file_bytes == path.stat().st_size
    assert loaded.external_data == []
    assert not loaded.over_2gb
    assert [n.op_type for n in loaded.model.graph.node] == ["MatMul", "Add"]


def test_accepts_str_path_and_in_memory_model(tmp_path: Path) -> None:
    path = write(tmp_path / "model.onnx", make_model())
    assert load_onnx(str(path)).path == path
    model = make_model()
    loaded = load_onnx(model)
    assert loaded.model is model
    assert loaded.path is None
    assert loaded.file_bytes == model.ByteSize()


def test_external_data_is_checked_but_never_read(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    onnx.save_model(
        make_model(),
        folder / "model.onnx",
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location="w.bin",
        size_threshold=0,
    )
    before = snapshot(folder)
    loaded = load_onnx(folder / "model.onnx")
    assert snapshot(folder) == before
    data_file = folder / "w.bin"
    names = {ref.name: ref for ref in loaded.external_data}
    assert set(names) == {"W", "B"}
    assert names["W"].length == WEIGHT_BYTES
    assert names["B"].length == 16 * 4
    for ref in loaded.external_data:
        assert ref.location == "w.bin"
        assert ref.path == Path(os.path.realpath(data_file))
        assert ref.file_size == data_file.stat().st_size
        assert ref.offset + ref.length <= ref.file_size
    for tensor in loaded.model.graph.initializer:
        assert tensor.data_location == TensorProto.EXTERNAL
        assert tensor.raw_data == b""
    assert not loaded.over_2gb


def test_external_data_through_a_symlink_inside_the_folder_is_fine(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "real.bin").write_bytes(bytes(WEIGHT_BYTES))
    (tmp_path / "w.bin").symlink_to(Path("data") / "real.bin")
    path = model_with_external_w(tmp_path, "w.bin")
    (ref,) = load_onnx(path).external_data
    assert ref.path == Path(os.path.realpath(tmp_path / "data" / "real.bin"))


def test_external_data_without_length_runs_to_the_end_of_the_file(tmp_path: Path) -> None:
    (tmp_path / "w.bin").write_bytes(bytes(WEIGHT_BYTES))
    path = model_with_external_w(tmp_path, "w.bin", offset=None, length=None)
    (ref,) = load_onnx(path).external_data
    assert (ref.offset, ref.length) == (0, WEIGHT_BYTES)


def test_over_2gb_from_a_sparse_external_file(tmp_path: Path) -> None:
    """A 3 GiB sparse file costs no disk; it loads only because the loader never reads it."""
    elements = 3 * 2**30 // 4
    with (tmp_path / "w.bin").open("wb") as handle:
        handle.truncate(elements * 4)
    model = make_model()
    weight = model.graph.initializer[0]
    del weight.dims[:]
    weight.dims.extend([elements])
    mark_external(weight, "w.bin", 0, elements * 4)
    loaded = load_onnx(write(tmp_path / "model.onnx", model))
    assert loaded.over_2gb
    assert loaded.external_data[0].length == elements * 4


def test_default_domain_import_may_be_missing_without_default_nodes(tmp_path: Path) -> None:
    graph = helper.make_graph(
        [helper.make_node("Foo", ["X"], ["Y"], domain="com.example")],
        "main",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("com.example", 999)])
    load_onnx(write(tmp_path / "model.onnx", model))


def test_shallow_nesting_loads(tmp_path: Path) -> None:
    path = write(tmp_path / "model.onnx", nested_model(20))
    assert load_onnx(path).model.graph.node[0].op_type == "Loop"


# --------------------------------------------------------------------------------------------
# The file itself


def test_missing_file(tmp_path: Path) -> None:
    message = expect_error(tmp_path / "nope.onnx", "FILE_NOT_FOUND")
    assert message == "no such file"


def test_missing_suffix_suggests_the_onnx_file(tmp_path: Path) -> None:
    write(tmp_path / "model.onnx", make_model())
    message = expect_error(tmp_path / "model", "FILE_NOT_FOUND")
    assert f"did you mean {tmp_path / 'model.onnx'}?" in message


def test_directory_with_one_model_names_it(tmp_path: Path) -> None:
    write(tmp_path / "resnet" / "model.onnx", make_model())
    (tmp_path / "resnet" / "notes.txt").write_text("hello")
    message = expect_error(tmp_path / "resnet", "IS_DIRECTORY", folder=tmp_path)
    assert message == f"is a directory; did you mean {tmp_path / 'resnet' / 'model.onnx'}?"


def test_directory_without_a_model(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    message = expect_error(tmp_path / "empty", "IS_DIRECTORY", folder=tmp_path)
    assert "no .onnx file" in message


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(b"")
    assert "empty" in expect_error(path, "EMPTY_FILE")


@pytest.mark.skipif(
    sys.platform == "win32" or os.geteuid() == 0,
    reason="root (or Windows) reads files whatever their permissions",
)
def test_unreadable_file(tmp_path: Path) -> None:
    path = write(tmp_path / "model.onnx", make_model())
    path.chmod(0)
    try:
        assert "permission" in expect_error(path, "UNREADABLE", watch=False).lower()
    finally:
        path.chmod(0o644)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_named_pipe_is_refused_without_blocking(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    os.mkfifo(path)
    assert "named pipe" in expect_error(path, "NOT_A_FILE")


def test_file_size_limit(tmp_path: Path) -> None:
    path = write(tmp_path / "model.onnx", make_model())
    message = expect_error(path, "FILE_TOO_LARGE", max_file_bytes=100)
    assert "over the limit" in message
    assert "100 bytes" in message


# --------------------------------------------------------------------------------------------
# Not an ONNX model


def test_truncated_model(tmp_path: Path) -> None:
    data = make_model().SerializeToString()
    path = tmp_path / "model.onnx"
    path.write_bytes(data[: len(data) // 2])
    message = expect_error(path, "CORRUPT_PROTOBUF")
    assert message.startswith("truncated or corrupt ONNX protobuf (Error parsing message")
    assert "the graph field needs" in message
    assert "looks truncated" in message


def test_random_bytes(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(random.Random(1234).randbytes(4096))
    assert "truncated or corrupt" in expect_error(path, "CORRUPT_PROTOBUF")


def test_pytorch_zip_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps({"weight": [1.0, 2.0]}, protocol=2))
        archive.writestr("archive/data/0", bytes(16))
        archive.writestr("archive/version", "3\n")
    message = expect_error(path, "WRONG_FORMAT")
    assert message.startswith("looks like a PyTorch checkpoint (zip")
    assert "onnx-preflight" in message


def test_legacy_pytorch_pickle_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    # torch.save's legacy format starts with its magic number pickled at protocol 2.
    path.write_bytes(pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2) + pickle.dumps({}))
    assert "legacy PyTorch checkpoint (pickle)" in expect_error(path, "WRONG_FORMAT")


def test_plain_pickle(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(pickle.dumps({"a": 1}, protocol=4))
    assert "Python pickle" in expect_error(path, "WRONG_FORMAT")


def test_hdf5_file(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(64))
    assert "HDF5" in expect_error(path, "WRONG_FORMAT")


def test_tflite_flatbuffer(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes((28).to_bytes(4, "little") + b"TFL3" + bytes(64))
    assert "TensorFlow Lite" in expect_error(path, "WRONG_FORMAT")


def test_serialized_tensor_proto(tmp_path: Path) -> None:
    path = tmp_path / "input_0.pb"
    tensor = numpy_helper.from_array(np.ones((2, 3), dtype=np.float32), "X")
    path.write_bytes(tensor.SerializeToString())
    assert "ONNX TensorProto ('X')" in expect_error(path, "WRONG_FORMAT")


def test_serialized_graph_proto_has_no_graph(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(make_model().graph.SerializeToString())
    message = expect_error(path, "NOT_A_MODEL")
    assert "no graph and ir_version 0" in message


def test_onnx_text_syntax(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    path.write_text(
        '<ir_version: 10, opset_import: ["" : 17]>\n'
        "agraph (float[N] X) => (float[N] Y) {\n  Y = Relu(X)\n}\n"
    )
    onnx.parser.parse_model(path.read_text())  # it is valid text syntax
    assert "ONNX text syntax" in expect_error(path, "WRONG_FORMAT")


# --------------------------------------------------------------------------------------------
# Versions


def test_ir_version_from_the_future(tmp_path: Path) -> None:
    path = write(tmp_path / "model.onnx", make_model(ir_version=onnx.IR_VERSION + 1))
    message = expect_error(path, "IR_VERSION_TOO_NEW")
    assert f"ir_version {onnx.IR_VERSION + 1}" in message


def test_ir_version_missing(tmp_path: Path) -> None:
    path = write(tmp_path / "model.onnx", make_model(ir_version=0))
    assert "missing" in expect_error(path, "IR_VERSION_INVALID")


def test_opset_zero(tmp_path: Path) -> None:
    path = write(tmp_path / "model.onnx", make_model(opset=0))
    assert "imports opset 0 for domain '' (ai.onnx)" in expect_error(path, "OPSET_INVALID")


def test_opset_from_the_future(tmp_path: Path) -> None:
    path = write(tmp_path / "model.onnx", make_model(opset=999))
    message = expect_error(path, "OPSET_TOO_NEW")
    assert "opset 999" in message
    assert f"up to {onnx.defs.onnx_opset_version()}" in message


def test_ml_opset_from_the_future(tmp_path: Path) -> None:
    model = make_model()
    model.opset_import.add(domain="ai.onnx.ml", version=999)
    path = write(tmp_path / "model.onnx", model)
    assert "'ai.onnx.ml'" in expect_error(path, "OPSET_TOO_NEW")



def model_with_function(function_opset: onnx.OperatorSetIdProto) -> onnx.ModelProto:
    """The small model plus a local function com.example:Double importing `function_opset`."""
    model = make_model()
    function = helper.make_function(
        "com.example",
        "Double",
        ["x"],
        ["y"],
        [helper.make_node("Add", ["x", "x"], ["y"])],
        [function_opset],
    )
    model.functions.append(function)
    model.opset_import.add(domain="com.example", version=1)
    return model

def test_default_domain_import_missing_with_default_nodes(tmp_path: Path) -> None:
    model = make_model()
    del model.opset_import[:]
    model.opset_import.add(domain="com.example", version=1)
    path = write(tmp_path / "model.onnx", model)
    message = expect_error(path, "OPSET_MISSING")
    assert "2 node(s)" in message
    assert "MatMul 'matmul'" in message


def test_function_opset_from_the_future(tmp_path: Path) -> None:
    path = write(tmp_path / "model.onnx", model_with_function(helper.make_opsetid("", 999)))
    assert "local function 'com.example:Double'" in expect_error(path, "OPSET_TOO_NEW")


# --------------------------------------------------------------------------------------------
# Nesting


def test_nesting_deeper_than_the_limit_in_a_file(tmp_path: Path) -> None:
    path = write(tmp_path / "model.onnx", nested_model(40))
    message = expect_error(path, "NESTING_TOO_DEEP")
    assert message.startswith(f"subgraph nesting depth 40 exceeds the limit {MAX_SUBGRAPH_DEPTH}")


def test_nesting_deeper_than_the_limit_in_memory() -> None:
    with pytest.raises(InputError) as caught:
        load_onnx(nested_model(40))
    assert caught.value.code == "NESTING_TOO_DEEP"
    assert caught.value.message.startswith("subgraph nesting depth 40 exceeds the limit 32")


# --------------------------------------------------------------------------------------------
# External data


def test_external_data_file_missing(tmp_path: Path) -> None:
    path = model_with_external_w(tmp_path, "w.bin")
    message = expect_error(path, "EXTERNAL_DATA_MISSING")
    assert "'w.bin' of tensor 'W'" in message


def test_external_data_parent_path(tmp_path: Path) -> None:
    (tmp_path / "w.bin").write_bytes(bytes(WEIGHT_BYTES))
    path = model_with_external_w(tmp_path / "m", "../w.bin")
    message = expect_error(path, "EXTERNAL_DATA_OUTSIDE_FOLDER", folder=tmp_path)
    assert message == "external data location '../w.bin' of tensor 'W' leaves the model's folder"


def test_external_data_absolute_path(tmp_path: Path) -> None:
    target = tmp_path / "w.bin"
    target.write_bytes(bytes(WEIGHT_BYTES))
    path = model_with_external_w(tmp_path / "m", str(target))
    assert "absolute path" in expect_error(path, "EXTERNAL_DATA_OUTSIDE_FOLDER", folder=tmp_path)


def test_external_data_symlink_to_outside(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "w.bin").write_bytes(bytes(WEIGHT_BYTES))
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "w.bin").symlink_to(outside / "w.bin")
    path = model_with_external_w(folder, "w.bin")
    message = expect_error(path, "EXTERNAL_DATA_OUTSIDE_FOLDER", folder=tmp_path)
    assert "symlink" in message


def test_external_data_hard_link(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "w.bin").write_bytes(bytes(WEIGHT_BYTES))
    folder = tmp_path / "m"
    folder.mkdir()
    os.link(outside / "w.bin", folder / "w.bin")
    path = model_with_external_w(folder, "w.bin")
    message = expect_error(path, "EXTERNAL_DATA_HARD_LINK", folder=tmp_path)
    assert "2 hard links" in message


def test_external_data_offset_past_the_end(tmp_path: Path) -> None:
    (tmp_path / "w.bin").write_bytes(bytes(WEIGHT_BYTES))
    path = model_with_external_w(tmp_path, "w.bin", offset=64)
    message = expect_error(path, "EXTERNAL_DATA_OUT_OF_BOUNDS")
    assert f"bytes 64..{64 + WEIGHT_BYTES}" in message
    assert f"({WEIGHT_BYTES} bytes)" in message


def test_external_data_length_that_does_not_fit_the_shape(tmp_path: Path) -> None:
    (tmp_path / "w.bin").write_bytes(bytes(WEIGHT_BYTES))
    path = model_with_external_w(tmp_path, "w.bin", length=WEIGHT_BYTES // 2)
    message = expect_error(path, "EXTERNAL_DATA_SIZE_MISMATCH")
    assert f"needs {WEIGHT_BYTES}" in message


def test_external_data_negative_offset(tmp_path: Path) -> None:
    (tmp_path / "w.bin").write_bytes(bytes(WEIGHT_BYTES))
    path = model_with_external_w(tmp_path, "w.bin", offset=-1)
    assert "offset '-1'" in expect_error(path, "EXTERNAL_DATA_INVALID")


def test_external_data_that_is_a_directory(tmp_path: Path) -> None:
    (tmp_path / "w.bin").mkdir()
    path = model_with_external_w(tmp_path, "w.bin")
    assert "is a directory" in expect_error(path, "EXTERNAL_DATA_NOT_A_FILE")


def test_external_data_in_memory_needs_a_path() -> None:
    model = make_model()
    mark_external(model.graph.initializer[0], "w.bin", 0, WEIGHT_BYTES)
    with pytest.raises(InputError) as caught:
        load_onnx(model)
    assert caught.value.code == "EXTERNAL_DATA_NEEDS_PATH"
    assert "external data needs the model's path" in caught.value.message


def test_external_data_in_an_if_branch_is_checked(tmp_path: Path) -> None:
    """Initializers of subgraphs are reached too (here two levels down)."""
    weight = numpy_helper.from_array(np.zeros(WEIGHT_SHAPE, dtype=np.float32), "inner_W")
    mark_external(weight, "../../etc/passwd", 0, WEIGHT_BYTES)
    leaf = helper.make_graph(
        [helper.make_node("Identity", ["inner_W"], ["t"])],
        "then_inner",
        [],
        [helper.make_tensor_value_info("t", TensorProto.FLOAT, list(WEIGHT_SHAPE))],
        initializer=[weight],
    )

    def branch(name: str, then_graph: onnx.GraphProto) -> onnx.GraphProto:
        node = helper.make_node(
            "If", ["C"], [f"{name}_out"], then_branch=then_graph, else_branch=then_graph
        )
        out = helper.make_tensor_value_info(f"{name}_out", TensorProto.FLOAT, None)
        return helper.make_graph([node], name, [], [out])

    outer = branch("outer", leaf)
    graph = helper.make_graph(
        list(outer.node),
        "main",
        [helper.make_tensor_value_info("C", TensorProto.BOOL, [])],
        list(outer.output),
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    path = write(tmp_path / "model.onnx", model)
    message = expect_error(path, "EXTERNAL_DATA_OUTSIDE_FOLDER")
    assert "'../../etc/passwd' of tensor 'inner_W'" in message


def test_external_data_of_a_sparse_initializer_is_checked(tmp_path: Path) -> None:
    model = make_model()
    values = numpy_helper.from_array(np.ones(4, dtype=np.float32), "S_values")
    indices = numpy_helper.from_array(np.arange(4, dtype=np.int64), "S_indices")
    mark_external(values, "sparse.bin", 0, 16)
    model.graph.sparse_initializer.append(helper.make_sparse_tensor(values, indices, [16]))
    path = write(tmp_path / "model.onnx", model)
    assert "tensor 'S_values'" in expect_error(path, "EXTERNAL_DATA_MISSING")


def test_external_data_of_a_constant_attribute_is_checked(tmp_path: Path) -> None:
    model = make_model()
    value = numpy_helper.from_array(np.ones(4, dtype=np.float32), "const_value")
    mark_external(value, "/dev/zero", 0, 16)
    model.graph.node.insert(0, helper.make_node("Constant", [], ["K"], value=value))
    path = write(tmp_path / "model.onnx", model)
    assert "'/dev/zero'" in expect_error(path, "EXTERNAL_DATA_OUTSIDE_FOLDER")


# --------------------------------------------------------------------------------------------
# onnx's own test models


def _onnx_test_models() -> list[Path]:
    found: set[Path] = set()
    for kind in ("light", "pytorch-converted", "pytorch-operator", "simple", "node"):
        found.update((TEST_DATA / kind).glob("**/model.onnx"))
    found.update((TEST_DATA / "light").glob("*.onnx"))
    return sorted(found)


@pytest.mark.parametrize("path", _onnx_test_models(), ids=lambda p: str(p.relative_to(TEST_DATA)))
def test_onnx_backend_test_models_load(path: Path) -> None:
    loaded = load_onnx(path)
    assert loaded.model.HasField("graph")
    assert loaded.external_data == []


def _node_test_cases() -> Iterator[tuple[str, onnx.ModelProto]]:
    """onnx's node test models, from its case definitions (the wheel ships no data/node)."""
    from onnx.backend.test.case import node

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the reference outputs overflow on purpose
        cases = node.collect_testcases(None)
    for case in cases:
        assert case.model is not None
        yield case.name, case.model


@pytest.mark.skipif((TEST_DATA / "node").is_dir(), reason="data/node is on disk: covered above")
def test_onnx_node_test_models_load(tmp_path: Path) -> None:
    failures: list[str] = []
    count = 0
    for name, model in _node_test_cases():
        path = write(tmp_path / name / "model.onnx", model)
        count += 1
        try:
            load_onnx(path)
        except InputError as exc:
            failures.append(exc.one_line())
    assert count > 1000
    assert failures == []


def test_file_over_protobufs_limit_is_refused_unread(tmp_path: Path) -> None:
    """A 3 GiB sparse file: refused from its size after reading 16 bytes, not 3 GiB."""
    path = tmp_path / "model.onnx"
    with path.open("wb") as handle:
        handle.truncate(3 * 2**30)
    message = expect_error(path, "PROTOBUF_TOO_LARGE", watch=False)
    assert "2 GiB limit" in message
    assert "save_as_external_data=True" in message


def test_function_without_default_domain_import(tmp_path: Path) -> None:
    path = write(tmp_path / "model.onnx", model_with_function(helper.make_opsetid("com.other", 1)))
    message = expect_error(path, "OPSET_MISSING")
    assert "local function 'com.example:Double'" in message


def test_opset_imported_twice_at_different_versions(tmp_path: Path) -> None:
    model = make_model(opset=17)
    model.opset_import.add(domain="ai.onnx", version=13)  # "ai.onnx" is the default domain
    path = write(tmp_path / "model.onnx", model)
    message = expect_error(path, "OPSET_DUPLICATE")
    assert "twice, at versions 17 and 13" in message
