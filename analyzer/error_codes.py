"""The registry of input-error codes: what each `InputError` code means and who raises it.

Codes are stable: CI scripts match on them, and a code is never reused for another meaning.
`analyzer.errors.InputError` refuses a code that is not registered here, and docs/errors.md is
generated from this registry (`python -m analyzer.registry_docs --write`). Every input error
exits the CLI with status 2.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

#: Where a code is documented: the ONNX loader's checks (in the order they run), the other
#: commands and loaders, or the TensorFlow sources.
Group = Literal["onnx", "other", "tf"]

_CODE = re.compile(r"^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$")


class UnknownErrorCode(LookupError):
    """A code that is not in the registry: a typo, or a new failure whose code was not
    registered."""

    def __init__(self, code: object) -> None:
        super().__init__(f"unknown input-error code {code!r}: every code must be registered in "
                         "analyzer/error_codes.py (and docs/errors.md regenerated)")
        self.code = code


@dataclass(frozen=True)
class ErrorCode:
    """One input-error code: a short title, what it means (docs text), the modules that raise
    it (`raised_by`, empty for the ONNX loader's own) and an example message."""

    code: str
    group: Group
    title: str
    doc: str
    raised_by: tuple[str, ...] = ()
    example: str = ""

    def __post_init__(self) -> None:
        if not _CODE.match(self.code):
            raise ValueError(f"input-error code {self.code!r} is not UPPER_SNAKE_CASE")


_CODES: dict[str, ErrorCode] = {}


def _register(code: ErrorCode) -> ErrorCode:
    if code.code in _CODES:
        raise ValueError(f"input-error code {code.code} registered twice")
    _CODES[code.code] = code
    return code


# ---- the ONNX loader, in the order its checks run ------------------------------------------------

FILE_NOT_FOUND: ErrorCode = _register(ErrorCode(
    "FILE_NOT_FOUND", "onnx",
    title="no such file",
    doc=("the path does not exist (or is a broken symlink); suggests `X.onnx` when `X` has no "
         "suffix"),
    example="model: no such file; did you mean m/model.onnx?",
))


IS_DIRECTORY: ErrorCode = _register(ErrorCode(
    "IS_DIRECTORY", "onnx",
    title="a directory, not a file",
    doc=("a directory was given; names its `.onnx` file when it holds exactly one, or says it "
         "looks like a SavedModel"),
    example="m: is a directory; did you mean m/model.onnx?",
))


NOT_A_FILE: ErrorCode = _register(ErrorCode(
    "NOT_A_FILE", "onnx",
    title="a pipe, socket or device",
    doc=("a named pipe, socket or device: refused before it is opened, so it cannot block or "
         "stream forever"),
    example="m.onnx: is a named pipe (FIFO), not a regular file; an ONNX model must be a file",
))


UNREADABLE: ErrorCode = _register(ErrorCode(
    "UNREADABLE", "onnx",
    title="cannot read the file",
    doc=("the file exists but cannot be read (permissions, I/O error), or it changed while being "
         "read (its size, modification time or inode differ between the check and the end of the "
         "read: another process is writing it)"),
    example="m.onnx: cannot read the file (Permission denied)",
))


FILE_TOO_LARGE: ErrorCode = _register(ErrorCode(
    "FILE_TOO_LARGE", "onnx",
    title="file over --max-file-size",
    doc=("the file (or an in-memory model's serialized size) exceeds `max_file_bytes` "
         "(`--max-file-size`, default 4 GiB; external data is never read and does not count)"),
    example=("m.onnx: file is 1.2 KiB (1223 bytes), over the limit of 100 bytes (file size); "
             "raise it with --max-file-size BYTES (max_file_bytes= in the Python API)"),
))


PROTOBUF_TOO_LARGE: ErrorCode = _register(ErrorCode(
    "PROTOBUF_TOO_LARGE", "onnx",
    title="over protobuf's 2 GiB limit",
    doc=("the file is 2 GiB or more: protobuf cannot parse one message that large; refused after "
         "reading 16 bytes"),
    example=("m.onnx: file is 3.0 GiB (3221225472 bytes), over protobuf's 2 GiB limit for one "
             "message; save the model with external data (...)"),
))


EMPTY_FILE: ErrorCode = _register(ErrorCode(
    "EMPTY_FILE", "onnx",
    title="empty file",
    doc="the file has 0 bytes (which protobuf would happily parse as an empty model)",
    example="m.onnx: file is empty (0 bytes), not an ONNX model",
))


WRONG_FORMAT: ErrorCode = _register(ErrorCode(
    "WRONG_FORMAT", "onnx",
    title="another file format",
    doc=("the bytes are recognisably another format: PyTorch checkpoint (zip or legacy pickle), "
         "TorchScript, ExportedProgram, Python pickle, HDF5 (Keras .h5), Keras v3 zip, TFLite, "
         "ONNX Runtime `.ort`, NumPy `.npy`/`.npz`, safetensors, GGUF, gzip, SavedModel "
         "`saved_model.pb`, a serialized ONNX `TensorProto`, ONNX text syntax, text-format "
         "protobuf, JSON/XML/text. Nothing is unpickled or extracted"),
    example=("ckpt.onnx: looks like a PyTorch checkpoint (zip, data.pkl), not an ONNX model; "
             "export the nn.Module to ONNX first, or analyze the module (onnx-preflight analyze "
             "package.module:factory)"),
))


CORRUPT_PROTOBUF: ErrorCode = _register(ErrorCode(
    "CORRUPT_PROTOBUF", "onnx",
    title="corrupt protobuf",
    doc=("the bytes are not a valid protobuf: truncated, random, or damaged; when a top-level "
         "field runs past the end, says so. Also a string field (op type, domain, a value name) "
         "that is not UTF-8, which protobuf hands back as bytes (found by fuzzing)"),
    example=("m.onnx: truncated or corrupt ONNX protobuf (Error parsing message with type "
             "'onnx.ModelProto': Wire format was corrupt); the graph field needs 1212 bytes but "
             "only 606 remain: the file looks truncated"),
))


NOT_A_MODEL: ErrorCode = _register(ErrorCode(
    "NOT_A_MODEL", "onnx",
    title="protobuf without a graph",
    doc=("the bytes parse as a ModelProto but it has no graph (typically another protobuf "
         "message, e.g. a serialized GraphProto)"),
    example=("g.onnx: parses as protobuf but has no graph and ir_version 0: not an ONNX model "
             "(another protobuf message, e.g. a serialized GraphProto or NodeProto?)"),
))


NESTING_TOO_DEEP: ErrorCode = _register(ErrorCode(
    "NESTING_TOO_DEEP", "onnx",
    title="subgraphs nest too deep",
    doc=("subgraphs (If/Loop/Scan bodies) nest deeper than `max_subgraph_depth` "
         "(`--max-subgraph-depth`, default 32; the main graph is level 0), or deeper than "
         "protobuf's decoder allows (about 32 levels in a file, whatever the flag); the depth is "
         "measured iteratively from the raw bytes when the decoder refuses them"),
    example=("m.onnx: subgraph nesting depth 40 exceeds the limit 32 (deepest at attribute "
             "'body' of Loop 'loop38'); raise it with --max-subgraph-depth N "
             "(max_subgraph_depth= in the Python API)"),
))


IR_VERSION_INVALID: ErrorCode = _register(ErrorCode(
    "IR_VERSION_INVALID", "onnx",
    title="ir_version missing or negative",
    doc="`ir_version` is missing (0) or negative",
    example=("m.onnx: ir_version is missing (0); every ONNX model must record an IR version of 1 "
             "or more"),
))


IR_VERSION_TOO_NEW: ErrorCode = _register(ErrorCode(
    "IR_VERSION_TOO_NEW", "onnx",
    title="ir_version newer than onnx",
    doc="`ir_version` is newer than the installed onnx supports (`onnx.IR_VERSION`)",
    example=("m.onnx: ir_version 15 is newer than the installed onnx 1.23.2 supports (up to 14); "
             "upgrade onnx or re-export with an older IR"),
))


OPSET_INVALID: ErrorCode = _register(ErrorCode(
    "OPSET_INVALID", "onnx",
    title="opset version 0 or less",
    doc="an opset import (of the model or of a local function) has version 0 or less",
    example="m.onnx: the model imports opset 0 for domain '' (ai.onnx); opset versions start at 1",
))


OPSET_DUPLICATE: ErrorCode = _register(ErrorCode(
    "OPSET_DUPLICATE", "onnx",
    title="a domain imported twice",
    doc="one opset_import list imports the same domain at two different versions",
    example="m.onnx: the model imports domain '' (ai.onnx) twice, at versions 13 and 17",
))


OPSET_TOO_NEW: ErrorCode = _register(ErrorCode(
    "OPSET_TOO_NEW", "onnx",
    title="opset newer than onnx",
    doc=("an opset import of an ONNX domain (`''`/`ai.onnx`, `ai.onnx.ml`, "
         "`ai.onnx.preview.training`, `ai.onnx.preview`) is newer than the installed onnx knows. "
         "Custom domains are not judged here"),
    example=("m.onnx: the model imports opset 999 for domain '' (ai.onnx), newer than the "
             "installed onnx 1.23.2 knows (up to 28)"),
))


TOO_MANY_NODES: ErrorCode = _register(ErrorCode(
    "TOO_MANY_NODES", "onnx",
    title="more nodes than --max-nodes",
    doc=("the model has more nodes than `max_nodes` (`--max-nodes`, default 5,000,000), counting "
         "every subgraph and local function"),
    example=("m.onnx: model has more than 20 nodes (counting subgraphs and local functions), "
             "over the node count limit; raise it with --max-nodes N (max_nodes= in the Python "
             "API)"),
))


ATTRIBUTE_INVALID: ErrorCode = _register(ErrorCode(
    "ATTRIBUTE_INVALID", "onnx",
    title="attribute that crashes onnx",
    doc=("an attribute value outside the spec that crashes or exhausts onnx's own shape "
         "inference (`analyzer/sources/onnx_attr_guard.py`, each rule found by fuzzing): "
         "`GatherND` with `batch_dims < 0` (a segmentation fault), `Split` whose `num_outputs` "
         "differs from its output count (2^31 allocates for minutes)"),
    example=("m.onnx: GatherND 'g' in the main graph: attribute batch_dims is -3; the spec "
             "requires batch_dims >= 0 (onnx's shape inference cannot take it)"),
))


OPSET_MISSING: ErrorCode = _register(ErrorCode(
    "OPSET_MISSING", "onnx",
    title="no opset import for the default domain",
    doc=("nodes of the default domain exist (in the graphs, or in a local function) without an "
         "opset import for it; or the model imports no opset at all (IR >= 3), which onnx and "
         "onnxruntime refuse"),
    example=("m.onnx: no opset import for the default domain '' (ai.onnx) but 2 node(s) use it "
             "(e.g. MatMul 'matmul')"),
))


GRAPH_DUPLICATE_OUTPUT: ErrorCode = _register(ErrorCode(
    "GRAPH_DUPLICATE_OUTPUT", "onnx",
    title="a value defined twice",
    doc=("a value is defined twice in one graph (two nodes write the same name, or a node writes "
         "over a graph input or initializer): its type, and so the kernel choice, would be "
         "ambiguous; every runtime refuses it"),
    example=("m.onnx: 'XW' in the main graph is defined twice: by MatMul 'matmul' and by Relu "
             "'relu'; every value must have exactly one producer"),
))


GRAPH_CYCLE: ErrorCode = _register(ErrorCode(
    "GRAPH_CYCLE", "onnx",
    title="graph has a cycle",
    doc=("the nodes of a graph (or function body) form a cycle, also through a subgraph that "
         "reads a value its own node produces; the cycle is named. Nodes merely out of order "
         "(acyclic) are not an input error: onnx.checker reports them (SCH204) and onnxruntime "
         "sorts them"),
    example=("m.onnx: the main graph has a cycle: Relu 'relu' -> MatMul 'matmul' -> Relu 'relu'; "
             "an ONNX graph must be acyclic"),
))


GRAPH_DANGLING_INPUT: ErrorCode = _register(ErrorCode(
    "GRAPH_DANGLING_INPUT", "onnx",
    title="reads an undefined value",
    doc=("a node (or a graph output) reads a value that no node, graph input, initializer or "
         "enclosing graph defines; a subgraph may read its enclosing graphs' values (ONNX "
         "scoping)"),
    example=("m.onnx: Relu 'relu' in the main graph reads 'nowhere', which no node, input or "
             "initializer defines"),
))


EXTERNAL_DATA_NEEDS_PATH: ErrorCode = _register(ErrorCode(
    "EXTERNAL_DATA_NEEDS_PATH", "onnx",
    title="in-memory model with external data",
    doc=("a ModelProto given in memory references external data: without the model's folder it "
         "cannot be located"),
    example=("in-memory model has 1 tensor(s) in external data (e.g. 'W'), and external data "
             "needs the model's path; pass the file path"),
))


EXTERNAL_DATA_INVALID: ErrorCode = _register(ErrorCode(
    "EXTERNAL_DATA_INVALID", "onnx",
    title="invalid external data fields",
    doc=("a tensor marked external has no `location`, a NUL byte in it, or an `offset`/`length` "
         "that is not a non-negative integer"),
    example="m.onnx: external data offset '-1' of tensor 'W' is not a non-negative integer",
))


EXTERNAL_DATA_OUTSIDE_FOLDER: ErrorCode = _register(ErrorCode(
    "EXTERNAL_DATA_OUTSIDE_FOLDER", "onnx",
    title="external data outside the model's folder",
    doc=("the location is absolute, contains `..`, or resolves (through a symlink) outside the "
         "model's folder"),
    example="m.onnx: external data location '../w.bin' of tensor 'W' leaves the model's folder",
))


EXTERNAL_DATA_MISSING: ErrorCode = _register(ErrorCode(
    "EXTERNAL_DATA_MISSING", "onnx",
    title="external data file missing",
    doc="the external data file does not exist",
    example="m.onnx: external data location 'w.bin' of tensor 'W': no such file next to the model",
))


EXTERNAL_DATA_NOT_A_FILE: ErrorCode = _register(ErrorCode(
    "EXTERNAL_DATA_NOT_A_FILE", "onnx",
    title="external data location not a file",
    doc="the location names a directory, pipe or device",
    example="m.onnx: external data location 'w.bin' of tensor 'W' is a directory, not a file",
))


EXTERNAL_DATA_HARD_LINK: ErrorCode = _register(ErrorCode(
    "EXTERNAL_DATA_HARD_LINK", "onnx",
    title="external data file hard-linked",
    doc=("the external data file has more than one hard link: a hard link may share the data of "
         "a file outside the folder and cannot be told apart from it by path, so it is refused"),
    example=("m.onnx: external data location 'w.bin' of tensor 'W' is a file with 2 hard links; "
             "a hard link may share its data with a file outside the model's folder and cannot "
             "be told apart from it, so it is refused (copy the file instead)"),
))


EXTERNAL_DATA_UNREADABLE: ErrorCode = _register(ErrorCode(
    "EXTERNAL_DATA_UNREADABLE", "onnx",
    title="external data file unreadable",
    doc="the external data file exists but cannot be accessed",
    example="m.onnx: external data location 'w.bin' of tensor 'W': permission denied",
))


EXTERNAL_DATA_OUT_OF_BOUNDS: ErrorCode = _register(ErrorCode(
    "EXTERNAL_DATA_OUT_OF_BOUNDS", "onnx",
    title="external data past the end of its file",
    doc="`offset` (+ `length`) lies past the end of the data file",
    example=("m.onnx: external data of tensor 'W' at bytes 64..1088 lies past the end of 'w.bin' "
             "(1024 bytes)"),
))


EXTERNAL_DATA_SIZE_MISMATCH: ErrorCode = _register(ErrorCode(
    "EXTERNAL_DATA_SIZE_MISMATCH", "onnx",
    title="external data of the wrong size",
    doc=("the stored byte count differs from what the tensor's type and shape need (onnxruntime "
         "refuses such a model)"),
    example=("m.onnx: external data of tensor 'W' in 'w.bin' is 512 bytes, but a FLOAT tensor of "
             "shape 16x16 needs 1024"),
))


# ---- the other commands and loaders --------------------------------------------------------------

USAGE: ErrorCode = _register(ErrorCode(
    "USAGE", "other",
    title="bad argument",
    doc="an argument makes no sense (e.g. `--opset 0`, an unknown provider)",
    raised_by=("analyzer.cli",),
))


OPSET_OUT_OF_RANGE: ErrorCode = _register(ErrorCode(
    "OPSET_OUT_OF_RANGE", "other",
    title="an opset onnx does not know",
    doc=("`--opset` / `--target-opset` (`opset=` / `target_opset=` in the Python API) below 1 or "
         "above the newest ai.onnx opset of the installed onnx (`onnx.defs.onnx_opset_version()`)"),
    raised_by=("analyzer.limits",),
    example="--opset 99: onnx 1.23.2 knows ai.onnx opsets 1 to 28",
))


INPUT_TOO_LARGE: ErrorCode = _register(ErrorCode(
    "INPUT_TOO_LARGE", "other",
    title="an input too large to allocate",
    doc=("an example or random input (verify, bench, the PyTorch export's `--input`) would need "
         "more bytes than `--max-input-bytes` (default: a quarter of the machine's memory); "
         "checked before anything is allocated"),
    raised_by=("analyzer.limits",),
    example=("m.onnx: input 'x' of shape [1099511627776, 8] (float32) needs 32.0 TiB "
             "(35184372088832 bytes), over the limit of 4.0 GiB; raise it with "
             "--max-input-bytes BYTES (max_input_bytes= in the Python API)"),
))


OUTPUT_PATH: ErrorCode = _register(ErrorCode(
    "OUTPUT_PATH", "other",
    title="bad output path",
    doc="the output path is a directory, or its folder does not exist",
    raised_by=("analyzer.cli", "analyzer.safe_write"),
))


OUTPUT_IS_INPUT: ErrorCode = _register(ErrorCode(
    "OUTPUT_IS_INPUT", "other",
    title="output is an input",
    doc=("the output path (`-o`, `--report`, `--plot`, external data beside an output model) is "
         "one of the command's input files: the same path, a symlink to it or a hard link to it "
         "(same device and inode); nothing is written"),
    raised_by=("analyzer.safe_write",),
))


UNKNOWN_OP: ErrorCode = _register(ErrorCode(
    "UNKNOWN_OP", "other",
    title="op in no table",
    doc="the op asked about is in no table",
    raised_by=("analyzer.cli.opsets",),
))


TORCH_FACTORY_NOT_FOUND: ErrorCode = _register(ErrorCode(
    "TORCH_FACTORY_NOT_FOUND", "other",
    title="factory not found",
    doc="`package.module:factory`: the module cannot be imported or has no such attribute",
    raised_by=("analyzer.sources.torch_spec",),
))


TORCH_FACTORY_FAILED: ErrorCode = _register(ErrorCode(
    "TORCH_FACTORY_FAILED", "other",
    title="factory raised",
    doc="importing the module or calling the factory raised (the exception's type and first line)",
    raised_by=("analyzer.sources.torch_spec",),
))


TORCH_FACTORY_INVALID: ErrorCode = _register(ErrorCode(
    "TORCH_FACTORY_INVALID", "other",
    title="factory returned no module",
    doc="the factory returned something other than an nn.Module or a (module, example_inputs) pair",
    raised_by=("analyzer.sources.torch_spec",),
))


TORCH_INPUTS_MISMATCH: ErrorCode = _register(ErrorCode(
    "TORCH_INPUTS_MISMATCH", "other",
    title="module fails on the example inputs",
    doc=("the module cannot run on the example inputs (`--input` or the factory's own): one "
         "eager forward call in eval mode, before any capture, fails (wrong rank, width, dtype "
         "or count); the exception's first line"),
    raised_by=("analyzer.sources.torch_inputs",),
))


TORCH_WEIGHTS_UNSAFE: ErrorCode = _register(ErrorCode(
    "TORCH_WEIGHTS_UNSAFE", "other",
    title="checkpoint would run code",
    doc=("`--weights`: the checkpoint holds globals that `torch.load(weights_only=True)` refuses "
         "(a pickle whose `__reduce__` would run code); it is named (read from the pickle's "
         "opcodes by `pickletools`, which executes nothing) and nothing in the file ran"),
    raised_by=("analyzer.sources.torch_weights",),
))


TORCH_WEIGHTS_INVALID: ErrorCode = _register(ErrorCode(
    "TORCH_WEIGHTS_INVALID", "other",
    title="not a state dict checkpoint",
    doc=("`--weights`: not a readable checkpoint (truncated, random bytes), or it holds no state "
         "dict of tensors (also under `state_dict` / `model_state_dict` / `model`)"),
    raised_by=("analyzer.sources.torch_weights",),
))


TORCH_WEIGHTS_MISMATCH: ErrorCode = _register(ErrorCode(
    "TORCH_WEIGHTS_MISMATCH", "other",
    title="state dict does not fit the module",
    doc=("`--weights`: the state dict does not fit the module (missing or unexpected keys, shape "
         "mismatch)"),
    raised_by=("analyzer.sources.torch_weights",),
))


PROVIDER_UNAVAILABLE: ErrorCode = _register(ErrorCode(
    "PROVIDER_UNAVAILABLE", "other",
    title="provider not in this onnxruntime",
    doc=("`bench` / `verify`: a requested execution provider is not in this onnxruntime build "
         "(or, in `bench`, ORT silently fell back to CPU)"),
    raised_by=("analyzer.runtime.session",),
))


BENCH_SESSION: ErrorCode = _register(ErrorCode(
    "BENCH_SESSION", "other",
    title="onnxruntime refuses the model",
    doc="onnxruntime refuses to create a session for the model (its first line)",
    raised_by=("analyzer.runtime.bench",),
))


BENCH_INPUTS: ErrorCode = _register(ErrorCode(
    "BENCH_INPUTS", "other",
    title="inputs do not match the model",
    doc=("the given inputs (.npz) do not match the model's inputs: a name the model lacks, a "
         "wrong dtype, rank or fixed dimension (the model's inputs are listed)"),
    raised_by=("analyzer.runtime.bench",),
))


VERIFY_SESSION: ErrorCode = _register(ErrorCode(
    "VERIFY_SESSION", "other",
    title="onnxruntime cannot load the model",
    doc=("`verify`: onnxruntime cannot create a session for the model on a provider (e.g. no "
         "kernel for an opset below 7); its first line"),
    raised_by=("analyzer.runtime.verify",),
))


VERIFY_RUN: ErrorCode = _register(ErrorCode(
    "VERIFY_RUN", "other",
    title="onnxruntime failed to run",
    doc="`verify`: onnxruntime created the session but the run failed; its first line",
    raised_by=("analyzer.runtime.verify",),
))


VERIFY_INPUTS: ErrorCode = _register(ErrorCode(
    "VERIFY_INPUTS", "other",
    title="unreadable inputs",
    doc=("`verify --inputs`: not an .npz file or a test-data folder, an .npz that cannot be "
         "read, or one that lacks some of the model's inputs; an `--input` name or `.npz` key "
         "the model lacks, or a `--dim` symbol no input has (the model's inputs are listed)"),
    raised_by=("analyzer.runtime.verify", "analyzer.runtime.inputs"),
))


VERIFY_TEST_DATA: ErrorCode = _register(ErrorCode(
    "VERIFY_TEST_DATA", "other",
    title="bad test-data folder",
    doc=("`verify`: a test-data folder (onnx backend-test layout) that does not exist, has no "
         "`test_data_set_N` folders, holds a file that is not a TensorProto or a count of "
         "`input_K.pb` files that differs from the model's inputs; or the reference is "
         "`expected` and there are no expected outputs"),
    raised_by=("analyzer.runtime.verify", "analyzer.runtime.inputs"),
))


VERIFY_INPUT_SHAPE: ErrorCode = _register(ErrorCode(
    "VERIFY_INPUT_SHAPE", "other",
    title="input shape does not fit",
    doc=("`verify`: random inputs are asked for but a model input has no shape (give it with "
         "`--input NAME:DTYPE[D0,...]`), or given data or `--input` has the wrong rank or a "
         "wrong fixed dimension (the model's inputs are listed)"),
    raised_by=("analyzer.runtime.inputs",),
))


VERIFY_INPUT_TYPE: ErrorCode = _register(ErrorCode(
    "VERIFY_INPUT_TYPE", "other",
    title="input type does not fit",
    doc=("`verify`: random inputs are asked for but a model input is not a tensor (give the data "
         "with `--inputs`), or given data or `--input` has another dtype than the model's input "
         "(the model's inputs are listed)"),
    raised_by=("analyzer.runtime.inputs",),
))


VERIFY_REFERENCE: ErrorCode = _register(ErrorCode(
    "VERIFY_REFERENCE", "other",
    title="unusable reference",
    doc=("`verify`: the reference is none of a file, folder, provider or the evaluator; "
         "onnx.reference, TensorFlow or torch.export cannot load or capture it; or a SavedModel "
         "reference lacks the signature"),
    raised_by=("analyzer.runtime.verify", "analyzer.runtime.tf_reference", "analyzer.cli.verify"),
))


VERIFY_LOCALIZE: ErrorCode = _register(ErrorCode(
    "VERIFY_LOCALIZE", "other",
    title="cannot localize",
    doc=("`verify --localize`: onnx.reference cannot run the model with its intermediates "
         "exposed; reported as a note (`localize: not possible`), the verify result stands"),
    raised_by=("analyzer.runtime.verify",),
))


ORT_SESSION_CRASHED: ErrorCode = _register(ErrorCode(
    "ORT_SESSION_CRASHED", "other",
    title="session creation crashed (isolated)",
    doc=("`verify` / `bench` (`--isolate`, the default): onnxruntime crashed (signal N), hung "
         "past `--time-limit` or ran out of `--memory-limit` creating the model's session in a "
         "child process, before the run creates its own"),
    raised_by=("analyzer.runtime.session", "analyzer.cli.session_guard"),
))


BATCH_NO_MODELS: ErrorCode = _register(ErrorCode(
    "BATCH_NO_MODELS", "other",
    title="argument names no model",
    doc="batch `analyze`: a directory or glob pattern names no .onnx file (a row; exit 2)",
    raised_by=("analyzer.workflows.batch",),
))


WORKER_CRASHED: ErrorCode = _register(ErrorCode(
    "WORKER_CRASHED", "other",
    title="batch worker died",
    doc=("batch `analyze`: the worker process died on this model, also when rerun alone (a crash "
         "in native code, or the OS killed it)"),
    raised_by=("analyzer.workflows.batch",),
))


INTERNAL: ErrorCode = _register(ErrorCode(
    "INTERNAL", "other",
    title="internal error on one model",
    doc=("batch `analyze`: an unexpected exception on one model (its type and first line); the "
         "others go on"),
    raised_by=("analyzer.workflows.batch",),
))


SCAN_NO_SOURCES: ErrorCode = _register(ErrorCode(
    "SCAN_NO_SOURCES", "other",
    title="scan argument names no source",
    doc=("`scan`: a SOURCE (file, folder, glob) or a manifest entry names no model the scan can "
         "read: no such file, no .onnx / TensorFlow file below a folder, or a glob that matches "
         "nothing (exit 2, before any cell runs)"),
    raised_by=("analyzer.workflows.scan.sources",),
))


SCAN_MANIFEST: ErrorCode = _register(ErrorCode(
    "SCAN_MANIFEST", "other",
    title="bad scan manifest",
    doc=("`scan --manifest`: the TOML file cannot be parsed, or an entry lacks `source` or has a "
         "field of the wrong type (the message names the entry)"),
    raised_by=("analyzer.workflows.scan.manifest",),
))


SCAN_NOT_RESUMABLE: ErrorCode = _register(ErrorCode(
    "SCAN_NOT_RESUMABLE", "other",
    title="nothing to resume",
    doc=("`scan --resume`: the output folder holds no scan plan (scan.json) to continue, or "
         "SOURCE arguments were given as well"),
    raised_by=("analyzer.workflows.scan.plan",),
))


RAY_NOT_INSTALLED: ErrorCode = _register(ErrorCode(
    "RAY_NOT_INSTALLED", "other",
    title="ray not installed",
    doc="`scan --executor ray`: ray is not installed (pip install 'onnx-preflight[scale]')",
    raised_by=("analyzer.workflows.scan.executors",),
))


# ---- TensorFlow sources --------------------------------------------------------------------------

TF_NOT_INSTALLED: ErrorCode = _register(ErrorCode(
    "TF_NOT_INSTALLED", "tf",
    title="tensorflow not installed",
    doc="tensorflow (or its TFLite schema) is not installed",
    raised_by=("analyzer.sources.tf_io",),
))


TF_UNKNOWN_SOURCE: ErrorCode = _register(ErrorCode(
    "TF_UNKNOWN_SOURCE", "tf",
    title="not a TensorFlow source",
    doc="the path is none of: SavedModel folder, `.pb`, `.meta`, `.tflite`, `.keras`, `.h5`",
    raised_by=("analyzer.workflows.tf_preflight",),
))


TF_CORRUPT_PROTOBUF: ErrorCode = _register(ErrorCode(
    "TF_CORRUPT_PROTOBUF", "tf",
    title="corrupt TensorFlow protobuf",
    doc="a `.pb` / `saved_model.pb` / `.meta` does not parse as its protobuf",
    raised_by=("analyzer.sources.tf_graph",),
))


TF_NO_GRAPH: ErrorCode = _register(ErrorCode(
    "TF_NO_GRAPH", "tf",
    title="protobuf without a graph",
    doc=("the protobuf parses but holds no graph (says when a `.pb` is really a SavedModel's "
         "`saved_model.pb`)"),
    raised_by=("analyzer.sources.tf_graph", "analyzer.sources.tflite_graph"),
))


TF_SIGNATURE_NOT_FOUND: ErrorCode = _register(ErrorCode(
    "TF_SIGNATURE_NOT_FOUND", "tf",
    title="no such signature",
    doc=("`--signature` names no signature, or there is no `serving_default` and several others; "
         "lists them"),
    raised_by=("analyzer.sources.tf_graph",),
))


TF_CHECKPOINT_DATA_MISSING: ErrorCode = _register(ErrorCode(
    "TF_CHECKPOINT_DATA_MISSING", "tf",
    title="checkpoint data missing",
    doc="a `.meta` without its `.index` / data files next to it",
    raised_by=("analyzer.sources.tf_graph",),
))


TFLITE_CORRUPT: ErrorCode = _register(ErrorCode(
    "TFLITE_CORRUPT", "tf",
    title="not a TFLite flatbuffer",
    doc="not a TFLite flatbuffer (no `TFL3` identifier) or truncated",
    raised_by=("analyzer.sources.tflite_graph",),
))


KERAS_UNSAFE_LAYER: ErrorCode = _register(ErrorCode(
    "KERAS_UNSAFE_LAYER", "tf",
    title="Keras Lambda layer refused",
    doc="the model holds a Lambda layer (Python code); refused before Keras loads it (safe mode)",
    raised_by=("analyzer.sources.keras_source",),
))


KERAS_LOAD_FAILED: ErrorCode = _register(ErrorCode(
    "KERAS_LOAD_FAILED", "tf",
    title="Keras cannot load the file",
    doc="Keras cannot load the file (weights-only .h5, unknown layer, damaged archive)",
    raised_by=("analyzer.sources.keras_source",),
))


KERAS_TRACE_FAILED: ErrorCode = _register(ErrorCode(
    "KERAS_TRACE_FAILED", "tf",
    title="Keras tracing failed",
    doc="tracing the model into a concrete function failed",
    raised_by=("analyzer.sources.keras_source",),
))



#: Every registered code, in the docs' order.
ERROR_CODES: Mapping[str, ErrorCode] = MappingProxyType(dict(_CODES))


def error_code(code: str) -> ErrorCode:
    """The registered entry of `code`; `UnknownErrorCode` for any other string."""
    try:
        return ERROR_CODES[code]
    except (KeyError, TypeError):
        raise UnknownErrorCode(code) from None
