"""The bad-input corpus: every case builds its files in a folder, from real models, in code.

A case is a name, a builder that writes the files into a given folder and returns the CLI
arguments of `onnx-preflight analyze` (model path or spec, and any flags), the stable error code
the one line must carry, and what that line must name (the file or spec at fault).

Cases that are findings rather than bad input (a valid model with a problem the report is for)
live in FINDING_CASES with the finding id and exit status they must produce instead.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import pickle
import random
import struct
import textwrap
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import onnx.parser
from onnx import TensorProto, helper, numpy_helper

Builder = Callable[[Path], list[str]]


@dataclass(frozen=True)
class Case:
    """One bad input: `build(folder)` writes it and returns the analyze arguments."""

    name: str
    build: Builder
    code: str
    names: str = "model.onnx"  # the file (or spec) name the error line must contain
    torch: bool = False


@dataclass(frozen=True)
class FindingCase:
    """A valid model with a problem: the report comes out with `finding` and `status`."""

    name: str
    build: Builder
    finding: str
    status: int


# --------------------------------------------------------------------------------------------
# ONNX building blocks

W_SHAPE = (4, 4)
W_BYTES = 4 * 4 * 4


def base_model(opset: int = 17, ir_version: int = 10) -> onnx.ModelProto:
    """Y = Relu(MatMul(X, W)): small, valid, and with one initializer to move out."""
    weight = numpy_helper.from_array(np.arange(16, dtype=np.float32).reshape(W_SHAPE), "W")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["X", "W"], ["XW"], name="matmul"),
         helper.make_node("Relu", ["XW"], ["Y"], name="relu")],
        "main",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, 4])],
        initializer=[weight],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = ir_version
    return model


def model_bytes() -> bytes:
    return base_model().SerializeToString()


def save(folder: Path, model: onnx.ModelProto, name: str = "model.onnx") -> list[str]:
    path = folder / name
    path.write_bytes(model.SerializeToString())
    return [str(path)]


def raw(data: bytes, name: str = "model.onnx") -> Builder:
    def build(folder: Path) -> list[str]:
        (folder / name).write_bytes(data)
        return [str(folder / name)]
    return build


def edited(edit: Callable[[onnx.ModelProto], None], *flags: str) -> Builder:
    """The base model changed by `edit` (which may also replace its graph), saved as is."""
    def build(folder: Path) -> list[str]:
        model = base_model()
        edit(model)
        return save(folder, model) + list(flags)
    return build


def from_text(text: str, *flags: str) -> Builder:
    def build(folder: Path) -> list[str]:
        return save(folder, onnx.parser.parse_model(textwrap.dedent(text))) + list(flags)
    return build


def nested(depth: int, op: str = "Loop", *flags: str) -> Builder:
    """Subgraphs nested `depth` deep, built in place (copying a deep message hits upb's limit)."""
    def build(folder: Path) -> list[str]:
        model = onnx.ModelProto(ir_version=10)
        model.opset_import.add(domain="", version=17)
        graph = model.graph
        graph.name = "main"
        for level in range(depth):
            node = graph.node.add(op_type=op, name=f"{op.lower()}{level}")
            attr = node.attribute.add(
                name="body" if op == "Loop" else "then_branch", type=onnx.AttributeProto.GRAPH)
            graph = attr.g
            graph.name = f"body{level + 1}"
        return save(folder, model) + list(flags)
    return build


def special(make: Callable[[Path], object]) -> Builder:
    """model.onnx made by `make` (a symlink, a FIFO, a directory) instead of written."""
    def build(folder: Path) -> list[str]:
        make(folder / "model.onnx")
        return [str(folder / "model.onnx")]
    return build


def sparse_file(size: int, head: bytes) -> Builder:
    """A sparse file of `size` bytes (no disk used) that starts like a model."""
    def build(folder: Path) -> list[str]:
        path = folder / "model.onnx"
        with path.open("wb") as handle:
            handle.write(head)
            handle.truncate(size)
        return [str(path)]
    return build


def mark_external(tensor: TensorProto, entries: dict[str, str]) -> None:
    tensor.ClearField("raw_data")
    tensor.ClearField("float_data")
    tensor.data_location = TensorProto.EXTERNAL
    del tensor.external_data[:]
    for key, value in entries.items():
        tensor.external_data.add(key=key, value=value)


def external(entries: dict[str, str], setup: Callable[[Path], object] | None = None,
             model_dir: str = "") -> Builder:
    """W moved to external data described by `entries`; `setup` creates (or not) the data."""
    def build(folder: Path) -> list[str]:
        where = folder / model_dir if model_dir else folder
        where.mkdir(parents=True, exist_ok=True)
        if setup is not None:
            setup(folder)
        model = base_model()
        mark_external(model.graph.initializer[0], entries)
        return save(where, model)
    return build


def ext(location: str, offset: int | None = 0, length: int | None = W_BYTES) -> dict[str, str]:
    entries = {"location": location}
    if offset is not None:
        entries["offset"] = str(offset)
    if length is not None:
        entries["length"] = str(length)
    return entries


def data_file(name: str, size: int = W_BYTES) -> Callable[[Path], None]:
    def setup(folder: Path) -> None:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(bytes(size))
    return setup


def outside_file(folder: Path) -> Path:
    """A data file outside the case folder's model subfolder 'm' (the case folder itself)."""
    target = folder / "secret.bin"
    target.write_bytes(bytes(W_BYTES))
    return target


def _symlink_out(folder: Path) -> None:
    (folder / "m").mkdir(exist_ok=True)
    (folder / "m" / "w.bin").symlink_to(outside_file(folder))


def _symlinked_dir_out(folder: Path) -> None:
    (folder / "m").mkdir(exist_ok=True)
    outside = folder / "elsewhere"
    outside.mkdir()
    (outside / "w.bin").write_bytes(bytes(W_BYTES))
    (folder / "m" / "data").symlink_to(outside, target_is_directory=True)


def _hard_link(folder: Path) -> None:
    (folder / "m").mkdir(exist_ok=True)
    os.link(outside_file(folder), folder / "m" / "w.bin")


def _fifo(name: str) -> Callable[[Path], None]:
    def setup(folder: Path) -> None:
        os.mkfifo(folder / name)
    return setup


# --------------------------------------------------------------------------------------------
# Graph-structure defects (edits of the base model)


def _cycle(model: onnx.ModelProto) -> None:
    model.graph.node[0].input[0] = "Y"  # MatMul reads Relu's output, Relu reads MatMul's


def _self_loop(model: onnx.ModelProto) -> None:
    model.graph.node[1].input[0] = "Y"


def _duplicate_output(model: onnx.ModelProto) -> None:
    model.graph.node[1].output[0] = "XW"
    model.graph.output[0].name = "XW"


def _output_overwrites_input(model: onnx.ModelProto) -> None:
    model.graph.node[1].output[0] = "X"
    model.graph.output[0].name = "X"


def _dangling_input(model: onnx.ModelProto) -> None:
    model.graph.node[1].input[0] = "nowhere"


def _dangling_output(model: onnx.ModelProto) -> None:
    model.graph.output[0].name = "never_made"


def _if_model(branch_reads: str, cond_from: str = "c") -> onnx.ModelProto:
    then = helper.make_graph([helper.make_node("Identity", [branch_reads], ["t"])], "then", [],
                             [helper.make_tensor_value_info("t", TensorProto.FLOAT, [1, 4])])
    other = helper.make_graph([helper.make_node("Identity", ["X"], ["e"])], "else", [],
                              [helper.make_tensor_value_info("e", TensorProto.FLOAT, [1, 4])])
    graph = helper.make_graph(
        [helper.make_node("If", [cond_from], ["Y"], name="if", then_branch=then,
                          else_branch=other),
         helper.make_node("Cast", ["X"], ["c"], name="cast", to=TensorProto.BOOL)],
        "main",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, 4])],
    )
    graph.node.reverse()  # Cast first: the graph is in order unless the branch makes a cycle
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 10
    return model


