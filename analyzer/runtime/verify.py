"""Numerical parity: run a model on ONNX Runtime and compare every output with a reference.

References (each a runner of analyzer.runtime.runners): expected outputs in the onnx test-data
layout, another ONNX model (before/after a rewrite, run on ORT CPU),
onnx.reference.ReferenceEvaluator, a torch module fed the same inputs, a TensorFlow model, or
another execution provider (CPU vs CUDA). Per output, analyzer.runtime.compare's metrics: max
abs / rel error, mismatch % under np.isclose(actual, expected, rtol, atol), cosine similarity,
NaN/Inf counts and the margin (how close the worst element came to its tolerance), with its
per-dtype default tolerances (tighter when both sides are ONNX than against a framework).

With no reference (and no shipped expected outputs) the reference is onnxruntime itself: the
same model on the CPU provider with graph optimizations disabled, so optimizer and provider
bugs show without depending on a second implementation. onnx.reference is used only when asked
for, and where it disagrees with unoptimized onnxruntime (and with shipped expected outputs)
while the model under test agrees with them, the evaluator is reported as the suspect side
instead of failing the model. With `localize`, the first node (graph order) whose output
diverges is named."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from analyzer.error_codes import (
    USAGE,
    VERIFY_INPUTS,
    VERIFY_LOCALIZE,
    VERIFY_REFERENCE,
    VERIFY_TEST_DATA,
)
from analyzer.errors import InputError
from analyzer.finding_ids import RUN501, RUN502, RUN503, RUN504, RUN505
from analyzer.findings import Finding
from analyzer.limits import DEFAULT_MAX_INPUT_BYTES
from analyzer.runtime.compare import (
    DEFAULT_TOLERANCES,
    EXACT,
    FRAMEWORK_TOLERANCES,
    OTHER_FLOAT_TOLERANCE,
    OutputParity,
    Tolerances,
    compare,
    default_tolerance,
)
from analyzer.runtime.inputs import (
    Feeds,
    InputSet,
    check_feeds,
    graph_inputs,
    load_npz,
    load_test_data,
    random_inputs,
)
from analyzer.runtime.runners import (
    ExpectedOutputsRunner,
    LoadedModel,
    OnnxReferenceRunner,
    OnnxrtRunner,
    Runner,
    TensorFlowRunner,
    TorchRunner,
    is_torch_module,
    load_model,
)
from analyzer.runtime.session import (
    CPU,
    GUARD_MEMORY_LIMIT_MB,
    GUARD_TIME_LIMIT,
    SessionSpec,
    guard_session_creation,
    resolve_provider,
)
from analyzer.runtime.tf_reference import tf_source_kind
from analyzer.runtime.weights_check import WeightsCheck, check_weights

__all__ = [
    "DEFAULT_TOLERANCES", "EVALUATOR", "EXACT", "FRAMEWORK_TOLERANCES", "OTHER_FLOAT_TOLERANCE",
    "TF32_NOTE", "UNOPTIMIZED", "EvaluatorSuspect", "Localization", "OutputParity",
    "ParityResult", "SampleParity", "compare",
    "default_tolerance", "expose_intermediates", "localize_divergence", "merge_into_report",
    "parity_findings", "render_text", "verify",
]

TF32_NOTE = ("CUDA may compute float32 MatMul / Gemm / Conv in TF32 (10-bit mantissa, about "
             "1e-3 relative) on Ampere and newer GPUs; a float32 failure near rtol 1e-3 can be "
             "that, not a wrong kernel (check with NVIDIA_TF32_OVERRIDE=0)")

EVALUATOR = "reference-evaluator"
#: the default reference: onnxruntime's CPU provider with every graph optimization off
UNOPTIMIZED = SessionSpec(providers=(CPU,), graph_optimization="disable")
UNOPTIMIZED_DESCRIPTION = f"the same model on {CPU} with graph optimizations disabled"


# --------------------------------------------------------------------------------------------
# Results


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
    #: initializers the node reads (subgraphs included) that differ from the reference's
    weights_differ: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"node": self.node, "op": self.op, "index": self.index, "output": self.output,
                "output_max_abs": self.output_max_abs, "output_max_rel": self.output_max_rel,
                "output_mismatch_pct": self.output_mismatch_pct,
                "inputs_max_abs": dict(self.inputs_max_abs),
                "weights_differ": dict(self.weights_differ),
                "compared_with": self.compared_with, "provider": self.provider,
                "sample": self.sample}


@dataclass
class EvaluatorSuspect:
    """An output where onnx.reference (the reference asked for) disagrees with unoptimized
    onnxruntime, and with the shipped expected outputs when there are any, while the model
    under test agrees with them: the evaluator is the suspect side, and the output was compared
    with unoptimized onnxruntime instead. `node` / `op`: where the evaluator's intermediates
    first part from onnxruntime's, when that could be found."""

    provider: str
    sample: int
    output: str
    evaluator_max_abs: float
    with_expected: bool
    node: str | None = None
    op: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


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
    evaluator_suspects: list[EvaluatorSuspect] = field(default_factory=list)
    #: a torch reference's parameters and buffers against the model's initializers
    weights: WeightsCheck | None = None

    @property
    def passed(self) -> bool:
        return all(s.passed for s in self.samples) and (
            self.weights is None or self.weights.passed)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": "onnx-preflight/parity/1", "model": self.model,
            "reference": self.reference, "providers": list(self.providers),
            "inputs": self.inputs, "passed": self.passed, "verdict":
            "pass" if self.passed else "fail", "notes": list(self.notes),
            "samples": [s.to_dict() for s in self.samples],
            "localization": self.localization.to_dict() if self.localization else None,
            "evaluator_suspect": [e.to_dict() for e in self.evaluator_suspects],
            "weights": self.weights.to_dict() if self.weights else None,
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)


