"""Latency statistics and the ratio of two latency samples, kept apart from the timing loop so
the loop stays a bare perf_counter_ns around session.run."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

NS_PER_MS = 1_000_000.0


@dataclass
class LatencyStats:
    """Summary of timed runs, in milliseconds; throughput in runs per second (1 / mean)."""

    count: int
    min_ms: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    stdev_ms: float
    throughput_per_s: float

    @classmethod
    def from_ns(cls, samples_ns: Sequence[int]) -> LatencyStats:
        if not samples_ns:
            raise ValueError("no timed runs")
        ms = np.asarray(samples_ns, dtype=np.float64) / NS_PER_MS
        p50, p90, p99 = (float(v) for v in np.percentile(ms, [50, 90, 99]))
        mean = float(ms.mean())
        return cls(
            count=int(ms.size),
            min_ms=float(ms.min()),
            p50_ms=p50,
            p90_ms=p90,
            p99_ms=p99,
            mean_ms=mean,
            stdev_ms=float(ms.std(ddof=1)) if ms.size > 1 else 0.0,
            throughput_per_s=1000.0 / mean if mean > 0 else math.inf,
        )

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> LatencyStats:
        return cls(**data)  # type: ignore[arg-type]


@dataclass
class RatioEstimate:
    """p50_b / p50_a with a bootstrap 95% interval: resampling the paired iterations keeps the
    pairing of interleaved runs, so drift that hits both models cancels out."""

    ratio: float
    ci_low: float
    ci_high: float
    resamples: int

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> RatioEstimate:
        return cls(**data)  # type: ignore[arg-type]


def p50_ratio(
    a_ns: Sequence[int], b_ns: Sequence[int], *, resamples: int = 1000, seed: int = 0
) -> RatioEstimate:
    """Ratio of medians of b over a, with a paired bootstrap interval."""
    a = np.asarray(a_ns, dtype=np.float64)
    b = np.asarray(b_ns, dtype=np.float64)
    if a.size == 0 or a.size != b.size:
        raise ValueError("paired samples of equal, non-zero length are needed")
    ratio = float(np.median(b) / np.median(a))
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, a.size, size=(resamples, a.size))
    boots = np.median(b[idx], axis=1) / np.median(a[idx], axis=1)
    low, high = (float(v) for v in np.percentile(boots, [2.5, 97.5]))
    return RatioEstimate(ratio=ratio, ci_low=low, ci_high=high, resamples=resamples)