def _cycle_through_subgraph(folder: Path) -> list[str]:
    return save(folder, _if_model("Y"))  # the then-branch reads the If's own output


def _dangling_in_subgraph(folder: Path) -> list[str]:
    return save(folder, _if_model("ghost"))


def _dangling_in_function(folder: Path) -> list[str]:
    fn = helper.make_function("local", "F", ["a"], ["b"],
                              [helper.make_node("Add", ["a", "zz"], ["b"])],
                              [helper.make_opsetid("", 17)])
    graph = helper.make_graph([helper.make_node("F", ["X"], ["Y"], domain="local")], "main",
                              [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, 4])])
    model = helper.make_model(graph, functions=[fn], opset_imports=[
        helper.make_opsetid("", 17), helper.make_opsetid("local", 1)])
    model.ir_version = 10
    return save(folder, model)


def _wide(nodes: int) -> Callable[[onnx.ModelProto], None]:
    def edit(model: onnx.ModelProto) -> None:
        chain = [helper.make_node("Relu", ["X" if i == 0 else f"r{i - 1}"], [f"r{i}"])
                 for i in range(nodes)]
        chain.append(helper.make_node("Identity", [f"r{nodes - 1}"], ["Y"]))
        del model.graph.node[:]
        del model.graph.initializer[:]
        model.graph.node.extend(chain)
    return edit