# --------------------------------------------------------------------------------------------
# Choosing the reference


def _provider(name: str) -> str:
    return resolve_provider(name)


def _reference(reference: Any, loaded: LoadedModel, data: InputSet, providers: list[str]
               ) -> tuple[Runner, str | None]:
    """The runner that gives the expected outputs, and the provider it runs this very model
    on when the reference is another provider (that provider is then not under test)."""
    out_names = [o.name for o in loaded.model.graph.output]
    if reference is None:
        if data.expected is not None:
            return ExpectedOutputsRunner(data, out_names), None
        return unoptimized_runner(loaded), None
    if is_torch_module(reference):
        return TorchRunner(reference, [vi.name for vi in graph_inputs(loaded.model)],
                           out_names), None
    if isinstance(reference, onnx.ModelProto):
        return OnnxrtRunner(load_model(reference)), None
    text = os.fspath(reference) if isinstance(reference, (str, os.PathLike)) else None
    if text is None:
        raise InputError(None, USAGE, f"unsupported reference {type(reference).__name__}")
    if text in (EVALUATOR, "onnx.reference", "evaluator"):
        return OnnxReferenceRunner(loaded.model), None
    if text == "expected":
        return ExpectedOutputsRunner(data, out_names), None
    path = Path(text)
    if tf_source_kind(path) is not None:
        return TensorFlowRunner(path, loaded.model), None
    if path.is_dir():
        if data.expected is None:
            raise InputError(path, VERIFY_TEST_DATA, "no output_K.pb expected outputs")
        return ExpectedOutputsRunner(data, out_names), None
    if path.is_file():
        return OnnxrtRunner(load_model(path)), None
    if text.lower() in ("cpu", "cuda") or text.endswith("ExecutionProvider"):
        provider = _provider(text)
        return _same_model(loaded, provider), provider
    raise InputError(path, VERIFY_REFERENCE, "reference is not a file, folder, provider or "
                     f"{EVALUATOR!r}")


def unoptimized_runner(loaded: LoadedModel) -> OnnxrtRunner:
    """The default reference: this model on the CPU provider, graph optimizations disabled."""
    runner = OnnxrtRunner(loaded, CPU, UNOPTIMIZED)
    runner.description = UNOPTIMIZED_DESCRIPTION
    return runner


