"""Numerical parity: run a model on ONNX Runtime and compare every output with a reference.

References: expected outputs in the onnx test-data layout, another ONNX model (before/after a
rewrite, run on ORT CPU), onnx.reference.ReferenceEvaluator, a torch module fed the same
inputs, or another execution provider (CPU vs CUDA). Per output: max abs / rel error, mismatch
% under np.isclose(actual, expected, rtol, atol), cosine similarity and NaN/Inf counts. With
`localize`, the first node (graph order) whose output diverges is named.

Default tolerances per dtype (`DEFAULT_TOLERANCES`, rtol / atol): float64 1e-7 / 1e-10,
float32 1e-4 / 1e-5, float16 1e-2 / 1e-3, bfloat16 5e-2 / 1e-2; integers, bool and strings
must match exactly. They allow for a different summation order and fused kernels (float32
allows about 800 ulp), not for a wrong kernel."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from analyzer.errors import InputError
from analyzer.findings import Finding
from analyzer.runtime.inputs import (
    Feeds,
    InputSet,
    graph_inputs,
    load_npz,
    load_test_data,
    random_inputs,
)

DEFAULT_TOLERANCES: dict[str, tuple[float, float]] = {
    "float64": (1e-7, 1e-10),
    "float32": (1e-4, 1e-5),
    "float16": (1e-2, 1e-3),
    "bfloat16": (5e-2, 1e-2),
}
OTHER_FLOAT_TOLERANCE = (2.5e-1, 1e-1)  # float8 / float4 formats: a few ulp of a 2-3 bit mantissa
EXACT = (0.0, 0.0)

TF32_NOTE = ("CUDA may compute float32 MatMul / Gemm / Conv in TF32 (10-bit mantissa, about "
             "1e-3 relative) on Ampere and newer GPUs; a float32 failure near rtol 1e-3 can be "
             "that, not a wrong kernel (check with NVIDIA_TF32_OVERRIDE=0)")

EVALUATOR = "reference-evaluator"


def default_tolerance(dtype: np.dtype[Any] | str) -> tuple[float, float]:
    """(rtol, atol) for outputs of `dtype`; exact for integers, bool and strings."""
    name = str(np.dtype(dtype)) if not isinstance(dtype, str) else dtype
    if name in DEFAULT_TOLERANCES:
        return DEFAULT_TOLERANCES[name]
    if name.startswith("float"):
        return OTHER_FLOAT_TOLERANCE
    return EXACT


# --------------------------------------------------------------------------------------------
# Results


@dataclass
class OutputParity:
    """One output of one sample on one provider, against the reference."""

    name: str
    dtype: str
    shape: list[int]
    expected_shape: list[int]
    rtol: float
    atol: float
    max_abs: float
    max_rel: float
    mismatched: int
    total: int
    cosine: float | None
    nan_actual: int = 0
    inf_actual: int = 0
    nan_expected: int = 0
    inf_expected: int = 0
    note: str | None = None

    @property
    def mismatch_pct(self) -> float:
        return 100.0 * self.mismatched / self.total if self.total else 0.0

    @property
    def passed(self) -> bool:
        return self.shape == self.expected_shape and self.mismatched == 0 and self.note is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "dtype": self.dtype, "shape": self.shape,
            "expected_shape": self.expected_shape, "rtol": self.rtol, "atol": self.atol,
            "max_abs": self.max_abs, "max_rel": self.max_rel, "mismatched": self.mismatched,
            "total": self.total, "mismatch_pct": self.mismatch_pct, "cosine": self.cosine,
            "nan": {"actual": self.nan_actual, "expected": self.nan_expected},
            "inf": {"actual": self.inf_actual, "expected": self.inf_expected},
            "note": self.note, "passed": self.passed,
        }


@dataclass
class SampleParity:
    index: int
    provider: str
    outputs: list[OutputParity]

    @property
    def passed(self) -> bool:
        return all(o.passed for o in self.outputs)

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "provider": self.provider, "passed": self.passed,
                "outputs": [o.to_dict() for o in self.outputs]}


@dataclass
class Localization:
    """The first node (graph order) whose output differs from the reference's intermediate."""

    node: str
    op: str
    index: int
    output: str
    output_max_abs: float
    output_max_rel: float
    output_mismatch_pct: float
    inputs_max_abs: dict[str, float | None]
    compared_with: str
    provider: str
    sample: int

    def to_dict(self) -> dict[str, Any]:
        return {"node": self.node, "op": self.op, "index": self.index, "output": self.output,
                "output_max_abs": self.output_max_abs, "output_max_rel": self.output_max_rel,
                "output_mismatch_pct": self.output_mismatch_pct,
                "inputs_max_abs": dict(self.inputs_max_abs),
                "compared_with": self.compared_with, "provider": self.provider,
                "sample": self.sample}