# --------------------------------------------------------------------------------------------
# Other formats dressed as .onnx


def _zip_checkpoint() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps({"w": [1.0]}, protocol=2))
        archive.writestr("archive/version", "3\n")
    return buffer.getvalue()


def _plain_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "hello")
    return buffer.getvalue()


def _npy() -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.zeros(3, np.float32))
    return buffer.getvalue()


def _safetensors() -> bytes:
    header = json.dumps({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}).encode()
    return struct.pack("<Q", len(header)) + header + bytes(4)


def _model_without_graph() -> bytes:
    model = base_model()
    model.ClearField("graph")
    return model.SerializeToString()


def _text_proto() -> bytes:
    from google.protobuf import text_format

    return text_format.MessageToString(base_model()).encode()


ONNX_TEXT = b'<ir_version: 10, opset_import: ["" : 17]>\ng (float[N] X) => (float[N] Y) {\n' \
    b"  Y = Relu(X)\n}\n"

# --------------------------------------------------------------------------------------------
# PyTorch sources

TORCH_MODULE = """
import torch

class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(4, 3)

    def forward(self, x):
        return torch.relu(self.fc(x))

def build():
    return Net().eval()

def build_with_inputs():
    return Net().eval(), (torch.randn(2, 4),)

def broken():
    raise ValueError("the factory itself fails")

def not_a_module():
    return [1, 2, 3]
"""