def _same_model(loaded: LoadedModel, provider: str) -> OnnxrtRunner:
    runner = OnnxrtRunner(loaded, provider)
    runner.description = f"the same model on {provider}"
    return runner


def _onnx_models(model: Any, reference: Any) -> list[Any]:
    """The ONNX models verify will create sessions for: the model, and an ONNX reference."""
    path = Path(os.fspath(reference)) if isinstance(reference, (str, os.PathLike)) else None
    onnx_file = path is not None and path.is_file() and path.suffix.lower() == ".onnx"
    return [model, reference] if isinstance(reference, onnx.ModelProto) or onnx_file else [model]


def _inputs(model: onnx.ModelProto, inputs: Any, reference: Any, samples: int, seed: int,
            dims: Mapping[str, int] | None, shapes: Mapping[str, Sequence[int]] | None,
            dtypes: Mapping[str, str] | None = None,
            max_input_bytes: int | None = DEFAULT_MAX_INPUT_BYTES,
            path: str | os.PathLike[str] | None = None) -> InputSet:
    if inputs is None and isinstance(reference, (str, os.PathLike)) and Path(
            os.fspath(reference)).is_dir() and not (Path(os.fspath(reference))
                                                    / "saved_model.pb").is_file():
        inputs = reference
    if inputs is None:
        return random_inputs(model, samples, seed, dims=dims, shapes=shapes, dtypes=dtypes,
                             max_input_bytes=max_input_bytes, path=path)
    if dims or shapes or dtypes:
        raise InputError(None, USAGE, "--dim and --input shape random inputs; the given data "
                         "(--inputs / --test-data) brings its own shapes: drop them")
    if isinstance(inputs, InputSet):
        for feeds in inputs.samples:
            check_feeds(model, feeds)
        return inputs
    if isinstance(inputs, Mapping):
        check_feeds(model, inputs)
        return InputSet([dict(inputs)], None, "given feeds")
    if isinstance(inputs, (list, tuple)):
        for feeds in inputs:
            check_feeds(model, feeds)
        return InputSet([dict(x) for x in inputs], None, f"given feeds ({len(inputs)} samples)")
    path = Path(os.fspath(inputs))
    if path.is_dir():
        return load_test_data(path, model)
    if path.suffix == ".npz":
        return load_npz(path, model)
    raise InputError(path, VERIFY_INPUTS, "expected an .npz file or a test-data folder")


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
    dtypes: Mapping[str, str] | None = None,
    isolate: bool = False,
    time_limit: float = GUARD_TIME_LIMIT,
    memory_limit_mb: int = GUARD_MEMORY_LIMIT_MB,
    max_input_bytes: int | None = DEFAULT_MAX_INPUT_BYTES,
) -> ParityResult:
    """Run `model` on each of `providers` and compare its outputs with `reference`.

    reference: None (expected outputs when the inputs ship them; else this model on the CPU
    provider with graph optimizations disabled), "reference-evaluator", a provider name ("cuda"),
    another .onnx path or ModelProto, a test-data folder, or a torch nn.Module.
    inputs: None (seeded random, `samples` of them, dims from `dims`/`shapes` or 1), an .npz,
    a test-data folder, a feed dict or a list of them. rtol/atol override the dtype defaults
    (`DEFAULT_TOLERANCES` when the reference is ONNX, `FRAMEWORK_TOLERANCES` for torch and
    TensorFlow). dims / shapes / dtypes set random inputs (`--dim`, `--input`) and must name
    the model's symbols and inputs. isolate: create each ONNX model's session in a child
    process first (as the CLI does), so an onnxruntime crash or hang there is ORT_SESSION_CRASHED
    instead of the end of this process (time_limit seconds, memory_limit_mb). Random inputs
    larger than `max_input_bytes` in all (None: no limit) are refused before they are allocated
    (InputError INPUT_TOO_LARGE)."""
    loaded = load_model(model)
    names = [_provider(p) for p in providers] or ["CPUExecutionProvider"]
    if isolate:
        for onnx_model in _onnx_models(model, reference):
            guard_session_creation(onnx_model, time_limit=time_limit,
                                   memory_limit_mb=memory_limit_mb)
    data = _inputs(loaded.model, inputs, reference, samples, seed, dims, shapes, dtypes,
                   max_input_bytes, loaded.path)
    ref, ref_provider = _reference(reference, loaded, data, names)
    under_test = [p for p in names if p != ref_provider]
    if not under_test:
        raise InputError(None, USAGE, "the reference provider is the only provider to test")
    out_names = [o.name for o in loaded.model.graph.output]
    result = ParityResult(str(loaded.path) if loaded.path else None, ref.description,
                          under_test, data.source, notes=list(data.notes))
    if is_torch_module(reference):
        result.weights = check_weights(reference, loaded.model)
        if result.weights.tensors and not result.weights.matched_by_name:
            result.notes.append(f"weights: {result.weights.summary()}; not compared by name "
                                "(an exporter that renames them, e.g. TorchScript)")
    with ref:
        expected_all = [list(ref.infer(feeds).values()) for feeds in data.samples]
    table = ref.tolerances
    actual_all: dict[tuple[str, int], list[Any]] = {}
    for provider in under_test:
        runner = OnnxrtRunner(loaded, provider)
        for i, feeds in enumerate(data.samples):
            actual = list(runner.infer(feeds).values())
            actual_all[(provider, i)] = actual
            expected = expected_all[i]
            if len(actual) != len(expected):
                note = (f"{provider}: {len(actual)} outputs vs {len(expected)} in the "
                        "reference; compared the first ones in order")
                if note not in result.notes:
                    result.notes.append(note)
            outs = [compare(out_names[k] if k < len(out_names) else f"output_{k}", a, e, rtol,
                            atol, table)
                    for k, (a, e) in enumerate(zip(actual, expected, strict=False))]
            result.samples.append(SampleParity(i, provider, outs))
        cuda = "CUDAExecutionProvider" in (provider, ref_provider)
        if cuda and TF32_NOTE not in result.notes and any(
                o.dtype == "float32" for s in result.samples for o in s.outputs):
            result.notes.append(TF32_NOTE)
    if isinstance(ref, OnnxReferenceRunner) and not result.passed:
        _arbitrate_evaluator(result, loaded, data, expected_all, actual_all, rtol, atol)
    if localize:
        result.localized = True
        failing = next((s for s in result.samples if not s.passed), None)
        if failing is None:
            result.notes.append("localize: every output is within tolerance; nothing to locate")
        else:
            try:
                result.localization = localize_divergence(
                    loaded, ref, failing.provider, data.samples[failing.index], failing.index,
                    rtol, atol, table,
                    reference_weights=result.weights.reference_values if result.weights
                    else None)
            except InputError as exc:
                result.notes.append(f"localize: not possible: {exc.message}")
            else:
                if result.localization is None:
                    result.notes.append("localize: no node's output diverges while its inputs "
                                        "agree; the difference appears only at the graph "
                                        "outputs, or starts among values that could not be "
                                        "compared")
        if result.weights is not None and not result.weights.passed:
            result.notes.append("localize: the module's weights differ from the model's "
                                "(RUN505): a node that reads them diverges because of its "
                                "weights, not because of its computation")
    return result


