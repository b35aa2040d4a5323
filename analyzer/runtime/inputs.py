"""Input data for verification: seeded random tensors shaped from the model's graph inputs, a
user's .npz, or the onnx test-data layout (test_data_set_N/input_K.pb, output_K.pb).

Random integer inputs stay in a small valid range ([0, 16)) or, where the input indexes an
embedding table held as an initializer, below the table's row count, so Gather never reads
out of bounds. Dynamic dimensions default to 1 and every default is reported as a note.
An integer input that indexes something the graph computes (a Gather / ScatterElements index
into an activation) has no bound to read off: `runnable_inputs` runs the model on the default
draw and, when it cannot run, draws the integer inputs again from a smaller range, then zeros.

What the caller names is checked against the model before anything runs (`check_names`,
`check_dims`, `check_feeds`): an input the model lacks, a `--dim` symbol no input has, a wrong
rank, fixed dimension or dtype is bad input whose one line lists the model's real inputs with
their types and shapes (onnxruntime's own message for these is long and cut short)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

import numpy as np
import onnx
from onnx import numpy_helper

from analyzer.error_codes import (
    USAGE,
    VERIFY_INPUT_SHAPE,
    VERIFY_INPUT_TYPE,
    VERIFY_INPUTS,
    VERIFY_TEST_DATA,
    ErrorCode,
)
from analyzer.errors import InputError
from analyzer.limits import DEFAULT_MAX_INPUT_BYTES, PlannedInput, check_input_bytes

DEFAULT_DIM = 1
INT_HIGH = 16
#: Integer inputs are drawn below these, in turn, when the model cannot run on the default draw
#: (an index into an axis shorter than INT_HIGH): [0, 2), then all zeros, which every
#: non-empty axis accepts.
INT_FALLBACK_HIGHS: tuple[int, ...] = (2, 1)

Feeds = dict[str, np.ndarray]


@dataclass
class InputSet:
    """The samples to run (one feed dict each), expected outputs when the data shipped them,
    and how the data was made (notes are printed so defaults are never silent)."""

    samples: list[Feeds]
    expected: list[list[np.ndarray]] | None = None
    source: str = "random"
    notes: list[str] = field(default_factory=list)


def graph_inputs(model: onnx.ModelProto) -> list[onnx.ValueInfoProto]:
    """The inputs a caller feeds: graph inputs that are not initializers (IR < 4 lists both)."""
    inits = {i.name for i in model.graph.initializer}
    return [i for i in model.graph.input if i.name not in inits]


def _dims_text(vi: onnx.ValueInfoProto) -> str:
    tt = vi.type.tensor_type
    if not tt.HasField("shape"):
        return "[?]"
    return "[" + ",".join(str(d.dim_value) if d.HasField("dim_value") else (d.dim_param or "?")
                          for d in tt.shape.dim) + "]"


def _type_name(vi: onnx.ValueInfoProto) -> str:
    if not vi.type.HasField("tensor_type"):
        return vi.type.WhichOneof("value") or "?"
    try:
        return str(np.dtype(onnx.helper.tensor_dtype_to_np_dtype(vi.type.tensor_type.elem_type)))
    except (KeyError, TypeError, ValueError):
        return onnx.TensorProto.DataType.Name(vi.type.tensor_type.elem_type).lower()


def describe_inputs(model: onnx.ModelProto) -> str:
    """The model's inputs as `name dtype[dims]`, for error messages: 'x float32[N,3,224,224]'."""
    parts = [f"{vi.name} {_type_name(vi)}" + (_dims_text(vi) if vi.type.HasField(
        "tensor_type") else "") for vi in graph_inputs(model)]
    return "the model's inputs: " + (", ".join(parts) if parts else "none")


def check_names(model: onnx.ModelProto, names: Iterable[str], what: str,
                code: ErrorCode = VERIFY_INPUTS, where: str | os.PathLike[str] | None = None
                ) -> None:
    """Bad input when `names` (of `what`, e.g. '--input') include one the model lacks."""
    known = {vi.name for vi in graph_inputs(model)}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise InputError(where, code, f"{what} names {', '.join(map(repr, unknown))}, not an "
                         f"input of the model; {describe_inputs(model)}")


def dim_symbols(model: onnx.ModelProto) -> set[str]:
    """The symbols `--dim` can set: named dynamic dims, and `input[k]` for unnamed ones."""
    out: set[str] = set()
    for vi in graph_inputs(model):
        tt = vi.type.tensor_type
        if not vi.type.HasField("tensor_type") or not tt.HasField("shape"):
            continue
        for k, d in enumerate(tt.shape.dim):
            if not (d.HasField("dim_value") and d.dim_value >= 0):
                out.add(d.dim_param if d.HasField("dim_param") else f"{vi.name}[{k}]")
    return out


