"""The one call of torch.onnx.export: quiet, its failure turned into finding EXP107.

Lives in the analyzer core (not in a workflow) because the rewrite rules' own test helpers and
the export workflow both run it, and rewrites sit below the workflows."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from analyzer.finding_ids import EXP107
from analyzer.findings import Finding
from analyzer.sources.torch_capture import quiet_torch


def run_export(module: Any, args: tuple[Any, ...], kwargs: dict[str, Any] | None, path: Path,
                opset: int, exporter: str, dynamic_shapes: Any,
                translations: dict[Any, Any] | None = None) -> Finding | None:
    """torch.onnx.export; `translations` is the dynamo exporter's custom_translation_table."""
    import torch

    with warnings.catch_warnings(), quiet_torch():
        warnings.simplefilter("ignore")
        try:
            extra: dict[str, Any] = (
                {"custom_translation_table": translations} if translations else {})
            torch.onnx.export(module, args, str(path), kwargs=kwargs, opset_version=opset,
                              dynamo=exporter == "dynamo", dynamic_shapes=dynamic_shapes,
                              verbose=False, **extra)
        except Exception as exc:  # noqa: BLE001 - the export's failure is the report's subject
            first = next((ln.strip() for ln in str(exc).splitlines() if ln.strip()),
                         type(exc).__name__)
            return Finding(EXP107.id, "error",
                           f"torch.onnx.export ({exporter}, opset {opset}) failed: {first[:300]}")
    if not path.exists():
        return Finding(EXP107.id, "error", "torch.onnx.export wrote no file")
    return None
