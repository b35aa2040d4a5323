"""Weights before outputs: compare a torch module's parameters and buffers with an ONNX model's
initializers, so that `verify --source` against a module with other weights (a factory that
builds fresh random ones, a checkpoint not loaded) says so instead of failing the outputs and
blaming a node.

Matching, never by shape alone:
  by name   the dynamo exporter keeps state-dict names (`conv1.weight`) as initializer names;
            TorchScript keeps them where it does not fold or transpose
  by value  a module tensor with no same-named initializer is matched to an initializer of the
            same shape (or the transposed shape, for a Linear exported as MatMul) whose values
            are equal: a renamed tensor confirmed, never a guessed pair reported as different
Tensors matched neither way are counted as unmatched.

Folding: exporters fold BatchNormalization into the preceding Conv and keep the Conv's names
(dynamo's `c.weight` then holds weight * gamma / sqrt(var + eps)). A same-named tensor that
differs is taken as folded, not as a wrong weight, when the module has tensors the model lacks
(the folded ones) and it is the module's tensor scaled per output channel (slices along axis 0);
the other differing initializers of the node that reads it (the folded bias) go with it.

torch is imported inside the one function that reads the module (an optional dependency)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import onnx
from onnx import numpy_helper

from analyzer.runtime.compare import DEFAULT_TOLERANCES, compare

#: tensors named in the finding
SHOWN = 5
#: relative spread of W' / W within one output channel still taken as a per-channel scale
_SCALE_RTOL = 1e-4


@dataclass
class WeightDiff:
    """A module tensor whose same-named initializer holds other values."""

    name: str
    max_abs: float
    max_rel: float
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class WeightsCheck:
    """The module's tensors against the model's initializers (see the module docstring)."""

    tensors: int
    matched_by_name: int
    matched_by_value: int
    unmatched: list[str]
    differing: list[WeightDiff]
    folded: list[str] = field(default_factory=list)
    #: the module's values by initializer name (name matches only), for localization
    reference_values: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def passed(self) -> bool:
        return not self.differing

    def to_dict(self) -> dict[str, Any]:
        return {"tensors": self.tensors, "matched_by_name": self.matched_by_name,
                "matched_by_value": self.matched_by_value, "unmatched": list(self.unmatched),
                "differing": [d.to_dict() for d in self.differing],
                "folded": list(self.folded), "passed": self.passed}

    def summary(self) -> str:
        """One line: what was matched and what differs."""
        head = (f"{self.matched_by_name} of the module's {self.tensors} parameters and buffers "
                f"matched initializers by name")
        if self.matched_by_value:
            head += f", {self.matched_by_value} by value (renamed by the exporter)"
        if self.unmatched:
            head += f", {len(self.unmatched)} could not be matched"
        if self.folded:
            head += f", {len(self.folded)} folded by the exporter (e.g. BatchNormalization)"
        if not self.differing:
            return head + "; every matched tensor agrees"
        shown = ", ".join(f"{d.name} (max abs {d.max_abs:.3g})" for d in self.differing[:SHOWN])
        more = f" and {len(self.differing) - SHOWN} more" if len(self.differing) > SHOWN else ""
        return f"{head}; {len(self.differing)} differ: {shown}{more}"


def module_tensors(module: Any) -> dict[str, np.ndarray]:
    """The module's state dict as numpy arrays, without integer scalars (step counters such as
    BatchNorm's num_batches_tracked, which no exporter keeps)."""
    import torch  # optional dependency: only a torch reference needs it

    out: dict[str, np.ndarray] = {}
    for name, value in module.state_dict().items():
        if not isinstance(value, torch.Tensor):
            continue
        t = value.detach().cpu()
        array = (t.float() if t.dtype == torch.bfloat16 else t).numpy()
        if array.ndim == 0 and array.dtype.kind in "iub":
            continue
        out[name] = array
    return out