@dataclass
class ParityResult:
    model: str | None
    reference: str
    providers: list[str]
    inputs: str
    samples: list[SampleParity] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    localization: Localization | None = None
    localized: bool = False

    @property
    def passed(self) -> bool:
        return all(s.passed for s in self.samples)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": "onnx-preflight/parity/1", "model": self.model,
            "reference": self.reference, "providers": list(self.providers),
            "inputs": self.inputs, "passed": self.passed, "verdict":
            "pass" if self.passed else "fail", "notes": list(self.notes),
            "samples": [s.to_dict() for s in self.samples],
            "localization": self.localization.to_dict() if self.localization else None,
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)


# --------------------------------------------------------------------------------------------
# Comparing two arrays


def compare(name: str, actual: Any, expected: Any, rtol: float | None = None,
            atol: float | None = None) -> OutputParity:
    """Metrics for one output. The tolerance test is np.isclose(actual, expected): NaN equals
    NaN, inf equals inf of the same sign; `expected` sets the relative scale."""
    a, e = np.asarray(actual), np.asarray(expected)
    drt, dat = default_tolerance(e.dtype if e.dtype.kind != "O" else "object")
    rt, at = drt if rtol is None else rtol, dat if atol is None else atol
    out = OutputParity(name, str(a.dtype), list(a.shape), list(e.shape), rt, at, 0.0, 0.0, 0,
                       int(e.size), None)
    if a.shape != e.shape:
        out.note = f"shape {list(a.shape)} != expected {list(e.shape)}"
        out.mismatched = int(max(a.size, e.size))
        out.total = out.mismatched
        return out
    if a.dtype.kind in "OUSb" or e.dtype.kind in "OUSb":
        out.mismatched = int(np.count_nonzero(a != e))
        return out
    if a.dtype.kind in "iu" and e.dtype.kind in "iu" and rt == 0 and at == 0:
        out.mismatched = int(np.count_nonzero(a != e))
        diff = np.abs(a.astype(np.float64) - e.astype(np.float64))
        out.max_abs = float(diff.max()) if diff.size else 0.0
        out.cosine = _cosine(a.astype(np.float64).ravel(), e.astype(np.float64).ravel())
        return out
    af, ef = a.astype(np.float64), e.astype(np.float64)
    if np.iscomplexobj(a) or np.iscomplexobj(e):
        af, ef = np.abs(a).astype(np.float64), np.abs(e).astype(np.float64)
    close = np.isclose(af, ef, rtol=rt, atol=at, equal_nan=True)
    out.mismatched = int(close.size - np.count_nonzero(close))
    out.nan_actual, out.nan_expected = int(np.isnan(af).sum()), int(np.isnan(ef).sum())
    out.inf_actual, out.inf_expected = int(np.isinf(af).sum()), int(np.isinf(ef).sum())
    finite = np.isfinite(af) & np.isfinite(ef)
    fa, fe = af[finite], ef[finite]
    diff = np.abs(fa - fe)
    if diff.size:
        out.max_abs = float(diff.max())
        nz = fe != 0
        out.max_rel = float((diff[nz] / np.abs(fe[nz])).max()) if nz.any() else 0.0
    out.cosine = _cosine(fa, fe)
    return out


def _cosine(a: np.ndarray, e: np.ndarray) -> float | None:
    if a.size == 0:
        return None
    na, ne = float(np.linalg.norm(a)), float(np.linalg.norm(e))
    if na == 0.0 and ne == 0.0:
        return 1.0
    if na == 0.0 or ne == 0.0:
        return 0.0
    return float(np.dot(a, e) / (na * ne))


# --------------------------------------------------------------------------------------------
# Running models