# --------------------------------------------------------------------------------------------
# onnx.reference as the suspect side


def _arbitrate_evaluator(result: ParityResult, loaded: LoadedModel, data: InputSet,
                         evaluated: list[list[Any]], actual: dict[tuple[str, int], list[Any]],
                         rtol: float | None, atol: float | None) -> None:
    """onnx.reference is a second implementation, not ground truth (it has computed Softmax-1
    on a 4-D input over the wrong axes). For each failing output, ask unoptimized onnxruntime
    and any shipped expected outputs: when the evaluator disagrees with all of them and the
    model under test agrees with all of them, the output is compared with unoptimized
    onnxruntime instead and the evaluator is named as the suspect (with the node where its
    intermediates first part from onnxruntime's)."""
    try:
        with unoptimized_runner(loaded) as arbiter:
            arbitrated = [list(arbiter.infer(f).values()) for f in data.samples]
    except InputError as exc:
        result.notes.append(f"onnx.reference disagrees, but unoptimized onnxruntime could not "
                            f"arbitrate: {exc.message}")
        return
    for s in result.samples:
        for k, o in enumerate(s.outputs):
            if o.passed or k >= len(arbitrated[s.index]):
                continue
            ev, ort_v, act = evaluated[s.index][k], arbitrated[s.index][k], actual[
                (s.provider, s.index)][k]
            shipped = (data.expected[s.index][k] if data.expected is not None
                       and k < len(data.expected[s.index]) else None)
            sides = [ort_v] + ([shipped] if shipped is not None else [])
            if any(compare(o.name, ev, side, rtol, atol).passed for side in sides):
                continue  # the evaluator agrees with a witness: the model is at fault
            against = [compare(o.name, act, side, rtol, atol) for side in sides]
            if not all(p.passed for p in against):
                continue
            s.outputs[k] = against[0]
            result.evaluator_suspects.append(EvaluatorSuspect(
                s.provider, s.index, o.name, compare(o.name, ev, ort_v).max_abs,
                shipped is not None))
    if not result.evaluator_suspects:
        return
    first = result.evaluator_suspects[0]
    where = _evaluator_divergence(loaded, data.samples[first.sample], rtol, atol)
    for suspect in result.evaluator_suspects:
        suspect.node, suspect.op = where
    result.notes.append(evaluator_note(result.evaluator_suspects))


