"""Which default-domain ONNX ops survive conversion from opset 18 to a lower (or higher) opset:
a lookup of the measured table opsets/data/onnx_downconvert.json.

The dynamo exporter (torch 2.13) builds its model at opset 18 when a lower ``opset_version`` is
requested and then down-converts the finished model with onnx's version converter; when that
raises, torch only logs a warning and returns the opset-18 model, so one op without a down
adapter leaves the whole export at opset 18. opsets.generators.onnx_downconvert measures, per
default-domain op, which targets a one-node opset-18 model converts to (the details of the
probe are in its docstring); `python -m opsets.generate` writes the table.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opsets.provenance import Provenance

DATA_DIR = Path(__file__).parent / "data"
DOWNCONVERT_PATH = DATA_DIR / "onnx_downconvert.json"
#: the opset the dynamo exporter builds at, and the probes start from
FROM_OPSET = 18


@dataclass(frozen=True)
class DownconvertOp:
    """One op's measured conversions from opset 18: target -> True or the converter's reason."""

    op: str
    since_version: int
    results: dict[int, bool | str]

    def lowest_target(self) -> int | None:
        """The lowest probed target below 18 that every step down to it succeeds for."""
        lowest = None
        for target in sorted((t for t in self.results if t < FROM_OPSET), reverse=True):
            if self.results[target] is not True:
                break
            lowest = target
        return lowest


class DownconvertTable:
    """Measured onnx version-converter answers for one-node models, from opset 18."""

    def __init__(self, data: dict[str, Any]) -> None:
        header = data["provenance"]
        self.provenance = Provenance.from_header(header)
        self.library: str = self.provenance.library
        self.version: str = self.provenance.version
        self.generated: str = self.provenance.generated
        self.source: str = self.provenance.source
        self.from_opset: int = header["from_opset"]
        targets = {"down": header["down_targets"], "up": header["up_targets"]}
        self._ops = {
            op: DownconvertOp(
                op,
                r["since"],
                {
                    t: v
                    for part in ("down", "up")
                    for t, v in zip(targets[part], r[part], strict=True)
                },
            )
            for op, r in data["ops"].items()
        }
        self.skipped: dict[str, str] = dict(data["skipped"])

    def ops(self) -> list[str]:
        return sorted(self._ops)

    def get(self, op: str) -> DownconvertOp | None:
        return self._ops.get(op)

    def converts(self, op: str, from_opset: int = FROM_OPSET, to_opset: int = 17) -> bool | None:
        """True / False as measured; None when not measured (op skipped or unknown, or a
        from/to opset outside the probe)."""
        record = self._ops.get(op)
        if record is None or from_opset != self.from_opset:
            return None
        if to_opset == from_opset:
            return True
        result = record.results.get(to_opset)
        return None if result is None else result is True

    def reason(self, op: str, to_opset: int) -> str | None:
        """The converter's error (first line) when `op` does not convert to `to_opset`; the skip
        reason for an op without a probe; None when it converts or was not measured."""
        record = self._ops.get(op)
        if record is None:
            return self.skipped.get(op)
        result = record.results.get(to_opset)
        return result if isinstance(result, str) else None


@functools.lru_cache(maxsize=1)
def load_downconvert() -> DownconvertTable:
    """The shipped table (parsed once per process)."""
    return DownconvertTable(json.loads(DOWNCONVERT_PATH.read_text(encoding="utf-8")))