def check_weights(module: Any, model: onnx.ModelProto) -> WeightsCheck:
    """Compare `module`'s tensors with `model`'s (top-level) initializers."""
    return compare_tensors(module_tensors(module), model)


def compare_tensors(tensors: Mapping[str, np.ndarray], model: onnx.ModelProto) -> WeightsCheck:
    """`tensors` (a module's, by state-dict name) against `model`'s initializers."""
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    by_name = [n for n in tensors if n in inits]
    diffs: list[WeightDiff] = []
    reference: dict[str, np.ndarray] = {}
    for name in by_name:
        want, got = tensors[name], inits[name]
        reference[name] = want.astype(got.dtype) if _floats(want, got) else want
        diff = _differs(name, got, want)
        if diff is not None:
            diffs.append(diff)
    rest = [n for n in tensors if n not in inits]
    free = {k: v for k, v in inits.items() if k not in tensors}
    by_value = [n for n in rest if _value_match(tensors[n], free)]
    unmatched = [n for n in rest if n not in by_value]
    folded = _folded(diffs, tensors, inits, model) if unmatched else set()
    for name in folded:  # the model's folded values are right; the module's are not theirs
        reference.pop(name, None)
    return WeightsCheck(len(tensors), len(by_name), len(by_value), unmatched,
                        [d for d in diffs if d.name not in folded], sorted(folded), reference)


def _floats(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype.kind == "f" and b.dtype.kind == "f"


def _differs(name: str, got: np.ndarray, want: np.ndarray) -> WeightDiff | None:
    if got.shape != want.shape:
        return WeightDiff(name, float("inf"), float("inf"),
                          f"shape {list(got.shape)} in the model, {list(want.shape)} in the module")
    parity = compare(name, got, want.astype(got.dtype) if _floats(want, got) else want,
                     table=DEFAULT_TOLERANCES)
    return None if parity.passed else WeightDiff(name, parity.max_abs, parity.max_rel)


def _value_match(want: np.ndarray, free: Mapping[str, np.ndarray]) -> bool:
    """An initializer not named after any module tensor holds exactly these values (or their
    transpose, for a 2-D weight)."""
    for got in free.values():
        for candidate in ([want, want.T] if want.ndim == 2 else [want]):
            if got.shape == candidate.shape and compare(
                    "w", got, candidate.astype(got.dtype) if _floats(candidate, got)
                    else candidate, table=DEFAULT_TOLERANCES).passed:
                return True
    return False


def _folded(diffs: list[WeightDiff], tensors: Mapping[str, np.ndarray],
            inits: Mapping[str, np.ndarray], model: onnx.ModelProto) -> set[str]:
    """Differing names explained by a folded normalization (module docstring)."""
    scaled = {d.name for d in diffs if d.note is None and d.name in inits
              and _per_channel_scale(inits[d.name], tensors[d.name])}
    differing = {d.name for d in diffs}
    folded = set(scaled)
    for node in model.graph.node:
        if scaled & set(node.input):
            folded |= differing & set(node.input)
    return folded


def _per_channel_scale(got: np.ndarray, want: np.ndarray) -> bool:
    """got[c] == s_c * want[c] for every slice c along axis 0 (a weight of rank >= 2)."""
    if got.ndim < 2 or got.shape != want.shape or not _floats(got, want):
        return False
    g = got.reshape(got.shape[0], -1).astype(np.float64)
    w = want.reshape(want.shape[0], -1).astype(np.float64)
    for gc, wc in zip(g, w, strict=True):
        big = np.abs(wc) > 1e-6 * max(float(np.abs(wc).max()), 1e-30)
        if not big.any():
            continue
        ratio = gc[big] / wc[big]
        if np.ptp(ratio) > _SCALE_RTOL * max(float(np.abs(ratio).max()), 1e-30):
            return False
        if not np.allclose(gc[~big], 0.0, atol=1e-6):
            return False
    return True