def _evaluator_divergence(loaded: LoadedModel, feeds: Feeds, rtol: float | None,
                          atol: float | None) -> tuple[str | None, str | None]:
    """The first node whose onnx.reference output parts from unoptimized onnxruntime's."""
    try:
        ort_values = _values(loaded.model, feeds)
        ort_values.update(_intermediates_ort(loaded, CPU, feeds, UNOPTIMIZED))
        ev_values = _values(loaded.model, feeds)
        ev_values.update(_intermediates_evaluator(loaded.model, feeds))
    except InputError:
        return None, None
    found = _first_divergence(loaded.model, ort_values, ev_values, rtol, atol,
                              DEFAULT_TOLERANCES)
    if found is None:
        return None, None
    index, node, _, _, _ = found
    return node.name or f"#{index}", node.op_type


def _read_names(graph: onnx.GraphProto) -> set[str]:
    """Every value name some node reads, in this graph or any subgraph (outer-scope reads)."""
    names: set[str] = set()
    for node in graph.node:
        names.update(n for n in node.input if n)
        for attr in node.attribute:
            for sub in ([attr.g] if attr.HasField("g") else []) + list(attr.graphs):
                names |= _read_names(sub)
                names.update(o.name for o in sub.output)
    return names


def evaluator_note(suspects: Sequence[EvaluatorSuspect]) -> str:
    """One line for the report: which outputs, against what, and where the evaluator parts."""
    names = sorted({s.output for s in suspects})
    witnesses = "unoptimized onnxruntime" + (
        " and the shipped expected outputs" if any(s.with_expected for s in suspects) else "")
    where = (f"; its values first differ at node {suspects[0].node!r} ({suspects[0].op})"
             if suspects[0].node else "")
    worst = max(s.evaluator_max_abs for s in suspects)
    return (f"onnx.reference disagrees with {witnesses} on {', '.join(map(repr, names))} "
            f"(max abs {worst:.3g}) while the model under test agrees with them: the evaluator "
            f"is the suspect side{where}; those outputs were compared with unoptimized "
            "onnxruntime instead")


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


def _intermediates_ort(loaded: LoadedModel, provider: str, feeds: Feeds,
                       spec: SessionSpec | None = None) -> dict[str, Any]:
    exposed = expose_intermediates(loaded.model)
    return OnnxrtRunner(LoadedModel(exposed, exposed, None), provider, spec).infer(feeds)


