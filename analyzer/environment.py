"""What produced a report: the tool's version and the installed versions of its libraries."""

from __future__ import annotations

from importlib import metadata

TOOL_NAME = "onnx-preflight"


def tool_version() -> str:
    try:
        return metadata.version(TOOL_NAME)
    except metadata.PackageNotFoundError:
        return "0+unknown"


def environment() -> dict[str, str | None]:
    """Installed versions, read from package metadata so torch/tensorflow are never imported."""
    out: dict[str, str | None] = {}
    for dist, key in (("onnx", "onnx"), ("onnxruntime", "onnxruntime"), ("torch", "torch"),
                      ("tensorflow-cpu", "tensorflow"), ("tf2onnx", "tf2onnx")):
        try:
            out[key] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            if key == "tensorflow":
                try:
                    out[key] = metadata.version("tensorflow")
                    continue
                except metadata.PackageNotFoundError:
                    pass
            out[key] = None
    return out
