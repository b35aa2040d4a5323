"""onnx-preflight's analyzer: load a model, build its op inventory, run checks, report.

Only onnx-level modules are imported here; torch and tensorflow are imported by the functions
that need them, so `import analyzer` stays fast.
"""

from __future__ import annotations

from analyzer.api import analyze
from analyzer.errors import InputError
from analyzer.report.model import Report

__all__ = ["InputError", "Report", "analyze"]
