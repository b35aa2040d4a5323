"""What to do about a node that falls back from an accelerator, by situation.

A generic "change the types or replace the op" is right only when nothing better is known. For
the common situations the answer is specific, and often a command: the table below holds each
situation's text and, where one exists, the code or command that carries it out. The provider
checks (EP302) pick the first situation that applies to a node (`fallback_fix`); the generic
text is the fallback.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from analyzer.inventory import NodeRecord
from opsets.query import match_kernel
from opsets.tables import SchemaTable, short_provider

__all__ = ["FIX_TEXTS", "FixText", "fallback_fix", "situation_of"]

DOUBLE = "tensor(double)"
FLOAT = "tensor(float)"

#: Ops of dynamic (runtime-computed scale) quantization: onnxruntime.quantization.quantize_dynamic
#: writes them; the accelerators have few or no kernels for them.
DYNAMIC_QUANTIZATION_OPS = frozenset({
    ("", "DynamicQuantizeLinear"), ("", "MatMulInteger"), ("", "ConvInteger"),
    ("com.microsoft", "DynamicQuantizeMatMul"), ("com.microsoft", "MatMulIntegerToFloat"),
    ("com.microsoft", "DynamicQuantizeLSTM"),
})
#: Domains whose ops onnxruntime implements on the CPU provider only.
CPU_ONLY_DOMAINS = frozenset({"ai.onnx.ml"})


@dataclass(frozen=True)
class FixText:
    """One situation's fix: what to do (`{provider}` is the accelerator's short name) and the
    command or code change that does it, where one exists."""

    situation: str
    text: str
    code: str = ""

    def hint(self, provider: str) -> str:
        """The text for `provider`, with its code appended."""
        text = self.text.format(provider=short_provider(provider))
        return f"{text}: {self.code}" if self.code else text


FIX_TEXTS: Mapping[str, FixText] = MappingProxyType({
    "cpu-only-domain": FixText(
        "cpu-only-domain",
        "CPU-only in onnxruntime: keep this part on the CPU provider (no {provider} kernels "
        "exist); a classic-ML stage (ai.onnx.ml) is cheap on CPU, and the device copy around it "
        "is the cost to watch",
    ),
    "dynamic-quantization": FixText(
        "dynamic-quantization",
        "dynamic quantization has no {provider} kernels for these types: quantize statically "
        "in QDQ format instead (QuantizeLinear/DequantizeLinear have {provider} kernels, and "
        "TensorRT runs QDQ models in int8), from the float model with a calibration reader",
        "onnxruntime.quantization.quantize_static(float_model, qdq_model, calibration_reader, "
        "quant_format=QuantFormat.QDQ, activation_type=QuantType.QInt8, "
        "weight_type=QuantType.QInt8)",
    ),
    "float64": FixText(
        "float64",
        "float64 has no {provider} kernel for this op, float32 has: cast the model to float32 "
        "before export",
        "PyTorch: model.float() and float32 example inputs before torch.onnx.export; "
        "TensorFlow: build the model with tf.float32 (tf.keras.backend.set_floatx('float32')); "
        "or, in the ONNX file, a Cast to float32 before the op and back to float64 after (values "
        "outside float32's range or precision change)",
    ),
    "generic": FixText(
        "generic",
        "change the op's input types or replace the op with ops that {provider} has kernels for",
    ),
})


def situation_of(node: NodeRecord, provider: str, schemas: SchemaTable) -> str:
    """The first situation of FIX_TEXTS that explains why `node` falls back from `provider`."""
    if node.domain in CPU_ONLY_DOMAINS:
        return "cpu-only-domain"
    if (node.domain, node.op) in DYNAMIC_QUANTIZATION_OPS:
        return "dynamic-quantization"
    if DOUBLE in node.input_types and _float32_has_kernel(node, provider, schemas):
        return "float64"
    return "generic"


def fallback_fix(node: NodeRecord, provider: str, schemas: SchemaTable) -> str:
    """The fix text for a node that falls back from `provider`."""
    return FIX_TEXTS[situation_of(node, provider, schemas)].hint(provider)


def _float32_has_kernel(node: NodeRecord, provider: str, schemas: SchemaTable) -> bool:
    schema = next((v for v in schemas.versions(node.domain, node.op)
                   if v.since_version == node.since_version), None)
    if schema is None:
        return False

    def narrowed(types: tuple[str | None, ...]) -> tuple[str | None, ...]:
        return tuple(FLOAT if t == DOUBLE else t for t in types)

    match = match_kernel(provider, schema, node.domain, node.op, node.since_version,
                         narrowed(node.input_types), narrowed(node.output_types))
    return match.ok and match.type_checked