def _provider(name: str) -> str:
    import onnxruntime as ort

    from opsets.tables import normalize_provider

    try:
        full = normalize_provider(name)
    except ValueError as exc:
        raise InputError(None, "USAGE", f"--providers: {exc}") from None
    if full not in ort.get_available_providers():
        raise InputError(None, "VERIFY_PROVIDER",
                         f"{full} is not available in this onnxruntime "
                         f"(available: {', '.join(ort.get_available_providers())})")
    return full


def _session(model: onnx.ModelProto | Path, provider: str) -> Any:
    """An ORT session on `provider` (CPU appended as ORT's own fallback, as deployed)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    providers = [provider] if provider == "CPUExecutionProvider" else [provider,
                                                                       "CPUExecutionProvider"]
    src: str | bytes = str(model) if isinstance(model, Path) else model.SerializeToString()
    try:
        return ort.InferenceSession(src, opts, providers=providers)
    except Exception as exc:  # noqa: BLE001 - ORT raises its own Fail/InvalidGraph types
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        where = model if isinstance(model, Path) else None
        raise InputError(where, "VERIFY_SESSION",
                         f"onnxruntime cannot load the model on {provider}: {first}") from None


def _run(session: Any, feeds: Feeds, names: Sequence[str] | None = None) -> list[Any]:
    wanted = {i.name for i in session.get_inputs()}
    try:
        return list(session.run(list(names) if names else None,
                                {k: v for k, v in feeds.items() if k in wanted}))
    except Exception as exc:  # noqa: BLE001
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        raise InputError(None, "VERIFY_RUN", f"onnxruntime failed to run: {first}") from None


@dataclass
class _Loaded:
    model: onnx.ModelProto  # with external weights loaded, for copies and the evaluator
    source: onnx.ModelProto | Path  # what ORT is given
    path: Path | None


def _load(model: str | os.PathLike[str] | onnx.ModelProto) -> _Loaded:
    from analyzer.sources.onnx_loader import load_onnx

    loaded = load_onnx(model)
    proto = loaded.model
    if loaded.external_data and loaded.path is not None:
        proto = onnx.ModelProto()
        proto.CopyFrom(loaded.model)
        onnx.load_external_data_for_model(proto, str(loaded.path.parent))
    src: onnx.ModelProto | Path = loaded.path if loaded.path is not None else proto
    return _Loaded(proto, src, loaded.path)


class _Reference:
    """What the outputs are compared with; `intermediates` is used by localization."""

    kind = "evaluator"
    description = "onnx.reference.ReferenceEvaluator"

    def outputs(self, index: int, feeds: Feeds) -> list[Any]:
        raise NotImplementedError

    def ort_model(self) -> tuple[_Loaded, str] | None:
        """An ONNX model and provider whose intermediates ORT can expose, if any."""
        return None

    def intermediates(self, model: onnx.ModelProto, feeds: Feeds
                      ) -> tuple[dict[str, Any], str] | None:
        """The reference's own values of this model's intermediate tensors (by ONNX value
        name) and how they were matched, when the reference can provide them."""
        return None


class _Evaluator(_Reference):
    def __init__(self, model: onnx.ModelProto) -> None:
        from onnx.reference import ReferenceEvaluator

        try:
            self._ev = ReferenceEvaluator(model)
        except Exception as exc:  # noqa: BLE001
            raise InputError(None, "VERIFY_REFERENCE",
                             f"onnx.reference cannot load the model: {exc}") from None

    def outputs(self, index: int, feeds: Feeds) -> list[Any]:
        return list(self._ev.run(None, feeds))


class _Expected(_Reference):
    kind = "expected"

    def __init__(self, data: InputSet) -> None:
        assert data.expected is not None
        self._expected = data.expected
        self.description = f"expected outputs ({data.source})"

    def outputs(self, index: int, feeds: Feeds) -> list[Any]:
        return self._expected[index]


class _OnnxModel(_Reference):
    kind = "onnx"

    def __init__(self, loaded: _Loaded, provider: str = "CPUExecutionProvider") -> None:
        self._loaded, self.provider = loaded, provider
        self._session = _session(loaded.source, provider)
        self.description = f"ONNX model {loaded.path or '<in memory>'} on {provider}"

    def outputs(self, index: int, feeds: Feeds) -> list[Any]:
        return _run(self._session, feeds)

    def ort_model(self) -> tuple[_Loaded, str] | None:
        return self._loaded, self.provider


class _Provider(_OnnxModel):
    kind = "provider"

    def __init__(self, loaded: _Loaded, provider: str) -> None:
        super().__init__(loaded, provider)
        self.description = f"the same model on {provider}"


class _Torch(_Reference):
    kind = "torch"

    def __init__(self, module: Any, input_names: list[str]) -> None:
        self._module, self._names = module, input_names
        self.description = f"torch module {type(module).__name__}"

    def outputs(self, index: int, feeds: Feeds) -> list[Any]:
        import torch

        args = [torch.from_numpy(np.ascontiguousarray(feeds[n])) for n in self._names]
        self._module.eval()
        with torch.no_grad():
            result = self._module(*args)
        out = []
        for t in _flatten(result):
            if isinstance(t, torch.Tensor):
                t = t.detach().cpu()
                # numpy has no bfloat16: compare in float32, which holds every bfloat16 exactly
                out.append((t.float() if t.dtype == torch.bfloat16 else t).numpy())
            else:
                out.append(np.asarray(t))
        return out

    def intermediates(self, model: onnx.ModelProto, feeds: Feeds
                      ) -> tuple[dict[str, Any], str] | None:
        from analyzer.runtime.torch_intermediates import fx_value_names, torch_intermediates

        wanted = fx_value_names(model)
        if not wanted:
            return None  # not a dynamo export: no FX names to match
        try:
            values = torch_intermediates(self._module, self._names, feeds, wanted)
        except Exception as exc:  # noqa: BLE001 - a capture failure degrades to the evaluator
            raise InputError(None, "VERIFY_REFERENCE", "torch.export could not capture the "
                             f"module for localization: {str(exc).splitlines()[0]}") from None
        return values, (f"{self.description}: torch.export FX node values matched to the "
                        f"dynamo exporter's value names ({len(values)} of {len(wanted)})")


class _TF(_Reference):
    """A SavedModel, Keras or TFLite model run by TensorFlow (analyzer/runtime/tf_reference)."""

    kind = "tensorflow"

    def __init__(self, path: Path, model: onnx.ModelProto) -> None:
        from analyzer.runtime.tf_reference import TFReference

        self._tf = TFReference(path, [vi.name for vi in graph_inputs(model)],
                               [o.name for o in model.graph.output])
        self.description = self._tf.description

    def outputs(self, index: int, feeds: Feeds) -> list[Any]:
        return self._tf.outputs(index, feeds)

    def intermediates(self, model: onnx.ModelProto, feeds: Feeds
                      ) -> tuple[dict[str, Any], str] | None:
        return self._tf.intermediates(model, feeds)


def _flatten(value: Any) -> list[Any]:
    if isinstance(value, (list, tuple)):
        return [x for v in value for x in _flatten(v)]
    if isinstance(value, dict):
        return [x for v in value.values() for x in _flatten(v)]
    return [value]


def _is_torch_module(obj: Any) -> bool:
    return callable(getattr(obj, "forward", None)) and callable(getattr(obj, "eval", None))


def _reference(reference: Any, loaded: _Loaded, data: InputSet, providers: list[str]
               ) -> _Reference:
    if reference is None:
        if data.expected is not None:
            return _Expected(data)
        if len(providers) > 1:
            return _Provider(loaded, providers[0])
        return _Evaluator(loaded.model)
    if _is_torch_module(reference):
        return _Torch(reference, [vi.name for vi in graph_inputs(loaded.model)])
    if isinstance(reference, onnx.ModelProto):
        return _OnnxModel(_load(reference))
    text = os.fspath(reference) if isinstance(reference, (str, os.PathLike)) else None
    if text is None:
        raise InputError(None, "USAGE", f"unsupported reference {type(reference).__name__}")
    if text in (EVALUATOR, "onnx.reference", "evaluator"):
        return _Evaluator(loaded.model)
    if text == "expected":
        if data.expected is None:
            raise InputError(None, "VERIFY_TEST_DATA", "the inputs carry no expected outputs")
        return _Expected(data)
    path = Path(text)
    from analyzer.runtime.tf_reference import tf_source_kind

    if tf_source_kind(path) is not None:
        return _TF(path, loaded.model)
    if path.is_dir():
        if data.expected is None:
            raise InputError(path, "VERIFY_TEST_DATA", "no output_K.pb expected outputs")
        return _Expected(data)
    if path.is_file():
        return _OnnxModel(_load(path))
    if text.lower() in ("cpu", "cuda") or text.endswith("ExecutionProvider"):
        return _Provider(loaded, _provider(text))
    raise InputError(path, "VERIFY_REFERENCE", "reference is not a file, folder, provider or "
                     f"{EVALUATOR!r}")


def _inputs(model: onnx.ModelProto, inputs: Any, reference: Any, samples: int, seed: int,
            dims: Mapping[str, int] | None, shapes: Mapping[str, Sequence[int]] | None
            ) -> InputSet:
    if inputs is None and isinstance(reference, (str, os.PathLike)) and Path(
            os.fspath(reference)).is_dir() and not (Path(os.fspath(reference))
                                                    / "saved_model.pb").is_file():
        inputs = reference
    if inputs is None:
        return random_inputs(model, samples, seed, dims=dims, shapes=shapes)
    if isinstance(inputs, InputSet):
        return inputs
    if isinstance(inputs, Mapping):
        return InputSet([dict(inputs)], None, "given feeds")
    if isinstance(inputs, (list, tuple)):
        return InputSet([dict(x) for x in inputs], None, f"given feeds ({len(inputs)} samples)")
    path = Path(os.fspath(inputs))
    if path.is_dir():
        return load_test_data(path, model)
    if path.suffix == ".npz":
        return load_npz(path, model)
    raise InputError(path, "VERIFY_INPUTS", "expected an .npz file or a test-data folder")


# --------------------------------------------------------------------------------------------
# verify


def verify(
    model: str | os.PathLike[str] | onnx.ModelProto,
    reference: Any = None,
    providers: Sequence[str] = ("cpu",),
    samples: int = 3,
    seed: int = 0,
    inputs: Any = None,
    rtol: float | None = None,
    atol: float | None = None,
    localize: bool = False,
    *,
    dims: Mapping[str, int] | None = None,
    shapes: Mapping[str, Sequence[int]] | None = None,
) -> ParityResult:
    """Run `model` on each of `providers` and compare its outputs with `reference`.

    reference: None (expected outputs when the inputs ship them; else the first provider when
    several are given; else onnx.reference), "reference-evaluator", a provider name ("cuda"),
    another .onnx path or ModelProto, a test-data folder, or a torch nn.Module.
    inputs: None (seeded random, `samples` of them, dims from `dims`/`shapes` or 1), an .npz,
    a test-data folder, a feed dict or a list of them. rtol/atol override the dtype defaults."""
    loaded = _load(model)
    names = [_provider(p) for p in providers] or ["CPUExecutionProvider"]
    data = _inputs(loaded.model, inputs, reference, samples, seed, dims, shapes)
    ref = _reference(reference, loaded, data, names)
    ref_provider = ref.provider if isinstance(ref, _Provider) else None
    under_test = [p for p in names if p != ref_provider]
    if not under_test:
        raise InputError(None, "USAGE", "the reference provider is the only provider to test")
    out_names = [o.name for o in loaded.model.graph.output]
    result = ParityResult(str(loaded.path) if loaded.path else None, ref.description,
                          under_test, data.source, notes=list(data.notes))
    expected_all = [ref.outputs(i, feeds) for i, feeds in enumerate(data.samples)]
    for provider in under_test:
        session = _session(loaded.source, provider)
        for i, feeds in enumerate(data.samples):
            actual = _run(session, feeds)
            expected = expected_all[i]
            if len(actual) != len(expected):
                note = (f"{provider}: {len(actual)} outputs vs {len(expected)} in the "
                        "reference; compared the first ones in order")
                if note not in result.notes:
                    result.notes.append(note)
            outs = [compare(out_names[k] if k < len(out_names) else f"output_{k}", a, e, rtol,
                            atol) for k, (a, e) in enumerate(zip(actual, expected, strict=False))]
            result.samples.append(SampleParity(i, provider, outs))
        cuda = "CUDAExecutionProvider" in (provider, ref_provider)
        if cuda and TF32_NOTE not in result.notes and any(
                o.dtype == "float32" for s in result.samples for o in s.outputs):
            result.notes.append(TF32_NOTE)
    if localize:
        result.localized = True
        failing = next((s for s in result.samples if not s.passed), None)
        if failing is None:
            result.notes.append("localize: every output is within tolerance; nothing to locate")
        else:
            try:
                result.localization = localize_divergence(
                    loaded, ref, failing.provider, data.samples[failing.index], failing.index,
                    rtol, atol)
            except InputError as exc:
                result.notes.append(f"localize: not possible: {exc.message}")
            else:
                if result.localization is None:
                    result.notes.append("localize: no intermediate differs beyond tolerance; "
                                        "the difference appears only at the graph outputs")
    return result


# --------------------------------------------------------------------------------------------
# Localization


def expose_intermediates(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy whose graph outputs also list every node output (typed where shape inference
    knows the type), so a runtime returns the intermediates."""
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    try:
        inferred = onnx.shape_inference.infer_shapes(copy)
        known = {vi.name: vi for vi in inferred.graph.value_info}
    except Exception:  # noqa: BLE001 - untyped outputs still work in ORT
        known = {}
    present = {o.name for o in copy.graph.output}
    for node in copy.graph.node:
        for name in node.output:
            if name and name not in present:
                present.add(name)
                vi = known.get(name)
                typed = vi is not None and vi.type.HasField("tensor_type")
                copy.graph.output.append(vi if typed else onnx.ValueInfoProto(name=name))
    return copy


