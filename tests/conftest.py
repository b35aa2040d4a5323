"""Shared pytest fixtures (models to import live in tests/fixtures/, not here)."""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest


@pytest.fixture
def save_model(tmp_path: Path):
    """Save a ModelProto under tmp_path and return the path."""

    def _save(model: onnx.ModelProto, name: str = "model.onnx") -> Path:
        path = tmp_path / name
        onnx.save_model(model, path)
        return path

    return _save


def pytest_collection_modifyitems(config, items):
    """`gpu` tests need onnxruntime's CUDAExecutionProvider; skip them where it is missing."""
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        return
    skip = pytest.mark.skip(reason="CUDAExecutionProvider is not available in this onnxruntime")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
