"""Read a TFLite flatbuffer as data: operator codes (builtin and custom), per subgraph, and the
main subgraph's input and output tensors.

The flatbuffer is decoded with TensorFlow's generated schema module
(`tensorflow/lite/python/schema_py_generated.py`). That file depends only on the `flatbuffers`
package, so it is loaded straight from its path: importing it as
`tensorflow.lite.python.schema_py_generated` would first import all of tensorflow (~5 s) for
nothing this reader needs. The model is never handed to an interpreter.

Builtin options (e.g. ResizeBilinear's half_pixel_centers) become the node's attributes, named
as tf2onnx names them, so handler conditions can be checked as for TF nodes.

Op names follow tf2onnx's `read_tflite_model`: `TFL_<BUILTIN>` (from BuiltinCode, or
DeprecatedBuiltinCode for old files), `TFL_<custom code>` for custom ops; a Flex op
(`FlexFoo`, a TF op run by the Flex delegate) is reported as the TF op `Foo`.
"""

from __future__ import annotations

import functools
import importlib.util
import inspect
import re
from pathlib import Path
from types import ModuleType
from typing import Any

from analyzer.error_codes import TF_NO_GRAPH, TF_NOT_INSTALLED, TFLITE_CORRUPT
from analyzer.errors import InputError
from analyzer.limits import DEFAULT_MAX_FILE_BYTES
from analyzer.sources.tf_io import TfGraph, TfNode, TfTensor
from analyzer.sources.untrusted_file import read_untrusted_file

_PLACEHOLDER_FOR_GREATER = "PLACEHOLDER_FOR_GREATER_OP_CODES"


@functools.lru_cache(maxsize=1)
def schema() -> ModuleType:
    """TensorFlow's TFLite schema module, loaded by path (see the module docstring)."""
    spec = importlib.util.find_spec("tensorflow")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for folder in locations:
        path = Path(folder) / "lite" / "python" / "schema_py_generated.py"
        if path.is_file():
            loader_spec = importlib.util.spec_from_file_location("_onnx_preflight_tflite_schema",
                                                                 path)
            if loader_spec is None or loader_spec.loader is None:
                break
            module = importlib.util.module_from_spec(loader_spec)
            loader_spec.loader.exec_module(module)
            return module
    raise InputError(None, TF_NOT_INSTALLED,
                     "reading TFLite models needs tensorflow's TFLite schema; install the "
                     "'tensorflow' extra")


def _enum_names(cls: Any) -> dict[int, str]:
    return {v: k for k, v in vars(cls).items() if not k.startswith("_") and isinstance(v, int)}


def _op_names(fb: ModuleType, model: Any) -> dict[int, str]:
    builtin = _enum_names(fb.BuiltinOperator)
    names: dict[int, str] = {}
    for i in range(model.OperatorCodesLength()):
        code = model.OperatorCodes(i)
        name = builtin.get(code.DeprecatedBuiltinCode(), "")
        if name == _PLACEHOLDER_FOR_GREATER or not name:
            name = builtin.get(code.BuiltinCode(), f"UNKNOWN_{code.BuiltinCode()}")
        if name == "CUSTOM":
            custom = code.CustomCode()
            name = custom.decode("utf-8", "replace") if custom else "CUSTOM"
        names[i] = name
    return names


_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")
_NOT_FIELDS = ("Init", "GetRootAs")


@functools.lru_cache(maxsize=256)
def _option_fields(cls: type) -> tuple[tuple[str, str], ...]:
    """(accessor, snake_case attribute name) for an options table's scalar fields: the
    generated accessors that take no argument (vectors and sub-tables take an index or are
    *Length / *AsNumpy / *IsNone helpers and are skipped)."""
    out = []
    for name, member in vars(cls).items():
        if name.startswith("_") or name.startswith(_NOT_FIELDS) or not callable(member):
            continue
        if name.endswith(("Length", "AsNumpy", "IsNone")):
            continue
        try:
            params = inspect.signature(member).parameters
        except (TypeError, ValueError):
            continue
        if len(params) == 1:
            out.append((name, _CAMEL.sub("_", name).lower()))
    return tuple(out)


def _options(fb: ModuleType, option_names: dict[int, str], op: Any) -> dict[str, Any]:
    """The operator's builtin options as attributes named as tf2onnx names them (snake_case of
    the schema's field: `half_pixel_centers`, `align_corners`), scalars only: what handler
    conditions such as ResizeBilinear's read."""
    kind = option_names.get(op.BuiltinOptionsType(), "NONE")
    table = op.BuiltinOptions()
    cls = getattr(fb, kind, None)
    if kind == "NONE" or table is None or cls is None:
        return {}
    options = cls()
    options.Init(table.Bytes, table.Pos)
    attrs: dict[str, Any] = {}
    for accessor, name in _option_fields(cls):
        value = getattr(options, accessor)()
        if isinstance(value, bool | int | float):
            attrs[name] = value
    return attrs