def _intermediates_ort(loaded: _Loaded, provider: str, feeds: Feeds) -> dict[str, Any]:
    exposed = expose_intermediates(loaded.model)
    session = _session(exposed, provider)
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, _run(session, feeds), strict=True))


def _intermediates_evaluator(model: onnx.ModelProto, feeds: Feeds) -> dict[str, Any]:
    from onnx.reference import ReferenceEvaluator

    exposed = expose_intermediates(model)
    try:
        ev = ReferenceEvaluator(exposed)
        values = ev.run(None, feeds)
    except Exception as exc:  # noqa: BLE001 - any op the evaluator lacks or fails on
        raise InputError(None, "VERIFY_LOCALIZE",
                         f"onnx.reference cannot run the model: {type(exc).__name__}: "
                         f"{str(exc).strip()[:200]}") from None
    return {n: np.asarray(v) if isinstance(v, np.generic) else v
            for n, v in zip(ev.output_names, values, strict=True)}


def _values(model: onnx.ModelProto, feeds: Feeds) -> dict[str, Any]:
    from onnx import numpy_helper

    out: dict[str, Any] = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    out.update(feeds)
    return out


def localize_divergence(loaded: _Loaded, ref: _Reference, provider: str, feeds: Feeds,
                        sample: int, rtol: float | None = None, atol: float | None = None
                        ) -> Localization | None:
    """Compare intermediates in graph (topological) order and return the first node whose
    output is outside tolerance. Against another ONNX model or provider the reference's own
    intermediates are used where tensor names match; otherwise ORT is compared with
    onnx.reference on this model, node by node."""
    actual = _values(loaded.model, feeds)
    actual.update(_intermediates_ort(loaded, provider, feeds))
    target = ref.ort_model()
    if target is not None:
        other, other_provider = target
        expected = _values(other.model, feeds)
        expected.update(_intermediates_ort(other, other_provider, feeds))
        compared_with = f"{ref.description} (intermediates matched by tensor name)"
    elif (own := ref.intermediates(loaded.model, feeds)) is not None and own[0]:
        expected = _values(loaded.model, feeds)
        expected.update(own[0])
        compared_with = own[1]
    else:
        expected = _values(loaded.model, feeds)
        expected.update(_intermediates_evaluator(loaded.model, feeds))
        compared_with = "onnx.reference.ReferenceEvaluator on this model, node by node"
    for index, node in enumerate(loaded.model.graph.node):
        for name in node.output:
            if not name or name not in actual or name not in expected:
                continue
            a, e = actual[name], expected[name]
            if not isinstance(a, np.ndarray) or not isinstance(e, np.ndarray):
                continue
            if a.shape != e.shape:  # a same-named value in another layout: not comparable
                continue
            parity = compare(name, a, e, rtol, atol)
            if parity.passed:
                continue
            errs: dict[str, float | None] = {}
            for inp in node.input:
                if not inp:
                    continue
                ai, ei = actual.get(inp), expected.get(inp)
                if isinstance(ai, np.ndarray) and isinstance(ei, np.ndarray):
                    errs[inp] = compare(inp, ai, ei, 0.0, 0.0).max_abs
                else:
                    errs[inp] = None
            return Localization(node.name or f"#{index}", node.op_type, index, name,
                                parity.max_abs, parity.max_rel, parity.mismatch_pct, errs,
                                compared_with, provider, sample)
    return None


