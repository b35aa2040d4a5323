"""Which default-domain (op, since_version) pairs the torch exporters emit: the rows of the
down-conversion coverage table (opsets/data/downconvert_coverage.json).

- dynamo: the ONNX op types its torchlib translations may emit, as the shipped
  opsets/data/torch_converters.json records them (read off the installed torch / onnxscript by
  opsets.generators.torch_converters), resolved at opset 18 (what the exporter builds at when a
  lower opset is asked for) and at its default opset (20 in torch 2.13).
- TorchScript: the op types named as string constants in its symbolic modules
  (``torch/onnx/_internal/torchscript_exporter/symbolic_*.py``: ``g.op("Resize", ...)`` and the
  names handed to helpers, such as ``_reduce_with_dtype("ReduceMean", ...)``), read from the
  source text without importing torch, resolved at its newest opset (20). This over-approximates
  (a name used only by an older opset's symbolic is resolved at 20 too) and misses names built
  at run time; ops deprecated at 20 (Upsample, Scatter) are left out because the exporter
  cannot emit them at 20.
"""

from __future__ import annotations

import ast
import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path

import onnx.defs

from opsets.torch_converters import TORCH_CONVERTERS_PATH

#: the opset the dynamo exporter builds at below its default (and the probes' lowest source)
DYNAMO_BUILD_OPSET = 18


@dataclass(frozen=True)
class EmittedPair:
    """One (op, since_version) an exporter emits, at the lowest model opset it was seen at."""

    op: str
    since: int
    opset: int
    exporters: tuple[str, ...]


def _since(op: str, opset: int) -> int | None:
    try:
        schema = onnx.defs.get_schema(op, opset, "")
    except onnx.defs.SchemaError:
        return None
    if schema.deprecated:
        return None
    return int(schema.since_version)


def dynamo_op_types() -> tuple[set[str], int]:
    """(op types the dynamo translations may emit, the exporter's default opset)."""
    data = json.loads(TORCH_CONVERTERS_PATH.read_text(encoding="utf-8"))["dynamo"]
    ops = {op for record in data["ops"].values() for impl in record["impls"]
           for op in impl["onnx_ops"] or ()}
    return ops, int(data["default_opset"])


def torchscript_sources() -> list[Path]:
    """The TorchScript exporter's symbolic modules in the installed torch (none without it)."""
    spec = importlib.util.find_spec("torch")
    if spec is None or spec.origin is None:
        return []
    folder = Path(spec.origin).parent / "onnx" / "_internal" / "torchscript_exporter"
    return sorted(folder.glob("symbolic_*.py"))


def torchscript_op_types(names: set[str]) -> set[str]:
    """String constants of the symbolic modules that name a default-domain op (`names`)."""
    found: set[str] = set()
    for path in torchscript_sources():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                    and node.value in names):
                found.add(node.value)
    return found


def torchscript_opset() -> int:
    data = json.loads(TORCH_CONVERTERS_PATH.read_text(encoding="utf-8"))["torchscript"]
    return int(data["max_opset"])


def emitted_pairs() -> list[EmittedPair]:
    """Every default-domain (op, since_version) the two exporters emit, sorted."""
    names = {s.name for s in onnx.defs.get_all_schemas_with_history() if s.domain == ""}
    dynamo, default = dynamo_op_types()
    sources: list[tuple[str, int, set[str]]] = [
        (f"dynamo@{DYNAMO_BUILD_OPSET}", DYNAMO_BUILD_OPSET, dynamo),
        (f"dynamo@{default}", default, dynamo),
        (f"torchscript@{torchscript_opset()}", torchscript_opset(), torchscript_op_types(names)),
    ]
    pairs: dict[tuple[str, int], tuple[int, list[str]]] = {}
    for label, opset, ops in sources:
        for op in sorted(ops):
            since = _since(op, opset)
            if since is None:
                continue
            low, labels = pairs.get((op, since), (opset, []))
            pairs[(op, since)] = (min(low, opset), [*labels, label])
    return [EmittedPair(op, since, opset, tuple(labels))
            for (op, since), (opset, labels) in sorted(pairs.items())]
