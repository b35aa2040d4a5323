"""onnx-preflight's analyzer: load a model, build its op inventory, run checks, report.

Only onnx-level modules are imported here; torch and tensorflow are imported by the functions
that need them, so `import analyzer` stays fast.
"""

from __future__ import annotations

from typing import Any

from analyzer.api import analyze
from analyzer.errors import InputError
from analyzer.report.model import Report


def analyze_tensorflow(source: Any, *args: Any, **kwargs: Any) -> Report:
    """TensorFlow / TFLite / Keras pre-flight (analyzer.tf_api.analyze_tensorflow); the TF
    modules are imported only when this is called."""
    from analyzer.tf_api import analyze_tensorflow as run

    return run(source, *args, **kwargs)


__all__ = ["InputError", "Report", "analyze", "analyze_tensorflow"]
