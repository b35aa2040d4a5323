"""A cell's blocking records: a node no requested provider can run (EP301) is a runtime
blocker filed under the provider that would have had to run it, not an export blocker."""

from __future__ import annotations

import onnx
import onnx.parser

from analyzer.report.scan_summary import blocking_summary
from analyzer.workflows.onnx_preflight import analyze
from analyzer.workflows.scan.worker import blocking

# PRelu-6: onnxruntime's CPU kernels start at PRelu-7, CUDA has none that old either.
PRELU6 = """
<ir_version: 3, opset_import: ["" : 6]>
g (float[2, 3] x, float[3] slope) => (float[2, 3] y) { y = PRelu(x, slope) }
"""


def test_ep301_is_a_runtime_blocker_of_the_last_provider(tmp_path) -> None:
    path = tmp_path / "prelu6.onnx"
    onnx.save(onnx.parser.parse_model(PRELU6), path)
    report = analyze(str(path), providers=("CUDAExecutionProvider", "CPUExecutionProvider"))
    records = blocking(report)
    assert [(r["id"], r["op"], r["provider"]) for r in records] == [
        ("EP301", "PRelu", "CPUExecutionProvider")]
    summary = blocking_summary([{"source": "prelu6", "opset": None, "model_opset": 6,
                                 "exporter": None, "verdict": "fail", "blocking": records}])
    assert [(e["kind"], e["op"], e["provider"]) for e in summary] == [
        ("runtime", "PRelu", "CPUExecutionProvider")]
