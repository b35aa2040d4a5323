"""One comparison of an actual output with an expected one, with one definition of each metric,
used by verify (every reference kind, localization) and the rewrite pass.

Metrics, over the elements where both values are finite:
  max_abs   max |actual - expected|
  max_rel   max |actual - expected| / |expected| elementwise, over the elements whose expected
            value is not 0 (a zero expected value has no relative scale; its error shows in
            max_abs and in the tolerance test); 0.0 when every expected value is 0
  mismatched / mismatch_pct   elements outside np.isclose(actual, expected, rtol, atol), NaN
            equal to NaN and inf to inf of the same sign (all elements, not only finite ones)
  cosine    cosine similarity of the finite elements (1.0 when both are all zero)
  nan_* / inf_*   NaN and Inf counts on each side
  margin    max over the finite elements of |actual - expected| / (atol + rtol * |expected|):
            how close the worst element came to its tolerance (<= 1 within, > 1 outside), so
            a near miss is visible in a passing run
  ulps      that worst element's error in units of the last place of the output's float type
            at its expected magnitude (np.spacing), e.g. 3 ulp of float32 near 0.5
Integers, bool and strings compare exactly by default.

Default tolerances per dtype, rtol / atol. Both sides ONNX (another model, another provider,
shipped expected outputs, onnxruntime without graph optimizations: `DEFAULT_TOLERANCES`):
float64 1e-7 / 1e-10, float32 1e-5 / 1e-5 (Polygraphy's), float16 1e-2 / 1e-3, bfloat16
5e-2 / 1e-2. A framework on the other side (torch, TensorFlow: `FRAMEWORK_TOLERANCES`) runs
other kernels and other fusions; its float32 default was chosen from measured errors on the
project's corpora (docs/verify.md, "Measured"). They allow for a different summation order and
fused kernels, not for a wrong kernel or a changed weight."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

Tolerances = dict[str, tuple[float, float]]

#: both sides ONNX: float32 no looser than Polygraphy's rtol 1e-5 / atol 1e-5
DEFAULT_TOLERANCES: Tolerances = {
    "float64": (1e-7, 1e-10),
    "float32": (1e-5, 1e-5),
    "float16": (1e-2, 1e-3),
    "bfloat16": (5e-2, 1e-2),
}
#: a framework (torch, TensorFlow) on the other side: float32 from measurement (docs/verify.md)
FRAMEWORK_TOLERANCES: Tolerances = {**DEFAULT_TOLERANCES, "float32": (1e-4, 1e-5)}
OTHER_FLOAT_TOLERANCE = (2.5e-1, 1e-1)  # float8 / float4 formats: a few ulp of a 2-3 bit mantissa
EXACT = (0.0, 0.0)


def default_tolerance(dtype: np.dtype[Any] | str, table: Tolerances | None = None
                      ) -> tuple[float, float]:
    """(rtol, atol) for outputs of `dtype` from `table` (default: `DEFAULT_TOLERANCES`, both
    sides ONNX); exact for integers, bool and strings."""
    table = DEFAULT_TOLERANCES if table is None else table
    name = str(np.dtype(dtype)) if not isinstance(dtype, str) else dtype
    if name in table:
        return table[name]
    if name.startswith("float"):
        return OTHER_FLOAT_TOLERANCE
    return EXACT


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
    margin: float | None = None
    ulps: float | None = None

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
            "note": self.note, "passed": self.passed, "margin": self.margin,
            "ulps": self.ulps,
        }


def compare(name: str, actual: Any, expected: Any, rtol: float | None = None,
            atol: float | None = None, table: Tolerances | None = None) -> OutputParity:
    """Metrics for one output. The tolerance test is np.isclose(actual, expected): NaN equals
    NaN, inf equals inf of the same sign; `expected` sets the relative scale. `table` gives
    the per-dtype defaults that `rtol` / `atol` override (default: `DEFAULT_TOLERANCES`)."""
    a, e = np.asarray(actual), np.asarray(expected)
    drt, dat = default_tolerance(e.dtype if e.dtype.kind != "O" else "object", table)
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
        out.margin = 0.0 if not out.max_abs else float("inf")
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
        out.margin, out.ulps = _margin(diff, fe, rt, at, e.dtype)
    out.cosine = _cosine(fa, fe)
    return out


def _margin(diff: np.ndarray, expected: np.ndarray, rtol: float, atol: float,
            dtype: np.dtype[Any]) -> tuple[float, float | None]:
    """(margin, ulps): the worst element's error over its tolerance, and that error in ulps of
    `dtype` (float32 when `dtype` is not a numpy float, e.g. an integer reference) at the
    element's expected magnitude."""
    bound = atol + rtol * np.abs(expected)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(bound > 0, diff / np.where(bound > 0, bound, 1.0),
                         np.where(diff > 0, np.inf, 0.0))
    worst = int(np.argmax(ratio))
    kind = dtype if np.issubdtype(dtype, np.floating) else np.dtype(np.float32)
    spacing = float(np.spacing(np.abs(expected[worst]).astype(kind)))
    with np.errstate(over="ignore"):  # a subnormal spacing: inf ulps says it plainly
        ulps = float(np.float64(diff[worst]) / spacing) if spacing > 0 else None
    return float(ratio[worst]), ulps


def _cosine(a: np.ndarray, e: np.ndarray) -> float | None:
    if a.size == 0:
        return None
    na, ne = float(np.linalg.norm(a)), float(np.linalg.norm(e))
    if na == 0.0 and ne == 0.0:
        return 1.0
    if na == 0.0 or ne == 0.0:
        return 0.0
    return float(np.dot(a, e) / (na * ne))
