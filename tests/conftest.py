"""Shared fixtures: small real models from ONNX text, and the onnx package's test data."""

from __future__ import annotations

from pathlib import Path

import onnx
import onnx.parser
import pytest

ONNX_TEST_DATA = Path(onnx.__file__).parent / "backend" / "test" / "data"


def parse(text: str) -> onnx.ModelProto:
    """An ONNX model from onnx.parser text (the format the onnxscript rewriter tests use)."""
    return onnx.parser.parse_model(text)


@pytest.fixture
def save_model(tmp_path: Path):
    """Save a ModelProto under tmp_path and return the path."""

    def _save(model: onnx.ModelProto, name: str = "model.onnx") -> Path:
        path = tmp_path / name
        onnx.save_model(model, path)
        return path

    return _save


def shipped_models() -> list[Path]:
    """Every model file the onnx package ships under light/, pytorch-converted/,
    pytorch-operator/ and simple/."""
    paths: list[Path] = []
    for sub in ("light", "pytorch-converted", "pytorch-operator", "simple"):
        paths += sorted((ONNX_TEST_DATA / sub).rglob("*.onnx"))
    return paths


def pytest_collection_modifyitems(config, items):
    """`gpu` tests need onnxruntime's CUDAExecutionProvider; skip them where it is missing."""
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        return
    skip = pytest.mark.skip(reason="CUDAExecutionProvider is not available in this onnxruntime")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
