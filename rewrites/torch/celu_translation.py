"""torch:translate-celu: a translation for aten::celu where the exporter has none, as
alpha * Elu(x / alpha).

ONNX Celu exists from opset 12. The TorchScript exporter registers aten::celu from opset 12
only (below it the export raises "Exporting the operator 'aten::celu' to ONNX opset version 11
is not supported"); the dynamo exporter translates it to Celu, which onnx's converter cannot take
below 12. The op is fine in torch, only its ONNX form is missing, so this rule registers a
translation through each exporter's own mechanism, for the duration of the export:
TorchScript `torch.onnx.register_custom_op_symbolic("aten::celu", ..., opset)`, dynamo
`custom_translation_table={aten.celu.default: ...}` (an onnxscript function). Elu exists from
opset 6. Exact: celu(x, a) = max(0, x) + min(0, a (exp(x / a) - 1)) = a * elu(x / a).
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

OP = "aten::celu"


def celu_symbolic(g: Any, input: Any, alpha: Any) -> Any:
    """TorchScript symbolic: alpha * Elu(input / alpha), constants in the input's dtype."""
    import torch
    from torch.onnx import symbolic_helper

    a = symbolic_helper._maybe_get_const(alpha, "f")
    if float(a) == 1.0:
        return g.op("Elu", input, alpha_f=1.0)
    dtype = torch.float32
    with contextlib.suppress(Exception):  # an untyped input keeps float32
        dtype = input.type().dtype()
    const = g.op("Constant", value_t=torch.tensor(float(a), dtype=dtype))
    return g.op("Mul", g.op("Elu", g.op("Div", input, const), alpha_f=1.0), const)


def celu_translation(input: Any, alpha: float = 1.0) -> Any:
    """dynamo translation (traced by the exporter with onnxscript's opset 18 ops)."""
    import numpy as np
    import onnx_ir as ir
    from onnxscript import opset18 as op

    if float(alpha) == 1.0:
        return op.Elu(input, alpha=1.0)
    dtype = input.dtype.numpy() if getattr(input, "dtype", None) is not None else np.float32
    const = op.Constant(value=ir.tensor(np.array(alpha, dtype=dtype)))  # type: ignore[arg-type]
    return op.Mul(op.Elu(op.Div(input, const), alpha=1.0), const)


class CeluTranslation(TorchRuleBase):
    """The rule object (see rewrites.torch.rule.TorchRule)."""

    id = "torch:translate-celu"
    summary = "a translation for aten::celu as alpha * Elu(x / alpha) (ONNX Celu needs opset 12)"
    targets = (TorchTarget(OP, "torchscript", (7, 11)), TorchTarget(OP, "dynamo", (7, 11)))
    exact = True
    ops = (OP,)

    def check(self, source: SourceModel, item: None = None) -> TorchMatch | Reason:
        uses = source.uses(self.ops)
        if source.ops is not None and not uses:
            return Reason(self.id, "", "the capture shows no aten::celu call")
        if source.exporter == "torchscript" and custom_symbolic_registered(OP, source.opset):
            return Reason(self.id, "", f"a custom symbolic for {OP} at opset {source.opset} is "
                          "already registered; it is left in place")
        return Match(self.id, SourceChange(calls=tuple(u.node for u in uses),
                          note=f"translation registered with the {source.exporter} exporter"))

    def apply(self, source: SourceModel, match: TorchMatch) -> contextlib.AbstractContextManager[
            Any]:
        if source.exporter == "torchscript":
            return SymbolicOverride(OP, celu_symbolic, source.opset)
        import torch

        return TranslationOverride(source, torch.ops.aten.celu.default, celu_translation)


RULE = CeluTranslation()