def _intermediates_evaluator(model: onnx.ModelProto, feeds: Feeds) -> dict[str, Any]:
    from onnx.reference import ReferenceEvaluator

    exposed = expose_intermediates(model)
    try:
        ev = ReferenceEvaluator(exposed)
        values = ev.run(None, feeds)
    except Exception as exc:  # noqa: BLE001 - any op the evaluator lacks or fails on
        raise InputError(None, VERIFY_LOCALIZE,
                         f"onnx.reference cannot run the model: {type(exc).__name__}: "
                         f"{str(exc).strip()[:200]}") from None
    return {n: np.asarray(v) if isinstance(v, np.generic) else v
            for n, v in zip(ev.output_names, values, strict=True)}


def _values(model: onnx.ModelProto, feeds: Feeds) -> dict[str, Any]:
    from onnx import numpy_helper

    out: dict[str, Any] = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    out.update(feeds)
    return out


def localize_divergence(loaded: LoadedModel, ref: Runner, provider: str, feeds: Feeds,
                        sample: int, rtol: float | None = None, atol: float | None = None,
                        table: Tolerances | None = None, *,
                        reference_weights: Mapping[str, Any] | None = None
                        ) -> Localization | None:
    """Compare intermediates in graph (topological) order and return the first node whose
    output is outside tolerance while its inputs agree. Against another ONNX model or provider
    the reference's own intermediates (and initializers) are used where tensor names match;
    against a torch module its FX values, with the module's weights as the initializers
    (`reference_weights`); otherwise ORT is compared with onnx.reference on this model."""
    actual = _values(loaded.model, feeds)
    actual.update(_intermediates_ort(loaded, provider, feeds))
    if isinstance(ref, OnnxrtRunner):
        expected = _values(ref.model.model, feeds)
        expected.update(_intermediates_ort(ref.model, ref.provider, feeds, ref.spec))
        compared_with = f"{ref.description} (intermediates matched by tensor name)"
    elif (own := ref.intermediates(loaded.model, feeds)) is not None and own[0]:
        expected = _values(loaded.model, feeds)
        expected.update(reference_weights or {})
        expected.update(own[0])
        compared_with = own[1]
    else:
        expected = _values(loaded.model, feeds)
        expected.update(_intermediates_evaluator(loaded.model, feeds))
        compared_with = "onnx.reference.ReferenceEvaluator on this model, node by node"
    found = _first_weight_reader(loaded.model, actual, expected, reference_weights or {}, rtol,
                                 atol, table)
    if found is not None:
        compared_with += ("; the module's weights differ from the model's (RUN505): named is "
                          "the first node that reads one, not a node whose computation is wrong")
    else:
        found = _first_divergence(loaded.model, actual, expected, rtol, atol, table)
    if found is None:
        return None
    index, node, name, parity, errs = found
    inits = {i.name for i in loaded.model.graph.initializer}
    weights = {n: v for n, v in errs.items() if n in inits and v is not None and v > 0} | {
        n: v for n in sorted(_node_reads(node) & inits - set(node.input))
        if (v := _max_abs(actual.get(n), expected.get(n))) is not None and v > 0}
    return Localization(node.name or f"#{index}", node.op_type, index, name, parity.max_abs,
                        parity.max_rel, parity.mismatch_pct, errs, compared_with, provider,
                        sample, weights)


def _first_weight_reader(model: onnx.ModelProto, actual: Mapping[str, Any],
                         expected: Mapping[str, Any], weights: Mapping[str, Any],
                         rtol: float | None, atol: float | None, table: Tolerances | None
                         ) -> tuple[int, onnx.NodeProto, str, OutputParity,
                                    dict[str, float | None]] | None:
    """When a torch module's weights differ from the initializers (`weights`: the module's
    values by initializer name), the first node (graph order) that reads a differing one: the
    difference enters there, whatever the intermediates show downstream. Its output is
    compared where both sides have it (else the parity is NaN: not observed)."""
    differing = {n for n, v in weights.items() if isinstance(actual.get(n), np.ndarray)
                 and not compare(n, actual[n], v, table=DEFAULT_TOLERANCES).passed}
    if not differing:
        return None
    for index, node in enumerate(model.graph.node):
        if not _node_reads(node) & differing:
            continue
        name = next((o for o in node.output if o), "")
        a, e = actual.get(name), expected.get(name)
        if isinstance(a, np.ndarray) and isinstance(e, np.ndarray) and a.shape == e.shape:
            parity = compare(name, a, e, rtol, atol, table)
        else:
            parity = OutputParity(name, "", [], [], 0.0, 0.0, float("nan"), float("nan"), 0, 0,
                                  None)
        errs = {i: _max_abs(actual.get(i), expected.get(i)) for i in node.input if i}
        return index, node, name, parity, errs
    return None