def _tensor(fb: ModuleType, types: dict[int, str], graph: Any, index: int) -> TfTensor:
    t = graph.Tensors(index)
    name = (t.Name() or b"").decode("utf-8", "replace")
    if not t.ShapeSignatureIsNone():
        dims = t.ShapeSignatureAsNumpy().tolist()
    elif not t.ShapeIsNone():
        dims = t.ShapeAsNumpy().tolist()
    else:
        dims = []
    shape: list[int | str | None] = [int(d) if d >= 0 else None for d in dims]
    return TfTensor(name, types.get(t.Type(), "unknown").lower(),
                    shape)


def read_tflite(path: str | Path, inputs: list[str] | None = None,
                outputs: list[str] | None = None, *,
                max_file_bytes: int | None = DEFAULT_MAX_FILE_BYTES) -> TfGraph:
    """Every operator of every subgraph (While / If bodies included), as tf2onnx names them.
    The flatbuffer is read whole: at most `max_file_bytes` (None: no limit)."""
    p = Path(path)
    data = bytearray(read_untrusted_file(p, "a TFLite model", max_file_bytes))
    fb = schema()
    if len(data) < 8 or bytes(data[4:8]) != b"TFL3":
        raise InputError(p, TFLITE_CORRUPT,
                         "not a TFLite flatbuffer (file identifier 'TFL3' missing)")
    try:
        model = fb.Model.GetRootAs(data, 0)
        names = _op_names(fb, model)
        types = _enum_names(fb.TensorType)
        option_names = _enum_names(fb.BuiltinOptions)
        nodes: list[TfNode] = []
        all_tensors: set[str] = set()
        for g in range(model.SubgraphsLength()):
            graph = model.Subgraphs(g)
            label = "" if g == 0 else (graph.Name() or b"").decode() or f"subgraph_{g}"
            for t in range(graph.TensorsLength()):
                all_tensors.add((graph.Tensors(t).Name() or b"").decode("utf-8", "replace"))
            for i in range(graph.OperatorsLength()):
                op = graph.Operators(i)
                code = names.get(op.OpcodeIndex(), f"UNKNOWN_OPCODE_{op.OpcodeIndex()}")
                out = op.Outputs(0) if op.OutputsLength() else -1
                node_name = (graph.Tensors(out).Name() or b"").decode() if out >= 0 else ""
                op_type = code[4:] if code.startswith("Flex") else f"TFL_{code}"
                nodes.append(TfNode(node_name or f"{label or 'main'}/{i}", op_type, label,
                                    _options(fb, option_names, op)))
        main = model.Subgraphs(0)
        ins = [_tensor(fb, types, main, main.Inputs(i)) for i in range(main.InputsLength())]
        outs = [_tensor(fb, types, main, main.Outputs(i)) for i in range(main.OutputsLength())]
        parameters = 0
        for t in range(main.TensorsLength()):
            tensor = main.Tensors(t)
            buffer = model.Buffers(tensor.Buffer()) if tensor.Buffer() > 0 else None
            if buffer is not None and buffer.DataLength() and not tensor.ShapeIsNone():
                count = 1
                for d in tensor.ShapeAsNumpy().tolist():
                    count *= max(int(d), 1)
                parameters += count
    except Exception as exc:  # noqa: BLE001 - any decode failure of foreign bytes is bad input
        # flatbuffers reads with struct.unpack_from: an offset past the end is struct.error
        what = "an offset points past its end" if type(exc).__name__ in (
            "error", "IndexError") else type(exc).__name__
        raise InputError(p, TFLITE_CORRUPT,
                         f"truncated or corrupt TFLite flatbuffer ({what})") from None
    if model.SubgraphsLength() == 0:
        raise InputError(p, TF_NO_GRAPH, "the TFLite model holds no subgraph")
    missing_in = [n for n in inputs or [] if n not in all_tensors]
    missing_out = [n for n in outputs or [] if n not in all_tensors]
    return TfGraph(kind="tflite", path=str(p), nodes=nodes, inputs=ins, outputs=outs,
                   tensor_names=all_tensors, parameters=parameters,
                   missing_inputs=missing_in, missing_outputs=missing_out)
