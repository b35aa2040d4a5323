"""Export with source rules: the proposed rules' contexts around torch.onnx.export, and for the
dynamo exporter below opset 18 the build at 18 followed by rewrites.torch.lowering.

Called by analyzer.workflows.torch_export.export_torch(..., rewrite=True | rules=[...]); the
caller writes the file atomically, analyzes it and verifies it against the (restored) module.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import onnx

from analyzer.findings import Finding
from analyzer.report.model import RewritesBlock, RuleOutcome
from analyzer.safe_write import save_onnx_atomically
from rewrites.torch.lowering import lower
from rewrites.torch.proposals import TorchProposal, applied, propose
from rewrites.torch.rule import SourceModel, TorchRule

DYNAMO_BUILD_OPSET = 18

#: run_export(module, args, kwargs, path, opset, exporter, dynamic_shapes, translations)
ExportFn = Callable[..., Finding | None]


@dataclass
class SourceRewrite:
    """What the rules did for one export: each rule's proposal, the ids applied, and the dynamo
    lowering (build opset, held ops, or the converter's complaint)."""

    proposals: list[TorchProposal]
    applied: list[str] = field(default_factory=list)
    lowering: dict[str, Any] | None = None

    def to_block(self) -> RewritesBlock:
        """The report's rewrites block (family "torch"): the ids applied, each rule's proposal
        (its module paths and call sites as `nodes`; modules, call count and change in
        `details`), and the lowering."""
        rules = []
        for p in self.proposals:
            change = p.match.payload if p.match is not None else None
            details: dict[str, Any] = {}
            nodes: list[str] = []
            if change is not None:
                nodes = [*change.modules, *change.calls]
                details = {"modules": list(change.modules), "calls": len(change.calls),
                           "change": change.describe()}
            rules.append(RuleOutcome(p.rule, p.exact, p.status, nodes, p.reason, details))
        return RewritesBlock("torch", applied=list(self.applied), rules=rules,
                             lowering=self.lowering)


def plan(module: Any, exporter: str, opset: int, ops: Sequence[Any] | None,
         only: Collection[str] | None = None,
         rules: Sequence[TorchRule] | None = None) -> tuple[SourceModel, SourceRewrite]:
    """The source model and the rules proposed for it (`only`: the named rules)."""
    source = SourceModel(module, exporter, opset, ops)
    return source, SourceRewrite(propose(source, rules, only))


def export_with_rules(source: SourceModel, rewrite: SourceRewrite, run_export: ExportFn,
                      args: tuple[Any, ...], kwargs: dict[str, Any] | None, path: Path,
                      dynamic_shapes: Any) -> Finding | None:
    """Run `run_export` inside the proposed rules' contexts, then lower a dynamo build to the
    requested opset. Returns the export's failure finding, or None when `path` was written
    (a failed lowering leaves the opset-18 file and says why in `rewrite.lowering`)."""
    opset = source.opset
    build = DYNAMO_BUILD_OPSET if source.exporter == "dynamo" and opset < DYNAMO_BUILD_OPSET \
        else opset
    with applied(source, rewrite.proposals) as ids:
        rewrite.applied = ids
        error = run_export(source.module, args, kwargs, path, build, source.exporter,
                           dynamic_shapes, source.translations or None)
    if error is not None or build == opset:
        return error
    rewrite.lowering = _lower(path, build, opset)
    return None


def _lower(path: Path, build: int, opset: int) -> dict[str, Any]:
    # Read without the weights first: onnx.load marks every tensor it loads as inline, so
    # whether the exporter wrote them beside the model must be asked before loading them.
    header = onnx.load(str(path), load_external_data=False)
    locations = {entry.value for init in header.graph.initializer
                 if init.data_location == onnx.TensorProto.EXTERNAL
                 for entry in init.external_data if entry.key == "location"}
    model = onnx.load(str(path))
    lowered = lower(model, opset)
    if lowered.model is None:
        return {"built_at": build, "target": opset, "error": lowered.error,
                "failed_op": lowered.failed_op}
    # The build's data files are replaced, never appended to (onnx.save_model appends to an
    # existing data file) and never left behind beside an inlined model.
    for location in locations:
        (path.parent / location).unlink(missing_ok=True)
    if locations:  # keep the exporter's layout: weights beside the model
        save_onnx_atomically(lowered.model, path, external_data=True)
    else:
        save_onnx_atomically(lowered.model, path)
    return {"built_at": build, "target": opset, "held": lowered.held}
