"""Runners: things that turn one feed into named outputs, so verify can set any two of them side
by side (the model on a provider against a reference) and compare with analyzer.runtime.compare.

Each runner has a `name` (its kind), a `description` (for the report), `activate()` / `close()`
(also a context manager; `infer` activates on first use) and `infer(feed) -> {name: array}`
with the outputs in the model's order. Loading happens in the constructor, so a reference that
cannot be loaded fails before anything runs; torch and TensorFlow are imported only inside
their runners.

OnnxrtRunner            an ONNX model on one execution provider (analyzer.runtime.session)
OnnxReferenceRunner     onnx.reference.ReferenceEvaluator
TorchRunner             a torch nn.Module fed the same inputs, in eval mode without autograd
TensorFlowRunner        a SavedModel, Keras or TFLite model (analyzer.runtime.tf_reference)
ExpectedOutputsRunner   the expected outputs shipped with the inputs (onnx test-data layout)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import onnx

from analyzer.error_codes import VERIFY_REFERENCE, VERIFY_RUN, VERIFY_SESSION, VERIFY_TEST_DATA
from analyzer.errors import InputError
from analyzer.runtime.compare import DEFAULT_TOLERANCES, FRAMEWORK_TOLERANCES, Tolerances
from analyzer.runtime.inputs import Feeds, InputSet, graph_inputs
from analyzer.runtime.session import CPU, SessionSpec, create_session, first_line
from analyzer.runtime.tf_reference import TFReference
from analyzer.runtime.torch_intermediates import fx_value_names, torch_intermediates
from analyzer.sources.onnx_loader import load_onnx

Outputs = dict[str, Any]


@dataclass
class LoadedModel:
    """A vetted ONNX model: the proto with external weights loaded (for copies and the
    evaluator) and what ORT is given (the path, so external data keeps working)."""

    model: onnx.ModelProto
    source: onnx.ModelProto | Path
    path: Path | None


def load_model(model: str | os.PathLike[str] | onnx.ModelProto) -> LoadedModel:
    loaded = load_onnx(model)
    proto = loaded.model
    if loaded.external_data and loaded.path is not None:
        proto = onnx.ModelProto()
        proto.CopyFrom(loaded.model)
        onnx.load_external_data_for_model(proto, str(loaded.path.parent))
    src: onnx.ModelProto | Path = loaded.path if loaded.path is not None else proto
    return LoadedModel(proto, src, loaded.path)


def _named(names: Sequence[str], values: Sequence[Any]) -> Outputs:
    """Values keyed by `names` in order; extra or repeated names become output_K."""
    out: Outputs = {}
    for k, value in enumerate(values):
        name = names[k] if k < len(names) else f"output_{k}"
        out[name if name not in out else f"output_{k}"] = value
    return out


class Runner:
    """The interface; see the module docstring."""

    name = "runner"
    description = "runner"
    #: default tolerances per dtype when this runner is the reference (analyzer.runtime.compare)
    tolerances: Tolerances = DEFAULT_TOLERANCES

    def __init__(self) -> None:
        self.is_active = False

    def activate(self) -> None:
        self.is_active = True

    def close(self) -> None:
        self.is_active = False

    def __enter__(self) -> Runner:
        self.activate()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def infer(self, feed: Feeds) -> Outputs:
        if not self.is_active:
            self.activate()
        return self._infer(feed)

    def _infer(self, feed: Feeds) -> Outputs:
        raise NotImplementedError

    def intermediates(self, model: onnx.ModelProto, feed: Feeds
                      ) -> tuple[dict[str, Any], str] | None:
        """This runner's own values of `model`'s intermediate tensors (by ONNX value name) and
        how they were matched, when it can provide them (used by verify's localization)."""
        return None


class OnnxrtRunner(Runner):
    """`model` on onnxruntime with `provider` first (CPU behind it, as deployed). Errors are
    verify's: VERIFY_SESSION when the session cannot be created, VERIFY_RUN when it fails."""

    name = "onnxruntime"

    def __init__(self, model: LoadedModel | onnx.ModelProto | Path, provider: str = CPU,
                 spec: SessionSpec | None = None) -> None:
        super().__init__()
        self.model = model if isinstance(model, LoadedModel) else load_model(model)
        self.provider = provider
        self.spec = spec or SessionSpec(providers=(provider,))
        self.description = f"ONNX model {self.model.path or '<in memory>'} on {provider}"
        if self.spec.graph_optimization != "default":
            self.description += f" (graph optimizations: {self.spec.graph_optimization})"
        self.session = make_session(self.model.source, provider, self.spec)

    def _infer(self, feed: Feeds) -> Outputs:
        names = [o.name for o in self.session.get_outputs()]
        return _named(names, run_session(self.session, feed))


def make_session(model: onnx.ModelProto | Path, provider: str,
                 spec: SessionSpec | None = None) -> Any:
    """A session for verify: VERIFY_SESSION names the model and ORT's first line on failure."""
    try:
        return create_session(model, spec or SessionSpec(providers=(provider,)))
    except Exception as exc:  # noqa: BLE001 - ORT raises its own Fail/InvalidGraph types
        where = model if isinstance(model, Path) else None
        raise InputError(where, VERIFY_SESSION, "onnxruntime cannot load the model on "
                         f"{provider}: {first_line(exc)}") from None


def run_session(session: Any, feed: Feeds, names: Sequence[str] | None = None) -> list[Any]:
    """session.run with the feeds the session takes; VERIFY_RUN on failure."""
    wanted = {i.name for i in session.get_inputs()}
    try:
        return list(session.run(list(names) if names else None,
                                {k: v for k, v in feed.items() if k in wanted}))
    except Exception as exc:  # noqa: BLE001
        raise InputError(None, VERIFY_RUN,
                         f"onnxruntime failed to run: {first_line(exc)}") from None


class OnnxReferenceRunner(Runner):
    """onnx.reference.ReferenceEvaluator on `model` (VERIFY_REFERENCE if it cannot load it)."""

    name = "onnx-reference"
    description = "onnx.reference.ReferenceEvaluator"

    def __init__(self, model: onnx.ModelProto) -> None:
        super().__init__()
        from onnx.reference import ReferenceEvaluator  # onnx's evaluator: loaded only if used

        try:
            self._ev = ReferenceEvaluator(model)
        except Exception as exc:  # noqa: BLE001
            raise InputError(None, VERIFY_REFERENCE,
                             f"onnx.reference cannot load the model: {exc}") from None

    def _infer(self, feed: Feeds) -> Outputs:
        return _named(list(self._ev.output_names), list(self._ev.run(None, feed)))


class ExpectedOutputsRunner(Runner):
    """The expected outputs that came with the inputs: `infer` answers the sample whose feed
    it is given (the same dict, or equal arrays)."""

    name = "expected"

    def __init__(self, data: InputSet, output_names: Sequence[str] = ()) -> None:
        super().__init__()
        if data.expected is None:
            raise InputError(None, VERIFY_TEST_DATA, "the inputs carry no expected outputs")
        self._samples, self._expected = data.samples, data.expected
        self._names = list(output_names)
        self.description = f"expected outputs ({data.source})"

    def index_of(self, feed: Feeds) -> int:
        for i, sample in enumerate(self._samples):
            if sample is feed:
                return i
        for i, sample in enumerate(self._samples):
            if sample.keys() == feed.keys() and all(
                    np.array_equal(sample[k], feed[k]) for k in sample):
                return i
        raise KeyError("no expected outputs for this feed")

    def _infer(self, feed: Feeds) -> Outputs:
        return _named(self._names, self._expected[self.index_of(feed)])


class TorchRunner(Runner):
    """A torch nn.Module called with the graph inputs in order, in eval mode, no autograd."""

    name = "torch"
    tolerances = FRAMEWORK_TOLERANCES

    def __init__(self, module: Any, input_names: Sequence[str],
                 output_names: Sequence[str] = ()) -> None:
        super().__init__()
        self._module, self._names = module, list(input_names)
        self._outputs = list(output_names)
        self.description = f"torch module {type(module).__name__}"

    def activate(self) -> None:
        self._module.eval()
        super().activate()

    def _infer(self, feed: Feeds) -> Outputs:
        import torch  # optional dependency: only a torch reference needs it

        args = [torch.from_numpy(np.ascontiguousarray(feed[n])) for n in self._names]
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
        return _named(self._outputs, out)

    def intermediates(self, model: onnx.ModelProto, feed: Feeds
                      ) -> tuple[dict[str, Any], str] | None:
        wanted = fx_value_names(model)
        if not wanted:
            return None  # not a dynamo export: no FX names to match
        try:
            values = torch_intermediates(self._module, self._names, feed, wanted)
        except Exception as exc:  # noqa: BLE001 - a capture failure degrades to the evaluator
            raise InputError(None, VERIFY_REFERENCE, "torch.export could not capture the "
                             f"module for localization: {str(exc).splitlines()[0]}") from None
        return values, (f"{self.description}: torch.export FX node values matched to the "
                        f"dynamo exporter's value names ({len(values)} of {len(wanted)})")


class TensorFlowRunner(Runner):
    """A SavedModel, Keras or TFLite model run by TensorFlow, fed by the ONNX model's input
    names (analyzer.runtime.tf_reference does the name matching)."""

    name = "tensorflow"
    tolerances = FRAMEWORK_TOLERANCES

    def __init__(self, path: Path, model: onnx.ModelProto) -> None:
        super().__init__()
        self._outputs = [o.name for o in model.graph.output]
        self._tf = TFReference(path, [vi.name for vi in graph_inputs(model)], self._outputs)
        self.description = self._tf.description

    def _infer(self, feed: Feeds) -> Outputs:
        return _named(self._outputs, self._tf.outputs(0, feed))

    def intermediates(self, model: onnx.ModelProto, feed: Feeds
                      ) -> tuple[dict[str, Any], str] | None:
        return self._tf.intermediates(model, feed)


def _flatten(value: Any) -> list[Any]:
    if isinstance(value, (list, tuple)):
        return [x for v in value for x in _flatten(v)]
    if isinstance(value, dict):
        return [x for v in value.values() for x in _flatten(v)]
    return [value]


def is_torch_module(obj: Any) -> bool:
    return callable(getattr(obj, "forward", None)) and callable(getattr(obj, "eval", None))
