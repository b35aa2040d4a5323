"""Which contrib ops ONNX Runtime inlines from function bodies of its own (a lookup of the
measured table opsets/data/ort_inlining.json).

ORT inlines a node that no execution provider claims when the node's schema has a function body
(Node::TryGetFunctionProto). For the ai.onnx domain the bodies are onnx's, which the analyzer
reads from the onnx package (analyzer/checks/function_expansion.py). Some com.microsoft ops
(Gelu, FastGelu, QuickGelu, ...) carry bodies that onnxruntime registers itself, and its Python
API exposes neither the flag nor the body: opsets.generators.ort_inlining measures them with
real CPU sessions; `python -m opsets.generate` writes the table.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

DATA_DIR = Path(__file__).parent / "data"
INLINING_PATH = DATA_DIR / "ort_inlining.json"


@dataclass(frozen=True)
class OrtFunction:
    """What ORT does with a contrib op that no kernel claims, per element type of its primary
    input: "inlined" (a body replaced the node) or "none" (session creation fails on the node)."""

    domain: str
    op: str
    since_version: int
    types: dict[str, str]
    #: the body ORT inlined, as onnx function text, with constants typed as `body_type`
    body: str | None
    body_type: str | None


@functools.lru_cache(maxsize=1)
def _load() -> dict[tuple[str, str], OrtFunction]:
    try:
        data = json.loads(INLINING_PATH.read_text(encoding="utf-8"))
    except OSError:
        return {}
    return {
        (domain, op): OrtFunction(
            domain, op, r["since_version"], dict(r["types"]), r["body"], r["body_type"]
        )
        for domain, ops in data["functions"].items()
        for op, r in ops.items()
    }


def ort_function(domain: str, op: str, since_version: int | None) -> OrtFunction | None:
    """The measured record for a contrib op version, or None when ORT inlines it for no type."""
    record = _load().get((domain, op))
    if record is None or record.since_version != since_version:
        return None
    return record
