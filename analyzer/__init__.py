"""onnx-preflight's analyzer: load a model, build its op inventory, run checks, report.

The public Python API, one import away (docs/design.md, "Public API"):

- `analyze(path_or_ModelProto, opset=None, providers=("cpu",)) -> Report`: ONNX analysis
- `analyze_torch(module, example_inputs, opset=18, exporter="dynamo") -> Report`
- `export_torch(module, example_inputs, "out.onnx", opset=..., rewrite=False) -> Report`
- `analyze_tensorflow(path_or_keras_model, opset=15, ...) -> Report`
- `export_tensorflow(source, "out.onnx", opset=..., rewrite=False) -> Report`

The rewrite pass is `rewrites.apply` (and `analyzer.workflows.rewrite_pipeline.run_pass`, the
findings-driven pass); parity and latency are `analyzer.runtime.verify` and
`analyzer.runtime.bench`. Nothing here imports torch or tensorflow: the workflows import them
inside the functions that run them, so `import analyzer` stays fast.
"""

from __future__ import annotations

from analyzer.errors import InputError
from analyzer.report.model import Report
from analyzer.workflows.onnx_preflight import analyze
from analyzer.workflows.tf_convert import export_tensorflow
from analyzer.workflows.tf_preflight import analyze_tensorflow
from analyzer.workflows.torch_export import export_torch
from analyzer.workflows.torch_preflight import analyze_torch

__all__ = [
    "InputError",
    "Report",
    "analyze",
    "analyze_tensorflow",
    "analyze_torch",
    "export_tensorflow",
    "export_torch",
]