def check_dims(model: onnx.ModelProto, dims: Mapping[str, int]) -> None:
    """Bad input when a `--dim` symbol is none of the model's dynamic dimensions."""
    unknown = sorted(set(dims) - dim_symbols(model))
    if unknown:
        have = sorted(dim_symbols(model))
        raise InputError(None, VERIFY_INPUTS, f"--dim {', '.join(unknown)}: no input has that "
                         f"dimension (symbols: {', '.join(have) if have else 'none'}); "
                         f"{describe_inputs(model)}")


def check_feeds(model: onnx.ModelProto, feeds: Mapping[str, np.ndarray],
                where: str | os.PathLike[str] | None = None, *,
                names_code: ErrorCode = VERIFY_INPUTS, shape_code: ErrorCode = VERIFY_INPUT_SHAPE,
                type_code: ErrorCode = VERIFY_INPUT_TYPE) -> None:
    """Bad input when an array has a name the model lacks, or the wrong dtype, rank or fixed
    dimension for its input (symbolic dimensions take any size)."""
    check_names(model, feeds, "the data", names_code, where)
    for vi in graph_inputs(model):
        if vi.name not in feeds or not vi.type.HasField("tensor_type"):
            continue
        arr = np.asarray(feeds[vi.name])
        want = _type_name(vi)
        if arr.dtype.kind not in "OUS" and str(arr.dtype) != want:
            raise InputError(where, type_code, f"input {vi.name!r} is {arr.dtype}, the model "
                             f"takes {want}; {describe_inputs(model)}")
        _check_shape(model, vi, tuple(arr.shape), where, shape_code)


def _check_shape(model: onnx.ModelProto, vi: onnx.ValueInfoProto, shape: Sequence[int],
                 where: str | os.PathLike[str] | None, code: ErrorCode) -> None:
    tt = vi.type.tensor_type
    if not tt.HasField("shape"):
        return
    declared = list(tt.shape.dim)
    fixed = [d.dim_value if d.HasField("dim_value") else None for d in declared]
    wrong = len(shape) != len(declared) or any(
        f is not None and f != s for f, s in zip(fixed, shape, strict=False))
    if wrong:
        raise InputError(where, code, f"input {vi.name!r} has shape {list(shape)}, the model "
                         f"takes {_dims_text(vi)}; {describe_inputs(model)}")


def _embedding_limits(model: onnx.ModelProto) -> dict[str, int]:
    """Input name -> exclusive upper bound, for inputs used as Gather indices into an
    initializer (a vocabulary size read off the embedding table)."""
    inits = {i.name: list(i.dims) for i in model.graph.initializer}
    limits: dict[str, int] = {}
    for node in model.graph.node:
        if node.op_type != "Gather" or node.domain not in ("", "ai.onnx") or len(node.input) < 2:
            continue
        dims = inits.get(node.input[0])
        if not dims:
            continue
        axis = next((a.i for a in node.attribute if a.name == "axis"), 0)
        size = dims[axis if axis >= 0 else axis + len(dims)]
        name = node.input[1]
        limits[name] = min(limits.get(name, size), size)
    return limits


def _shape(model: onnx.ModelProto, vi: onnx.ValueInfoProto, dims: Mapping[str, int],
           shapes: Mapping[str, Sequence[int]], notes: list[str]) -> tuple[int, ...]:
    if vi.name in shapes:
        shape = tuple(int(d) for d in shapes[vi.name])
        _check_shape(model, vi, shape, None, VERIFY_INPUT_SHAPE)
        return shape
    tt = vi.type.tensor_type
    if not tt.HasField("shape"):
        raise InputError(None, VERIFY_INPUT_SHAPE,
                         f"input {vi.name!r} has no shape; give it with --input "
                         f"{vi.name}:DTYPE[D0,...]")
    out = []
    for k, d in enumerate(tt.shape.dim):
        if d.HasField("dim_value") and d.dim_value >= 0:
            out.append(d.dim_value)
            continue
        sym = d.dim_param if d.HasField("dim_param") else f"{vi.name}[{k}]"
        if sym in dims:
            out.append(int(dims[sym]))
        else:
            out.append(DEFAULT_DIM)
            note = f"input {vi.name}: dynamic dim {sym!r} set to {DEFAULT_DIM}"
            if note not in notes:
                notes.append(note)
    return tuple(out)


