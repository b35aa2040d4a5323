"""Dynamo translations that exist but raise on some arguments, and on which.

The converter table (opsets.torch_converters) says whether torchlib has a translation for an
ATen overload; it cannot say that the translation asserts on its arguments' ranks or dtypes.
Those asserts run in step 3/3 of ``torch.onnx.export(dynamo=True)`` ("Failed to convert the
exported program to an ONNX model") on a graph that torch.export captured and decomposed
without complaint, so a table-only pre-flight predicts PASS. Each entry here is one such
assert, read off the torchlib source it names, with the argument condition it checks; the
pre-flight checks the condition on each node's real argument metadata (``node.meta["val"]``).
tests/torch/test_translation_limits.py re-checks every entry against the real exporter, so an
onnxscript release that lifts (or moves) a limit fails a test instead of drifting silently.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RankLimit:
    """The translation of `overload` raises unless the tensor arguments at `args` have one of
    `ranks`; applies to registry opsets in [min_opset, max_opset]."""

    overload: str  # "aten::scaled_dot_product_attention"
    args: tuple[int, ...]
    ranks: tuple[int, ...]
    raises: str  # the exporter's own message
    source: str  # where the assert lives
    fix: str
    min_opset: int = 18
    max_opset: int = 10_000  # measured at 18, 20, 22 and 23 (torch 2.13, onnxscript 0.7.2)

    def applies(self, registry_opset: int) -> bool:
        return self.min_opset <= registry_opset <= self.max_opset


RANK_LIMITS: tuple[RankLimit, ...] = (
    RankLimit(
        "aten::scaled_dot_product_attention", (0, 1, 2), (4,),
        "only 4D query, key, and value are supported",
        "onnxscript/function_libs/torch_lib/ops/nn.py: aten_scaled_dot_product_attention",
        "fold the extra leading dimensions into the batch before the call "
        "(q.flatten(0, q.dim() - 4), likewise k and v, and unflatten the result), or register "
        "a translation: torch.onnx.export(..., custom_translation_table="
        "{torch.ops.aten.scaled_dot_product_attention.default: fn}), or the torchscript "
        "exporter (dynamo=False)",
    ),
)


def rank_limits(overload: str, registry_opset: int) -> list[RankLimit]:
    """The rank limits of `overload`'s translation at the registry's opset."""
    return [lim for lim in RANK_LIMITS
            if lim.overload == overload and lim.applies(registry_opset)]
