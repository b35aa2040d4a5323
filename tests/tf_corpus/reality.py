"""What tf2onnx really does with the corpus (tests/fixtures/tf_corpus.py), cached.

`real_outcomes` converts every corpus source (SavedModel, and TFLite where built) at every
opset with `rewrites.tensorflow.convert.convert_tensorflow` (tf2onnx's Python API, in process: the
corpus already imported TF), and records the op types tf2onnx failed on (unmapped, or whose
handler raised). The answers are cached in .pytest_cache/onnx-preflight-tf-reality/, keyed by
the tensorflow, tf2onnx and onnx versions and a hash of this file, the corpus and the conversion
module, so reruns only pay for building the corpus.
"""

from __future__ import annotations

import hashlib
import json
from importlib import metadata
from pathlib import Path
from typing import Any

from opsets.tf2onnx_handlers import load_tf2onnx_handlers
from rewrites.tensorflow import convert as conversion
from tests.fixtures import tf_corpus

ROOT = Path(__file__).resolve().parents[2]
CACHE_DIR = ROOT / ".pytest_cache" / "onnx-preflight-tf-reality"
OPSETS = (9, 13, 15, 18)


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "none"


def cache_key() -> str:
    digest = hashlib.sha256()
    for path in (tf_corpus.__file__, __file__, conversion.__file__):
        digest.update(Path(path).read_bytes())
    for dist in ("tensorflow-cpu", "tensorflow", "tf2onnx", "onnx", "keras"):
        digest.update(_version(dist).encode())
    return digest.hexdigest()[:16]


def normalize(op: str) -> str:
    """A TFLite op that tf2onnx first maps onto a TF op is reported under the TF op's name."""
    if op.startswith("TFL_"):
        record = load_tf2onnx_handlers().record(op)
        if record and record.get("tf_op") and not record["domains"].get(""):
            return str(record["tf_op"])
    return op


def real_outcomes(corpus: dict[str, dict[str, Path]]) -> dict[str, dict[str, Any]]:
    """{"name|kind|opset": {"problems": [...], "error": str | None}} for the whole corpus."""
    path = CACHE_DIR / f"{cache_key()}.json"
    try:
        cached: dict[str, dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        cached = {}
    changed = False
    for name, sources in sorted(corpus.items()):
        for kind, source in sorted(sources.items()):
            for opset in OPSETS:
                key = f"{name}|{kind}|{opset}"
                if key in cached:
                    continue
                result = conversion.convert_tensorflow(str(source), kind, opset, isolate=False)
                cached[key] = {"problems": sorted({normalize(o) for o in result.problem_ops()}),
                               "error": result.error}
                changed = True
    if changed:
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(cached, indent=1, sort_keys=True), encoding="utf-8")
        tmp.replace(path)
    return cached