def _random(elem: int, shape: tuple[int, ...], rng: np.random.Generator, high: int) -> np.ndarray:
    dtype = onnx.helper.tensor_dtype_to_np_dtype(elem)
    if elem == onnx.TensorProto.BOOL:
        return rng.integers(0, 2, shape).astype(bool)
    if elem == onnx.TensorProto.STRING:
        return np.array(rng.integers(0, INT_HIGH, shape).astype(str), dtype=object)
    if np.issubdtype(dtype, np.integer):
        return rng.integers(0, high, shape).astype(dtype)
    if elem == onnx.TensorProto.BFLOAT16:
        return rng.standard_normal(shape).astype(np.float32).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def random_inputs(model: onnx.ModelProto, samples: int = 3, seed: int = 0, *,
                  dims: Mapping[str, int] | None = None,
                  shapes: Mapping[str, Sequence[int]] | None = None,
                  dtypes: Mapping[str, str] | None = None,
                  max_input_bytes: int | None = DEFAULT_MAX_INPUT_BYTES,
                  path: str | os.PathLike[str] | None = None,
                  only: Collection[str] | None = None,
                  int_high: int | None = None) -> InputSet:
    """`samples` seeded feed dicts; sample i uses seed + i, so one failing sample can be
    reproduced alone. `shapes` / `dtypes` (from `--input NAME:DTYPE[DIMS]`) and `dims` (from
    `--dim SYM=N`) must name the model's inputs and symbols, with its ranks and dtypes. `only`
    names the inputs to make (default: all). `int_high`: every integer input drawn below it
    (1: zeros) instead of below INT_HIGH or its embedding table's rows. Their size is checked
    before anything is allocated: past `max_input_bytes` (None or 0: no limit) it is bad input
    (INPUT_TOO_LARGE, naming `path`)."""
    if samples < 1:
        raise InputError(None, USAGE, f"--samples must be at least 1, got {samples}")
    check_names(model, list(shapes or {}) + [n for n in (dtypes or {}) if n not in (
        shapes or {})], "--input")
    check_dims(model, dims or {})
    by_name = {vi.name: vi for vi in graph_inputs(model)}
    for name, dtype in (dtypes or {}).items():
        want = _type_name(by_name[name])
        if ("float32" if dtype == "float" else dtype) != want:
            raise InputError(None, VERIFY_INPUT_TYPE, f"--input {name}: dtype {dtype}, the model "
                             f"takes {want}; {describe_inputs(model)}")
    notes: list[str] = []
    limits = _embedding_limits(model)
    specs = []
    for vi in graph_inputs(model):
        if only is not None and vi.name not in only:
            continue
        if not vi.type.HasField("tensor_type"):
            raise InputError(None, VERIFY_INPUT_TYPE,
                             f"input {vi.name!r} is not a tensor; give the data with --inputs")
        shape = _shape(model, vi, dims or {}, shapes or {}, notes)
        high = limits.get(vi.name, INT_HIGH)
        if int_high is not None:
            high = min(high, int_high)
        elif vi.name in limits:
            notes.append(f"integer input {vi.name!r} drawn below {high} (embedding rows)")
        specs.append((vi.name, vi.type.tensor_type.elem_type, shape, high))
    check_input_bytes(path, [_planned(n, e, s) for n, e, s, _ in specs], max_input_bytes,
                      samples)
    out = []
    for i in range(samples):
        rng = np.random.default_rng(seed + i)
        out.append({n: _random(e, s, rng, h) for n, e, s, h in specs})
    return InputSet(out, None, f"random (seed {seed}, {samples} samples)", notes)


T = TypeVar("T")


@dataclass
class Runnable(Generic[T]):
    """What `runnable_inputs` found: the inputs, and the model's outputs on them (`outputs`),
    or why the model runs on none of the draws (`error`: its failure on the default draw)."""

    inputs: InputSet
    outputs: T | None = None
    error: str | None = None


def integer_inputs(model: onnx.ModelProto) -> list[str]:
    """The graph inputs of an integer element type (bool excluded): the ones whose values can
    be out of range for what they index."""
    out = []
    for vi in graph_inputs(model):
        elem = vi.type.tensor_type.elem_type if vi.type.HasField("tensor_type") else 0
        if elem in (onnx.TensorProto.UNDEFINED, onnx.TensorProto.BOOL,
                    onnx.TensorProto.STRING):
            continue
        try:
            dtype = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(elem))
        except (KeyError, TypeError, ValueError):
            continue
        if np.issubdtype(dtype, np.integer):
            out.append(vi.name)
    return out