# --------------------------------------------------------------------------------------------
# Findings


def parity_findings(result: ParityResult) -> list[Finding]:
    """RUN501 (error) per failing output and provider, RUN502 (warning) for NaN/Inf in the
    model's outputs, RUN503 (info) for the localized node; ready to merge into a Report."""
    findings: list[Finding] = []
    worst: dict[tuple[str, str], tuple[OutputParity, int]] = {}
    nonfinite: dict[tuple[str, str], OutputParity] = {}
    for s in result.samples:
        for o in s.outputs:
            key = (s.provider, o.name)
            if not o.passed:
                prev = worst.get(key)
                count = prev[1] + 1 if prev else 1
                best = o if prev is None or o.mismatched > prev[0].mismatched else prev[0]
                worst[key] = (best, count)
            if o.nan_actual or o.inf_actual or o.nan_expected or o.inf_expected:
                nonfinite.setdefault(key, o)
    total = len({s.index for s in result.samples})
    for (provider, name), (o, count) in worst.items():
        detail = o.note or (f"max abs {o.max_abs:.3g}, max rel {o.max_rel:.3g}, "
                            f"{o.mismatch_pct:.2f}% of {o.total} elements outside rtol {o.rtol:g}"
                            f" / atol {o.atol:g}, cosine {_fmt(o.cosine)}")
        findings.append(Finding(
            "RUN501", "error",
            f"output {name!r} differs from {result.reference} in {count} of {total} samples: "
            f"{detail}", provider=provider))
    for (provider, name), o in nonfinite.items():
        findings.append(Finding(
            "RUN502", "warning",
            f"output {name!r} has NaN/Inf: NaN {o.nan_actual} (reference {o.nan_expected}), "
            f"Inf {o.inf_actual} (reference {o.inf_expected})", provider=provider))
    loc = result.localization
    if loc is not None:
        inputs = ", ".join(f"{k} {_fmt(v)}" for k, v in loc.inputs_max_abs.items())
        findings.append(Finding(
            "RUN503", "info",
            f"first diverging node {loc.node!r} ({loc.op}): output {loc.output!r} max abs "
            f"{loc.output_max_abs:.3g} ({loc.output_mismatch_pct:.2f}% outside tolerance); "
            f"inputs max abs: {inputs or 'none'}; compared with {loc.compared_with}",
            op=loc.op, nodes=[loc.node], provider=loc.provider))
    return findings


