"""`analyze(model) -> Report`: the core ONNX analysis with the rewrite rules that answer each
finding attached as fixes. This is `analyzer.analyze`; the CLI is a thin layer over it."""

from __future__ import annotations

import os
from collections.abc import Sequence

import onnx

from analyzer.limits import DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_NODES, DEFAULT_MAX_SUBGRAPH_DEPTH
from analyzer.onnx_analysis import analyze_onnx
from analyzer.report.model import Report
from analyzer.workflows.fix_commands import attach_commands
from analyzer.workflows.rule_fixes import attach_rewrite_fixes


def analyze(
    model: str | os.PathLike[str] | onnx.ModelProto,
    opset: int | None = None,
    providers: Sequence[str] = ("CPUExecutionProvider",),
    *,
    max_file_bytes: int | None = DEFAULT_MAX_FILE_BYTES,
    max_nodes: int | None = DEFAULT_MAX_NODES,
    max_subgraph_depth: int = DEFAULT_MAX_SUBGRAPH_DEPTH,
    strict: bool = False,
    graph: bool = False,
    graph_source: bool = True,
) -> Report:
    """Analyze an ONNX model against the ONNX schemas and ORT's kernels for `providers` (in
    priority order, "cpu"/"cuda" accepted), with the rewrite rules that answer each finding
    among its fixes. Raises InputError for input that cannot be read or that exceeds a limit
    (analyzer.limits; None lifts the file size or node count limit). `strict` makes the ONNX-spec
    violations that onnxruntime tolerates (SCH204, SCH206 warnings) errors. The HTML report's node
    graph is built when drawn; `graph=True` builds it now, into the JSON too; `graph_source=False`
    skips keeping what it is drawn from (for a caller that renders no HTML)."""
    report = analyze_onnx(model, opset, providers, max_file_bytes=max_file_bytes,
                          max_nodes=max_nodes, max_subgraph_depth=max_subgraph_depth,
                          attach_fixes=attach_rewrite_fixes, strict=strict, graph=graph,
                          graph_source=graph_source)
    if isinstance(model, (str, os.PathLike)):  # a file: each rule fix gets its command
        attach_commands(report.findings, onnx_model=os.fspath(model), target_opset=opset,
                        providers=report.target.providers)
    return report
