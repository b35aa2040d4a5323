"""Resource limits on what the analyzer accepts, and how a refusal says to raise them.

Each limit guards a cost that grows with hostile input: memory to read a file, time and memory
per node, stack-like work per level of subgraph nesting, and the memory of the example inputs
that verify, bench and the PyTorch export allocate. The defaults are far above real models; a
refusal names the limit and the flag (or API argument) that raises it. Options out of range
(an opset onnx does not know) are refused here too, before any work.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import onnx
import onnx.defs

from analyzer.error_codes import INPUT_TOO_LARGE, OPSET_OUT_OF_RANGE
from analyzer.errors import InputError

#: Bytes of a model file read into memory. External data is not counted: analysis never reads it.
DEFAULT_MAX_FILE_BYTES = 4 * 2**30
#: Nodes in all graphs of a model (subgraphs and local functions included).
DEFAULT_MAX_NODES = 5_000_000
#: Subgraph (If/Loop/Scan body) nesting; the main graph is depth 0.
DEFAULT_MAX_SUBGRAPH_DEPTH = 32

#: limit name -> (CLI flag, Python API keyword)
_FLAGS = {
    "file size": ("--max-file-size BYTES", "max_file_bytes"),
    "node count": ("--max-nodes N", "max_nodes"),
    "subgraph depth": ("--max-subgraph-depth N", "max_subgraph_depth"),
    "input bytes": ("--max-input-bytes BYTES", "max_input_bytes"),
}

#: Share of the machine's physical memory that example inputs may take by default.
INPUT_MEMORY_SHARE = 4
#: Used when the physical memory cannot be read (os.sysconf is missing or says nothing).
FALLBACK_MAX_INPUT_BYTES = 4 * 2**30


def raise_hint(limit: str) -> str:
    """'raise it with --max-nodes N (max_nodes= in the Python API)' for a limit name."""
    flag, keyword = _FLAGS[limit]
    return f"raise it with {flag} ({keyword}= in the Python API)"


def check_opset(opset: int | None, name: str = "opset") -> None:
    """Refuse an ai.onnx opset below 1 or newer than the installed onnx knows: nothing could be
    checked against it (the schemas end there). `name` is how the message names the option
    ("--opset", "--target-opset", or the Python keyword)."""
    if opset is None:
        return
    newest = onnx.defs.onnx_opset_version()
    if isinstance(opset, bool) or not isinstance(opset, int) or not 1 <= opset <= newest:
        raise InputError(None, OPSET_OUT_OF_RANGE,
                         f"{name} {opset}: onnx {onnx.__version__} knows ai.onnx opsets 1 to "
                         f"{newest}")


def default_max_input_bytes() -> int:
    """A quarter of the machine's physical memory: inputs beyond it would crowd out the model
    and the runtime, however much memory is free right now."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):
        total = 0
    return total // INPUT_MEMORY_SHARE if total > 0 else FALLBACK_MAX_INPUT_BYTES


#: Bytes of example inputs (all of them, all samples) allocated by verify, bench and the PyTorch
#: export: a quarter of this machine's physical memory (default_max_input_bytes).
DEFAULT_MAX_INPUT_BYTES = default_max_input_bytes()


def human_bytes(count: int) -> str:
    """1536 -> '1.5 KiB' (binary units, as memory is counted)."""
    size = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if size < 1024 or unit == "PiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{count} B"  # pragma: no cover - the loop always returns


@dataclass(frozen=True)
class PlannedInput:
    """An input about to be allocated: its name, concrete shape, dtype name and element size."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    itemsize: int

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.itemsize


def check_input_bytes(path: str | os.PathLike[str] | None, inputs: Sequence[PlannedInput],
                      limit: int | None, samples: int = 1) -> None:
    """Refuse inputs that would need more than `limit` bytes (None or 0: no limit) before any
    is allocated: numpy would fail (MemoryError) or, worse, the machine would swap. One input
    over the limit is named with its shape and bytes; else `samples` sets of them all together
    are checked, naming the largest."""
    if not limit or not inputs:
        return
    where = Path(path) if path is not None else None
    hint = f"over the limit of {human_bytes(limit)}; {raise_hint('input bytes')}"
    for item in inputs:
        if item.nbytes > limit:
            raise InputError(where, INPUT_TOO_LARGE,
                             f"input '{item.name}' of shape {list(item.shape)} ({item.dtype}) "
                             f"needs {human_bytes(item.nbytes)} ({item.nbytes} bytes), {hint}")
    total = samples * sum(item.nbytes for item in inputs)
    if total > limit:
        big = max(inputs, key=lambda item: item.nbytes)
        raise InputError(where, INPUT_TOO_LARGE,
                         f"{len(inputs)} input(s) x {samples} sample(s) need "
                         f"{human_bytes(total)} ({total} bytes), the largest input '{big.name}' "
                         f"of shape {list(big.shape)} ({big.dtype}) {human_bytes(big.nbytes)}; "
                         f"{hint}")
