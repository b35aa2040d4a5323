"""onnxruntime runs: parity (`verify`) and latency (`bench`), and the layer beneath them.

- `verify(model, reference=..., providers=...) -> ParityResult`: outputs against a reference
  runner (another model, a provider, shipped outputs, onnx.reference, torch, TensorFlow).
- `bench(model, providers=...) -> BenchResult`: session creation, first run, timed runs.
- `runners`: the public runner classes verify builds (one per kind of reference).
- `session.create_session` is the one place an onnxruntime InferenceSession is made;
  `compare.compare` the one definition of every parity metric.
"""

from __future__ import annotations

from analyzer.runtime.bench import BenchResult, bench
from analyzer.runtime.compare import OutputParity, compare
from analyzer.runtime.runners import (
    ExpectedOutputsRunner,
    OnnxReferenceRunner,
    OnnxrtRunner,
    Runner,
    TensorFlowRunner,
    TorchRunner,
)
from analyzer.runtime.session import SessionSpec, create_session
from analyzer.runtime.verify import ParityResult, verify

__all__ = [
    "BenchResult",
    "ExpectedOutputsRunner",
    "OnnxReferenceRunner",
    "OnnxrtRunner",
    "OutputParity",
    "ParityResult",
    "Runner",
    "SessionSpec",
    "TensorFlowRunner",
    "TorchRunner",
    "bench",
    "compare",
    "create_session",
    "verify",
]