def _node_reads(node: onnx.NodeProto) -> set[str]:
    """What a node reads: its inputs and the outer-scope values its subgraphs read."""
    names = {n for n in node.input if n}
    for attr in node.attribute:
        for sub in ([attr.g] if attr.HasField("g") else []) + list(attr.graphs):
            names |= _read_names(sub)
    return names


def _max_abs(a: Any, e: Any) -> float | None:
    if isinstance(a, np.ndarray) and isinstance(e, np.ndarray) and a.shape == e.shape:
        return compare("v", a, e, 0.0, 0.0).max_abs
    return None


def _first_divergence(model: onnx.ModelProto, actual: Mapping[str, Any],
                      expected: Mapping[str, Any], rtol: float | None, atol: float | None,
                      table: Tolerances | None
                      ) -> tuple[int, onnx.NodeProto, str, OutputParity,
                                 dict[str, float | None]] | None:
    """The first node (graph order) with an output outside tolerance while the values it reads
    agree, that output's name and parity, and each of its inputs' max abs error. A node whose
    data inputs (not initializers: those are its own weights) already differ beyond tolerance
    only passes a divergence on and is never named; neither is a node whose outputs agree.
    Outputs nothing reads (Dropout's mask, the running statistics of an old
    BatchNormalization) cannot change the result and are not compared: an evaluator that types
    them otherwise would be blamed for nothing."""
    live = _read_names(model.graph) | {o.name for o in model.graph.output}
    inits = {i.name for i in model.graph.initializer}
    for index, node in enumerate(model.graph.node):
        if _inputs_differ(node, inits, actual, expected, rtol, atol, table):
            continue
        for name in node.output:
            if not name or name not in live or name not in actual or name not in expected:
                continue
            a, e = actual[name], expected[name]
            if not isinstance(a, np.ndarray) or not isinstance(e, np.ndarray):
                continue
            if a.shape != e.shape:  # a same-named value in another layout: not comparable
                continue
            parity = compare(name, a, e, rtol, atol, table)
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
            return index, node, name, parity, errs
    return None


def _inputs_differ(node: onnx.NodeProto, inits: set[str], actual: Mapping[str, Any],
                   expected: Mapping[str, Any], rtol: float | None, atol: float | None,
                   table: Tolerances | None) -> bool:
    """A value the node reads (not an initializer) is outside tolerance on both sides."""
    for name in _node_reads(node) - inits:
        a, e = actual.get(name), expected.get(name)
        if (isinstance(a, np.ndarray) and isinstance(e, np.ndarray) and a.shape == e.shape
                and not compare(name, a, e, rtol, atol, table).passed):
            return True
    return False


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
                            f" / atol {o.atol:g} (margin {_fmt(o.margin)}), cosine "
                            f"{_fmt(o.cosine)}")
        findings.append(Finding(
            RUN501.id, "error",
            f"output {name!r} differs from {result.reference} in {count} of {total} samples: "
            f"{detail}", provider=provider))
    for (provider, name), o in nonfinite.items():
        findings.append(Finding(
            RUN502.id, "warning",
            f"output {name!r} has NaN/Inf: NaN {o.nan_actual} (reference {o.nan_expected}), "
            f"Inf {o.inf_actual} (reference {o.inf_expected})", provider=provider))
    if result.evaluator_suspects:
        first = result.evaluator_suspects[0]
        findings.append(Finding(
            RUN504.id, "warning", evaluator_note(result.evaluator_suspects),
            op=first.op, nodes=[first.node] if first.node else []))
    if result.weights is not None and not result.weights.passed:
        findings.append(Finding(
            RUN505.id, "error",
            f"the torch module's weights differ from the model's initializers: "
            f"{result.weights.summary()}; the outputs cannot agree (load the weights the model "
            "was exported with: --weights FILE.pt)"))
    loc = result.localization
    if loc is not None:
        inputs = ", ".join(f"{k} {_fmt(v)}" for k, v in loc.inputs_max_abs.items())
        weights_differ = result.weights is not None and not result.weights.passed
        what = ("first node that reads a differing weight" if weights_differ
                else "first diverging node")
        findings.append(Finding(
            RUN503.id, "info",
            f"{what} {loc.node!r} ({loc.op}): output {loc.output!r} {_output_error(loc)}; "
            f"inputs max abs: {inputs or 'none'}{_weights_text(loc)}; compared with "
            f"{loc.compared_with}", op=loc.op, nodes=[loc.node], provider=loc.provider))
    return findings