def merge_into_report(report: Any, result: ParityResult) -> None:
    """Add the parity findings and the parity block (`extras["parity"]`) to a Report."""
    report.findings.extend(parity_findings(result))
    report.extras["parity"] = result.to_dict()


def _fmt(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.6g}"


def render_text(result: ParityResult) -> str:
    """A plain-text summary: one line per provider, sample and output, then notes."""
    lines = [f"model:     {result.model or '<in memory>'}",
             f"reference: {result.reference}", f"inputs:    {result.inputs}", ""]
    lines.append(f"{'provider':<22} {'s':>2} {'output':<20} {'max abs':>10} {'max rel':>10} "
                 f"{'mismatch':>9} {'cosine':>9} {'nan/inf':>8}  result")
    for s in result.samples:
        for o in s.outputs:
            nf = f"{o.nan_actual + o.inf_actual}/{o.nan_expected + o.inf_expected}"
            lines.append(
                f"{s.provider:<22} {s.index:>2} {o.name[:20]:<20} {o.max_abs:>10.3g} "
                f"{o.max_rel:>10.3g} {o.mismatch_pct:>8.2f}% {_fmt(o.cosine)[:9]:>9} "
                f"{nf:>8}  {'ok' if o.passed else 'FAIL'}{' ' + o.note if o.note else ''}")
    for note in result.notes:
        lines.append(f"note: {note}")
    if result.localization:
        loc = result.localization
        lines.append(f"localized: node {loc.node!r} ({loc.op}, #{loc.index}) output "
                     f"{loc.output!r} max abs {loc.output_max_abs:.3g}; inputs max abs "
                     + (", ".join(f"{k}={_fmt(v)}" for k, v in loc.inputs_max_abs.items())
                        or "none"))
        lines.append(f"           compared with {loc.compared_with}")
    lines.append(f"verdict: {'pass' if result.passed else 'fail'}")
    return "\n".join(lines) + "\n"
