"""torch:translate-trilu: translations for aten::tril / aten::triu where the exporter has none, from
Range / Sub / Greater / Less / Not / Where (every opset from 11).

ONNX Trilu exists from opset 14. The TorchScript exporter registers tril / triu from opset 14
only (below it the export raises "Exporting the operator 'aten::tril' to ONNX opset version 13
is not supported"); the dynamo exporter translates them to Trilu, which no converter takes below
14 (found by the sdpa tests: a causal mask built with `torch.ones(n, n).tril()`). This rule
registers a translation through each exporter's own mechanism for the duration of the export,
as torch:translate-celu does. Exact: element (i, j) of the last two axes is kept when j - i <= k
(tril) or j - i >= k (triu), else 0, as torch defines them.
"""

from __future__ import annotations

import contextlib
from typing import Any

from rewrites.contract import Match, Reason
from rewrites.torch.rule import (
    SourceChange,
    SourceModel,
    SymbolicOverride,
    TorchMatch,
    TorchRuleBase,
    TorchTarget,
    TranslationOverride,
    custom_symbolic_registered,
)

OPS = ("aten::tril", "aten::triu")


def _symbolic(lower: bool) -> Any:
    def symbolic(g: Any, input: Any, diagonal: Any) -> Any:
        """TorchScript symbolic: Where(keep(i, j), input, 0) over the last two axes."""
        import torch
        from torch.onnx import symbolic_helper

        k = int(symbolic_helper._maybe_get_const(diagonal, "i"))

        def const(value: Any, dtype: Any = torch.int64) -> Any:
            return g.op("Constant", value_t=torch.tensor(value, dtype=dtype))

        shape = g.op("Shape", input)
        rows = g.op("Range", const(0), g.op("Gather", shape, const(-2), axis_i=0), const(1))
        cols = g.op("Range", const(0), g.op("Gather", shape, const(-1), axis_i=0), const(1))
        offset = g.op("Sub", cols, g.op("Reshape", rows, const([-1, 1])))  # j - i
        drop = g.op("Greater" if lower else "Less", offset, const(k))
        dtype = torch.float32
        with contextlib.suppress(Exception):  # an untyped input keeps float32
            dtype = input.type().dtype()
        return g.op("Where", g.op("Not", drop), input, const(0, dtype))

    return symbolic


def _translation(lower: bool) -> Any:
    def translation(input: Any, diagonal: int = 0) -> Any:
        """dynamo translation (traced by the exporter with onnxscript's opset 18 ops)."""
        import numpy as np
        import onnx_ir as ir
        from onnxscript import opset18 as op

        def const(value: Any, dtype: Any = np.int64) -> Any:
            return op.Constant(value=ir.tensor(np.array(value, dtype=dtype)))  # type: ignore[arg-type]

        shape = op.Shape(input)
        rows = op.Range(const(0), op.Gather(shape, const(-2), axis=0), const(1))
        cols = op.Range(const(0), op.Gather(shape, const(-1), axis=0), const(1))
        offset = op.Sub(cols, op.Reshape(rows, const([-1, 1])))
        drop = (op.Greater if lower else op.Less)(offset, const(int(diagonal)))
        dtype = input.dtype.numpy() if getattr(input, "dtype", None) is not None else np.float32
        return op.Where(op.Not(drop), input, const(0, dtype))

    return translation


class TriluTranslation(TorchRuleBase):
    """The rule object (see rewrites.torch.rule.TorchRule)."""

    id = "torch:translate-trilu"
    summary = "translations for aten::tril / triu from Range and comparisons (Trilu needs 14)"
    targets = tuple(TorchTarget(op, exporter, (11, 13)) for op in OPS
                    for exporter in ("torchscript", "dynamo"))
    exact = True
    ops = OPS

    def check(self, source: SourceModel, item: None = None) -> TorchMatch | Reason:
        uses = source.uses(self.ops)
        if source.ops is not None and not uses:
            return Reason(self.id, "", "the capture shows no aten::tril / aten::triu call")
        if source.exporter == "torchscript" and any(
                custom_symbolic_registered(op, source.opset) for op in OPS):
            return Reason(self.id, "", "a custom symbolic for aten::tril / triu at opset "
                          f"{source.opset} is already registered; it is left in place")
        return Match(self.id, SourceChange(calls=tuple(u.node for u in uses),
                          note=f"translation registered with the {source.exporter} exporter"))

    def apply(self, source: SourceModel, match: TorchMatch) -> contextlib.AbstractContextManager[
            Any]:
        stack = contextlib.ExitStack()
        with stack:
            if source.exporter == "torchscript":
                for op, lower in (("aten::tril", True), ("aten::triu", False)):
                    stack.enter_context(SymbolicOverride(op, _symbolic(lower), source.opset))
            else:
                import torch

                for target, lower in ((torch.ops.aten.tril.default, True),
                                      (torch.ops.aten.triu.default, False)):
                    stack.enter_context(TranslationOverride(source, target, _translation(lower)))
            return stack.pop_all()


RULE = TriluTranslation()