def _output_error(loc: Localization) -> str:
    if np.isnan(loc.output_max_abs):
        return "not observed on the reference side"
    return (f"max abs {loc.output_max_abs:.3g} ({loc.output_mismatch_pct:.2f}% outside "
            "tolerance)")


def _weights_text(loc: Localization) -> str:
    if not loc.weights_differ:
        return ""
    return "; its weights differ from the reference's: " + ", ".join(
        f"{k} max abs {v:.3g}" for k, v in loc.weights_differ.items())


def merge_into_report(report: Any, result: ParityResult) -> None:
    """Add the parity findings and the parity block (`extras["parity"]`) to a Report."""
    report.findings.extend(parity_findings(result))
    report.extras["parity"] = result.to_dict()


def _fmt(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.6g}"


def _short(v: float | None) -> str:
    return "-" if v is None else f"{v:.3g}"


def render_text(result: ParityResult) -> str:
    """A plain-text summary: one line per provider, sample and output, then notes."""
    lines = [f"model:     {result.model or '<in memory>'}",
             f"reference: {result.reference}", f"inputs:    {result.inputs}", ""]
    lines.append(f"{'provider':<22} {'s':>2} {'output':<20} {'max abs':>10} {'max rel':>10} "
                 f"{'mismatch':>9} {'cosine':>9} {'nan/inf':>8} {'margin':>8} {'ulp':>8}  "
                 "result")
    for s in result.samples:
        for o in s.outputs:
            nf = f"{o.nan_actual + o.inf_actual}/{o.nan_expected + o.inf_expected}"
            lines.append(
                f"{s.provider:<22} {s.index:>2} {o.name[:20]:<20} {o.max_abs:>10.3g} "
                f"{o.max_rel:>10.3g} {o.mismatch_pct:>8.2f}% {_fmt(o.cosine)[:9]:>9} "
                f"{nf:>8} {_short(o.margin):>8} {_short(o.ulps):>8}  "
                f"{'ok' if o.passed else 'FAIL'}{' ' + o.note if o.note else ''}")
    tolerances = sorted({(o.dtype, o.rtol, o.atol) for s in result.samples for o in s.outputs})
    if tolerances:
        lines.append("tolerances: " + ", ".join(f"{d} rtol {r:g} / atol {a:g}"
                                                 for d, r, a in tolerances)
                     + "; margin = max |a - e| / (atol + rtol |e|), > 1 fails; ulp = that "
                     "element's error in units of the last place at its magnitude")
    if result.weights is not None:
        lines.append(f"weights: {result.weights.summary()}"
                     + ("" if result.weights.passed else "  FAIL (RUN505)"))
    for note in result.notes:
        lines.append(f"note: {note}")
    if result.localization:
        loc = result.localization
        lines.append(f"localized: node {loc.node!r} ({loc.op}, #{loc.index}) output "
                     f"{loc.output!r} {_output_error(loc)}; inputs max abs "
                     + (", ".join(f"{k}={_fmt(v)}" for k, v in loc.inputs_max_abs.items())
                        or "none"))
        if loc.weights_differ:
            lines.append(f"          {_weights_text(loc)[2:]}")
        lines.append(f"           compared with {loc.compared_with}")
    lines.append(f"verdict: {'pass' if result.passed else 'fail'}")
    return "\n".join(lines) + "\n"
