"""PNG plot of latency distributions, one box per provider and model.

matplotlib is optional: without it the plot is skipped and the reason returned, because a
benchmark that measured correctly should not fail over a picture.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from analyzer.errors import InputError
from analyzer.safe_write import save_figure_atomically

if TYPE_CHECKING:
    from analyzer.runtime.bench import BenchResult

MISSING = "plot skipped: matplotlib is not installed (pip install matplotlib)"


def write_plot(result: BenchResult, path: str | os.PathLike[str]) -> str | None:
    """Write the plot to `path`; return None on success, else why it was not written."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return MISSING
    labels = [f"{r.provider.replace('ExecutionProvider', '')}\n{r.model}" for r in result.runs]
    data = [r.samples_ms for r in result.runs]
    fig, ax = plt.subplots(figsize=(max(4.0, 1.6 * len(data)), 4.0))
    ax.boxplot(data, whis=(1, 99), showfliers=True)
    ax.set_xticks(range(1, len(labels) + 1), labels)
    lows = [min(d) for d in data if d]
    highs = [max(d) for d in data if d]
    log = bool(lows) and min(lows) > 0 and max(highs) / min(lows) > 20
    if log:  # models or providers an order of magnitude apart: keep every box readable
        ax.set_yscale("log")
    ax.set_ylabel("latency per run (ms" + (", log scale)" if log else ")"))
    ax.set_title(f"onnx-preflight bench: {result.model}")
    fig.tight_layout()

    try:
        save_figure_atomically(fig, path, format="png", dpi=120)
    except (OSError, InputError) as exc:
        return f"plot not written: {exc}"
    finally:
        plt.close(fig)
    return None