def runnable_inputs(model: onnx.ModelProto, run: Callable[[list[Feeds]], T], samples: int = 3,
                    seed: int = 0) -> Runnable[T]:
    """Seeded random inputs on which `model` runs, with its outputs (`run(samples)`; it raises
    when the model cannot run). When the default draw fails and the model has integer inputs
    (indices into an axis shorter than INT_HIGH, which the graph alone does not bound), they
    are drawn again below each of INT_FALLBACK_HIGHS in turn (a note says which was used).
    When no draw runs, `error` says why (the default draw's failure) and `inputs` is that
    draw."""
    first = random_inputs(model, samples, seed)
    try:
        return Runnable(first, run(first.samples))
    except Exception as exc:  # noqa: BLE001 - whatever the runner raises means "does not run"
        error = _first_line(exc)
    ints = integer_inputs(model)
    if not ints:
        return Runnable(first, None, error)
    for high in INT_FALLBACK_HIGHS:
        retry = random_inputs(model, samples, seed, int_high=high)
        try:
            outputs = run(retry.samples)
        except Exception:  # noqa: BLE001
            continue
        drawn = "as zeros" if high == 1 else f"below {high}"
        retry.notes.append(f"integer input(s) {', '.join(ints)} drawn {drawn}: the model does "
                           f"not run on the default draw ({error})")
        retry.source += f", integer inputs {drawn}"
        return Runnable(retry, outputs)
    return Runnable(first, None, f"{error} (nor with its integer inputs "
                    f"{', '.join(ints)} drawn below "
                    f"{' or '.join(str(h) for h in INT_FALLBACK_HIGHS if h > 1)} or as zeros)")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def _planned(name: str, elem: int, shape: tuple[int, ...]) -> PlannedInput:
    """What allocating the input will take (a string element counts as one object pointer)."""
    try:
        dtype = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(elem))
    except (KeyError, TypeError, ValueError):
        return PlannedInput(name, shape, f"element type {elem}", 1)
    label = "string" if elem == onnx.TensorProto.STRING else dtype.name
    return PlannedInput(name, shape, label, dtype.itemsize)


def load_npz(path: str | os.PathLike[str], model: onnx.ModelProto) -> InputSet:
    """One sample from an .npz whose keys are the model's input names."""
    p = Path(path)
    try:
        with np.load(p, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError) as exc:
        raise InputError(p, VERIFY_INPUTS, f"cannot read .npz: {exc}") from None
    names = [vi.name for vi in graph_inputs(model)]
    check_names(model, arrays, "the .npz", VERIFY_INPUTS, p)
    missing = [n for n in names if n not in arrays]
    if missing:
        raise InputError(p, VERIFY_INPUTS,
                         f"missing input(s) {', '.join(missing)}; keys are {sorted(arrays)}; "
                         f"{describe_inputs(model)}")
    feeds = {n: arrays[n] for n in names}
    check_feeds(model, feeds, p)
    return InputSet([feeds], None, f"npz {p.name}")


def _read_pb(path: Path) -> np.ndarray:
    tensor = onnx.TensorProto()
    try:
        tensor.ParseFromString(path.read_bytes())
        return numpy_helper.to_array(tensor)
    except Exception as exc:  # noqa: BLE001 - protobuf raises several types
        raise InputError(path, VERIFY_TEST_DATA, f"not a TensorProto: {exc}") from None


def _numbered(folder: Path, stem: str) -> list[Path]:
    pat = re.compile(rf"^{stem}_(\d+)\.pb$")
    found = [(int(m[1]), p) for p in folder.iterdir() if (m := pat.match(p.name))]
    return [p for _, p in sorted(found)]


def test_data_sets(folder: str | os.PathLike[str]) -> list[Path]:
    """The test_data_set_N folders under `folder` (or `folder` itself if it is one)."""
    root = Path(folder)
    if not root.is_dir():
        raise InputError(root, VERIFY_TEST_DATA, "test-data folder does not exist")
    if _numbered(root, "input") or _numbered(root, "output"):
        return [root]
    sets = sorted((p for p in root.iterdir() if p.is_dir() and p.name.startswith("test_data_set_")),
                  key=lambda p: int(p.name.rsplit("_", 1)[1]) if p.name[-1].isdigit() else 0)
    if not sets:
        raise InputError(root, VERIFY_TEST_DATA, "no test_data_set_N folders")
    return sets


def load_test_data(folder: str | os.PathLike[str], model: onnx.ModelProto) -> InputSet:
    """Inputs and expected outputs in the onnx backend-test layout; input_K maps to the K-th
    graph input that is not an initializer, as the onnx backend runner feeds them."""
    names = [vi.name for vi in graph_inputs(model)]
    samples: list[Feeds] = []
    expected: list[list[np.ndarray]] = []
    sets = test_data_sets(folder)
    for ds in sets:
        arrays = [_read_pb(p) for p in _numbered(ds, "input")]
        if len(arrays) != len(names):
            raise InputError(ds, VERIFY_TEST_DATA,
                             f"{len(arrays)} input_K.pb files for {len(names)} model inputs")
        feeds = dict(zip(names, arrays, strict=True))
        check_feeds(model, feeds, ds)
        samples.append(feeds)
        expected.append([_read_pb(p) for p in _numbered(ds, "output")])
    has_expected = all(expected) and len(expected) == len(samples)
    return InputSet(samples, expected if has_expected else None,
                    f"test data {Path(folder).name} ({len(sets)} sets)")