class Pwn:
    """A pickle payload: unpickling it would call os.system (weights_only must refuse it)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


def torch_module(folder: Path, name: str) -> str:
    """Write the module under a unique name in the folder; analyze runs with cwd=folder."""
    (folder / f"{name}.py").write_text(TORCH_MODULE)
    return name


def torch_case(factory: str, inputs: list[str], weights: Callable[[Path], Path] | None = None
               ) -> Builder:
    def build(folder: Path) -> list[str]:
        module = torch_module(folder, f"rb_{folder.name.replace('-', '_')}")
        args = [f"{module}:{factory}"] + [f"--input={i}" for i in inputs]
        if weights is not None:
            args += ["--weights", str(weights(folder))]
        return args
    return build


def _evil_checkpoint(folder: Path) -> Path:
    import torch

    path = folder / "weights.pt"
    torch.save({"fc.weight": Pwn(folder / "PWNED")}, path)
    return path


def _evil_legacy_checkpoint(folder: Path) -> Path:
    import torch

    path = folder / "weights.pt"
    torch.save({"fc.weight": Pwn(folder / "PWNED")}, path, _use_new_zipfile_serialization=False)
    return path


def _evil_plain_pickle(folder: Path) -> Path:
    path = folder / "weights.pt"
    path.write_bytes(pickle.dumps(Pwn(folder / "PWNED")))
    return path


def _state(folder: Path, state: object, name: str = "weights.pt") -> Path:
    import torch

    path = folder / name
    torch.save(state, path)
    return path


def _good_state() -> dict[str, object]:
    import torch

    return {"fc.weight": torch.zeros(3, 4), "fc.bias": torch.zeros(3)}


def _truncated_checkpoint(folder: Path) -> Path:
    path = _state(folder, _good_state())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _wrong_keys(folder: Path) -> Path:
    import torch

    return _state(folder, {"other.weight": torch.zeros(3, 4)})


def _wrong_shapes(folder: Path) -> Path:
    import torch

    return _state(folder, {"fc.weight": torch.zeros(5, 4), "fc.bias": torch.zeros(5)})


def _not_a_state_dict(folder: Path) -> Path:
    return _state(folder, [1, 2, 3])


def _missing_weights(folder: Path) -> Path:
    return folder / "absent.pt"


def _empty_weights(folder: Path) -> Path:
    path = folder / "weights.pt"
    path.write_bytes(b"")
    return path


def _random_weights(folder: Path) -> Path:
    path = folder / "weights.pt"
    path.write_bytes(random.Random(7).randbytes(2048))
    return path


# --------------------------------------------------------------------------------------------
# The corpus

GIB = 2**30


def _future_function_opset(model: onnx.ModelProto) -> None:
    fn = helper.make_function("local", "F", ["a"], ["b"], [helper.make_node("Relu", ["a"], ["b"])],
                              [helper.make_opsetid("", 999)])
    model.functions.append(fn)


CASES: list[Case] = [
    # The file itself
    Case("empty-file", raw(b""), "EMPTY_FILE"),
    Case("missing-file", lambda d: [str(d / "model.onnx")], "FILE_NOT_FOUND"),
    Case("broken-symlink", special(lambda p: p.symlink_to(p.with_name("gone.onnx"))),
         "FILE_NOT_FOUND"),
    Case("named-pipe", special(lambda p: os.mkfifo(p)), "NOT_A_FILE"),
    Case("directory-named-onnx", special(lambda p: p.mkdir()), "IS_DIRECTORY"),
    Case("file-size-flag", edited(lambda m: None, "--max-file-size", "100"), "FILE_TOO_LARGE"),
    Case("over-2gb-file", sparse_file(2 * GIB + 10, model_bytes()[:64]), "PROTOBUF_TOO_LARGE"),
    Case("over-2gb-file-no-size-limit",
         lambda d: sparse_file(3 * GIB, model_bytes()[:64])(d) + ["--max-file-size", "0"],
         "PROTOBUF_TOO_LARGE"),
    Case("over-default-size-limit", sparse_file(5 * GIB, model_bytes()[:64]), "FILE_TOO_LARGE"),
    # Not a (whole) ONNX model
    Case("truncated-half", raw(model_bytes()[: len(model_bytes()) // 2]), "CORRUPT_PROTOBUF"),
    Case("truncated-one-byte-short", raw(model_bytes()[:-1]), "CORRUPT_PROTOBUF"),
    Case("truncated-to-3-bytes", raw(model_bytes()[:3]), "CORRUPT_PROTOBUF"),
    Case("random-bytes-4k", raw(random.Random(1).randbytes(4096)), "CORRUPT_PROTOBUF"),
    Case("random-bytes-100", raw(random.Random(2).randbytes(100)), "CORRUPT_PROTOBUF"),
    Case("all-ff-bytes", raw(b"\xff" * 64), "CORRUPT_PROTOBUF"),
    Case("zip-checkpoint", raw(_zip_checkpoint()), "WRONG_FORMAT"),
    Case("plain-zip", raw(_plain_zip()), "WRONG_FORMAT"),
    Case("gzip-model", raw(gzip.compress(model_bytes())), "WRONG_FORMAT"),
    Case("python-pickle", raw(pickle.dumps({"a": 1}, protocol=4)), "WRONG_FORMAT"),
    Case("hdf5-magic", raw(b"\x89HDF\r\n\x1a\n" + bytes(64)), "WRONG_FORMAT"),
    Case("tflite-magic", raw((28).to_bytes(4, "little") + b"TFL3" + bytes(64)), "WRONG_FORMAT"),
    Case("ort-format", raw(bytes(4) + b"ORTM" + bytes(64)), "WRONG_FORMAT"),
    Case("npy-array", raw(_npy()), "WRONG_FORMAT"),
    Case("gguf-magic", raw(b"GGUF" + bytes(60)), "WRONG_FORMAT"),
    Case("safetensors", raw(_safetensors()), "WRONG_FORMAT"),
    Case("json-text", raw(b'{"graph": []}\n'), "WRONG_FORMAT"),
    Case("onnx-text-syntax", raw(ONNX_TEXT), "WRONG_FORMAT"),
    Case("text-format-proto", raw(_text_proto()), "WRONG_FORMAT"),
    Case("tensor-proto", raw(numpy_helper.from_array(np.ones((2, 3), np.float32),
                                                     "X").SerializeToString()), "WRONG_FORMAT"),
    Case("graph-proto", raw(base_model().graph.SerializeToString()), "NOT_A_MODEL"),
    Case("model-without-graph", raw(_model_without_graph()), "NOT_A_MODEL"),
    # Versions
    Case("ir-version-0", edited(lambda m: setattr(m, "ir_version", 0)), "IR_VERSION_INVALID"),
    Case("ir-version-future", edited(lambda m: setattr(m, "ir_version", onnx.IR_VERSION + 1)),
         "IR_VERSION_TOO_NEW"),
    Case("ir-version-huge", edited(lambda m: setattr(m, "ir_version", 2**62)),
         "IR_VERSION_TOO_NEW"),
    Case("opset-0", edited(lambda m: setattr(m.opset_import[0], "version", 0)), "OPSET_INVALID"),
    Case("opset-negative", edited(lambda m: setattr(m.opset_import[0], "version", -3)),
         "OPSET_INVALID"),
    Case("opset-future", edited(lambda m: setattr(m.opset_import[0], "version", 999)),
         "OPSET_TOO_NEW"),
    Case("ml-opset-future", edited(lambda m: m.opset_import.add(domain="ai.onnx.ml",
                                                                version=999)), "OPSET_TOO_NEW"),
    Case("opset-imported-twice", edited(lambda m: m.opset_import.add(domain="ai.onnx",
                                                                     version=13)),
         "OPSET_DUPLICATE"),
    Case("no-opset-import", edited(lambda m: m.ClearField("opset_import")), "OPSET_MISSING"),
    Case("function-opset-future", edited(_future_function_opset), "OPSET_TOO_NEW"),
    # Graph structure
    Case("cycle", edited(_cycle), "GRAPH_CYCLE"),
    Case("self-loop", edited(_self_loop), "GRAPH_CYCLE"),
    Case("cycle-through-if-branch", _cycle_through_subgraph, "GRAPH_CYCLE"),
    Case("duplicate-output-name", edited(_duplicate_output), "GRAPH_DUPLICATE_OUTPUT"),
    Case("output-overwrites-graph-input", edited(_output_overwrites_input),
         "GRAPH_DUPLICATE_OUTPUT"),
    Case("dangling-input", edited(_dangling_input), "GRAPH_DANGLING_INPUT"),
    Case("dangling-graph-output", edited(_dangling_output), "GRAPH_DANGLING_INPUT"),
    Case("dangling-in-if-branch", _dangling_in_subgraph, "GRAPH_DANGLING_INPUT"),
    Case("dangling-in-local-function", _dangling_in_function, "GRAPH_DANGLING_INPUT"),
    # Limits
    Case("loop-nesting-33", nested(33), "NESTING_TOO_DEEP"),
    Case("loop-nesting-40", nested(40), "NESTING_TOO_DEEP"),
    Case("if-nesting-40", nested(40, "If"), "NESTING_TOO_DEEP"),
    Case("nesting-over-flag", nested(3, "Loop", "--max-subgraph-depth", "2"),
         "NESTING_TOO_DEEP"),
    Case("nodes-over-flag", edited(_wide(50), "--max-nodes", "20"), "TOO_MANY_NODES"),
    # Attribute values that crash (GatherND) or exhaust (Split) onnx's shape inference
    Case("gathernd-negative-batch-dims", from_text("""
        <ir_version: 10, opset_import: ["" : 17]>
        g (float[2,3] D, int64[2,1] I) => (float[2] Y) { Y = GatherND <batch_dims = -3> (D, I) }
        """), "ATTRIBUTE_INVALID"),
    Case("split-num-outputs-2-pow-31", from_text("""
        <ir_version: 10, opset_import: ["" : 18]>
        g (float[4] X) => (float[2] A, float[2] B) { A, B = Split <num_outputs = 2147483648> (X) }
        """), "ATTRIBUTE_INVALID"),
    # External data
    Case("external-missing", external(ext("w.bin")), "EXTERNAL_DATA_MISSING"),
    Case("external-dotdot", external(ext("../secret.bin"), outside_file, "m"),
         "EXTERNAL_DATA_OUTSIDE_FOLDER", "m/model.onnx"),
    Case("external-dotdot-inner", external(ext("sub/../../secret.bin"), outside_file, "m"),
         "EXTERNAL_DATA_OUTSIDE_FOLDER", "m/model.onnx"),
    Case("external-absolute", lambda d: external(ext(str(outside_file(d))), None, "m")(d),
         "EXTERNAL_DATA_OUTSIDE_FOLDER", "m/model.onnx"),
    Case("external-windows-drive", external(ext("C:\\secret.bin")),
         "EXTERNAL_DATA_OUTSIDE_FOLDER"),
    Case("external-symlink-out", external(ext("w.bin"), _symlink_out, "m"),
         "EXTERNAL_DATA_OUTSIDE_FOLDER", "m/model.onnx"),
    Case("external-symlinked-dir-out", external(ext("data/w.bin"), _symlinked_dir_out, "m"),
         "EXTERNAL_DATA_OUTSIDE_FOLDER", "m/model.onnx"),
    Case("external-hard-link", external(ext("w.bin"), _hard_link, "m"),
         "EXTERNAL_DATA_HARD_LINK", "m/model.onnx"),
    Case("external-offset-past-end", external(ext("w.bin", offset=W_BYTES * 2),
                                              data_file("w.bin")), "EXTERNAL_DATA_OUT_OF_BOUNDS"),
    Case("external-length-past-end", external(ext("w.bin", length=W_BYTES * 2),
                                              data_file("w.bin")), "EXTERNAL_DATA_OUT_OF_BOUNDS"),
    Case("external-span-past-end", external(ext("w.bin", offset=8), data_file("w.bin")),
         "EXTERNAL_DATA_OUT_OF_BOUNDS"),
    Case("external-size-mismatch", external(ext("w.bin", length=8), data_file("w.bin")),
         "EXTERNAL_DATA_SIZE_MISMATCH"),
    Case("external-negative-offset", external(ext("w.bin", offset=-1), data_file("w.bin")),
         "EXTERNAL_DATA_INVALID"),
    Case("external-length-not-a-number", external({"location": "w.bin", "length": "lots"},
                                                  data_file("w.bin")), "EXTERNAL_DATA_INVALID"),
    Case("external-no-location", external({"offset": "0"}), "EXTERNAL_DATA_INVALID"),
    Case("external-nul-in-location", external(ext("w.bin\x00.txt"), data_file("w.bin")),
         "EXTERNAL_DATA_INVALID"),
    Case("external-is-directory", external(ext("w.bin"), lambda d: (d / "w.bin").mkdir()),
         "EXTERNAL_DATA_NOT_A_FILE"),
    Case("external-is-fifo", external(ext("w.bin"), _fifo("w.bin")),
         "EXTERNAL_DATA_NOT_A_FILE"),
    # PyTorch sources
    Case("torch-module-not-found", lambda d: ["no_such_module_rb:build"],
         "TORCH_FACTORY_NOT_FOUND", "no_such_module_rb:build", torch=True),
    Case("torch-factory-not-found", torch_case("no_such_factory", ["x:float32[2,4]"]),
         "TORCH_FACTORY_NOT_FOUND", ":no_such_factory", torch=True),
    Case("torch-factory-raises", torch_case("broken", ["x:float32[2,4]"]),
         "TORCH_FACTORY_FAILED", ":broken", torch=True),
    Case("torch-factory-not-a-module", torch_case("not_a_module", ["x:float32[2,4]"]),
         "TORCH_FACTORY_INVALID", ":not_a_module", torch=True),
    Case("torch-inputs-wrong-width", torch_case("build", ["x:float32[2,5]"]),
         "TORCH_INPUTS_MISMATCH", ":build", torch=True),
    Case("torch-inputs-too-many", torch_case("build", ["x:float32[2,4]", "y:float32[2,4]"]),
         "TORCH_INPUTS_MISMATCH", ":build", torch=True),
    Case("torch-inputs-wrong-dtype", torch_case("build", ["x:int64[2,4]"]),
         "TORCH_INPUTS_MISMATCH", ":build", torch=True),
    Case("torch-weights-reduce-zip", torch_case("build", ["x:float32[2,4]"], _evil_checkpoint),
         "TORCH_WEIGHTS_UNSAFE", "weights.pt", torch=True),
    Case("torch-weights-reduce-legacy",
         torch_case("build", ["x:float32[2,4]"], _evil_legacy_checkpoint),
         "TORCH_WEIGHTS_UNSAFE", "weights.pt", torch=True),
    Case("torch-weights-reduce-plain-pickle",
         torch_case("build", ["x:float32[2,4]"], _evil_plain_pickle),
         "TORCH_WEIGHTS_UNSAFE", "weights.pt", torch=True),
    Case("torch-weights-truncated",
         torch_case("build_with_inputs", [], _truncated_checkpoint),
         "TORCH_WEIGHTS_INVALID", "weights.pt", torch=True),
    Case("torch-weights-random-bytes", torch_case("build_with_inputs", [], _random_weights),
         "TORCH_WEIGHTS_INVALID", "weights.pt", torch=True),
    Case("torch-weights-wrong-keys", torch_case("build_with_inputs", [], _wrong_keys),
         "TORCH_WEIGHTS_MISMATCH", "weights.pt", torch=True),
    Case("torch-weights-wrong-shapes", torch_case("build_with_inputs", [], _wrong_shapes),
         "TORCH_WEIGHTS_MISMATCH", "weights.pt", torch=True),
    Case("torch-weights-not-a-state-dict",
         torch_case("build_with_inputs", [], _not_a_state_dict),
         "TORCH_WEIGHTS_INVALID", "weights.pt", torch=True),
    Case("torch-weights-missing", torch_case("build_with_inputs", [], _missing_weights),
         "FILE_NOT_FOUND", "absent.pt", torch=True),
    Case("torch-weights-empty", torch_case("build_with_inputs", [], _empty_weights),
         "EMPTY_FILE", "weights.pt", torch=True),
]


def _custom_domain(folder: Path) -> list[str]:
    return from_text("""
        <ir_version: 10, opset_import: ["" : 17, "com.example.rb" : 1]>
        g (float[1,4] X) => (float[1,4] Y) { Y = com.example.rb.Mystery(X) }""")(folder)


def _unknown_default_op(folder: Path) -> list[str]:
    return from_text("""
        <ir_version: 10, opset_import: ["" : 17]>
        g (float[1,4] X) => (float[1,4] Y) { Y = Reluu(X) }""")(folder)


def _unsorted(model: onnx.ModelProto) -> None:
    model.graph.node.reverse()


def _inference_crash(folder: Path) -> list[str]:
    """A DictVectorizer fed by a custom op (whose output type nobody knows): onnx's shape
    inference dereferences the missing input type and segfaults (onnx 1.23; found by fuzzing)."""
    return from_text("""
        <ir_version: 10, opset_import: ["" : 20, "ai.onnx.ml" : 4, "com.example.rb" : 1]>
        g (int64[4] X) => (float[2] Y) {
            D = com.example.rb.Mystery(X)
            Y = ai.onnx.ml.DictVectorizer <int64_vocabulary = [1, 2]> (D)
        }""")(folder)


FINDING_CASES: list[FindingCase] = [
    # A custom domain is legitimate (contrib ops, plugins): the report says it needs a library
    # (SCH205) and that no provider has a kernel for it (EP301, an error: exit 1).
    FindingCase("unknown-custom-domain", _custom_domain, "SCH205", 1),
    # An op the default domain lacks is the compatibility problem the report exists for.
    FindingCase("unknown-default-domain-op", _unknown_default_op, "SCH201", 1),
    # Acyclic but out of order: onnxruntime sorts it; onnx.checker's complaint is a finding.
    FindingCase("nodes-out-of-order", edited(_unsorted), "SCH204", 1),
    # onnx's shape inference crashes on it: run in a child, the crash becomes SCH206 (warning)
    # and the rest of the report still comes out.
    FindingCase("shape-inference-segfault", _inference_crash, "SCH206", 1),
]
