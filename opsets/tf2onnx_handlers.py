"""Which TensorFlow and TFLite ops tf2onnx converts, from which opset, and with what caveats:
a lookup of opsets/data/tf2onnx_handlers.json (never imports tensorflow or tf2onnx).

tf2onnx registers one handler class per op (or group of ops) with ``@tf_op`` / ``@tfl_op``; each
``version_N`` method is the handler used from ONNX opset N up (``tf_op.create_mapping`` stacks
the opsets <= target, so the highest version <= target wins). Handlers in other domains
(``com.microsoft``, ``ai.onnx.contrib``) are only used when the caller passes that domain in
``extra_opset``. TFLite ops are named ``TFL_<BUILTIN>``; a first pass maps most of them onto a
TensorFlow op, which then needs that TF op's handler; a few have their own ONNX handler.
opsets.generators.tf2onnx_handlers reads all this off the installed tf2onnx;
`python -m opsets.generate` writes the table.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from opsets.provenance import Provenance

DATA_DIR = Path(__file__).parent / "data"
TF2ONNX_HANDLERS_PATH = DATA_DIR / "tf2onnx_handlers.json"

ONNX_DOMAIN = ""

Status = Literal["ok", "needs_opset", "extra_opset", "unsupported"]


@dataclass(frozen=True)
class HandlerSupport:
    """tf2onnx's answer for one op at one opset.

    status: ok (a handler at or below the opset), needs_opset (only from min_opset), extra_opset
    (only in a custom domain the caller must enable: extra_domains), unsupported (none at all).
    via: for a TFLite op, the TF op it is converted through (None when handled directly).
    """

    op: str
    opset: int
    status: Status
    min_opset: int | None
    extra_domains: tuple[str, ...] = ()
    caveats: tuple[str, ...] = ()
    via: str | None = None


class Tf2OnnxTable:
    """The shipped tf2onnx handler table."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.provenance = Provenance.from_header(data["provenance"])
        self._tf: dict[str, dict[str, Any]] = data["tf"]
        self._tflite: dict[str, dict[str, Any]] = data["tflite"]

    @property
    def version(self) -> str:
        return str(self.provenance["version"])

    @property
    def max_opset(self) -> int:
        return int(self.provenance["max_opset"])

    def tf_ops(self) -> list[str]:
        return sorted(self._tf)

    def tflite_ops(self) -> list[str]:
        return sorted(self._tflite)

    def record(self, op: str) -> dict[str, Any] | None:
        """The raw record of a TF op or a TFL_ op (None when tf2onnx has no handler)."""
        return self._tflite.get(op) if op.startswith("TFL_") else self._tf.get(op)

    def _caveats(self, record: dict[str, Any], opset: int) -> tuple[str, ...]:
        """Caveats of the handler version in force at `opset` (ai.onnx domain)."""
        versions = [v for v in record["domains"].get(ONNX_DOMAIN, []) if v <= opset]
        if not versions:
            return ()
        return tuple(record["caveats"].get(f"ai.onnx:{max(versions)}", ()))

    def checks(self, op: str, opset: int) -> list[dict[str, str]]:
        """The node-checkable conditions of the handler version in force at `opset` (for a
        TFLite op converted through a TF op: that op's)."""
        record = self.record(op)
        if record is not None and op.startswith("TFL_") and not record["domains"].get(
                ONNX_DOMAIN) and record.get("tf_op"):
            record = self._tf.get(record["tf_op"])
        if record is None:
            return []
        versions = [v for v in record["domains"].get(ONNX_DOMAIN, []) if v <= opset]
        if not versions:
            return []
        return list(record.get("checks", {}).get(f"ai.onnx:{max(versions)}", []))

    def onnx_versions(self, op: str) -> list[int]:
        """The opsets at which an ai.onnx handler is registered (via the TF op for TFLite)."""
        record = self.record(op)
        if record is not None and op.startswith("TFL_") and not record["domains"].get(
                ONNX_DOMAIN) and record.get("tf_op"):
            record = self._tf.get(record["tf_op"])
        return list(record["domains"].get(ONNX_DOMAIN, [])) if record else []

    def tf_support(self, op: str, opset: int) -> HandlerSupport:
        """Support for a TensorFlow op type at an ONNX opset."""
        record = self._tf.get(op)
        if record is None:
            return HandlerSupport(op, opset, "unsupported", None)
        return self._support(op, record, opset)

    def _support(self, op: str, record: dict[str, Any], opset: int) -> HandlerSupport:
        onnx_versions = record["domains"].get(ONNX_DOMAIN, [])
        extra = tuple(sorted(d for d in record["domains"] if d != ONNX_DOMAIN))
        lowest = record["min_opset"]
        if onnx_versions and lowest <= opset:
            return HandlerSupport(op, opset, "ok", lowest, extra, self._caveats(record, opset))
        if extra:
            return HandlerSupport(op, opset, "extra_opset", lowest, extra)
        if onnx_versions:
            return HandlerSupport(op, opset, "needs_opset", lowest)
        return HandlerSupport(op, opset, "unsupported", None)

    def tflite_support(self, op: str, opset: int) -> HandlerSupport:
        """Support for a TFLite op (TFL_<BUILTIN>, or a custom code) at an ONNX opset: its own
        ONNX handler if it has one, else the handler of the TF op its first pass produces."""
        name = op if op.startswith("TFL_") else f"TFL_{op}"
        record = self._tflite.get(name)
        if record is None:
            return HandlerSupport(name, opset, "unsupported", None)
        if record["domains"].get(ONNX_DOMAIN):
            return self._support(name, record, opset)
        target = record.get("tf_op")
        if target:
            inner = self.tf_support(target, opset)
            return HandlerSupport(name, opset, inner.status, inner.min_opset,
                                  inner.extra_domains, inner.caveats, via=target)
        return HandlerSupport(name, opset, "unsupported", None)

    def support(self, op: str, opset: int) -> HandlerSupport:
        """TF or TFLite, by the TFL_ prefix."""
        return self.tflite_support(op, opset) if op.startswith("TFL_") else self.tf_support(
            op, opset)


@functools.lru_cache(maxsize=1)
def load_tf2onnx_handlers() -> Tf2OnnxTable:
    """The shipped table (parsed once per process; never imports tensorflow)."""
    with TF2ONNX_HANDLERS_PATH.open("rb") as fh:
        return Tf2OnnxTable(json.load(fh))

