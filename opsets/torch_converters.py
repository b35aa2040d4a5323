"""Which ATen ops each torch.onnx exporter converts, and from which opset, read off installed torch.

Two exporters ship in torch 2.13 and they answer differently:

- dynamo (``torch.onnx.export(..., dynamo=True)``, the default since 2.9): ``_compat.export_compat``
  builds ``ONNXRegistry.from_torchlib(max(opset_version, 18))`` (torch's own
  ``_torchlib`` ops plus onnxscript's torchlib; per op the implementation with the highest
  ``opset_introduced`` <= that opset wins), runs ``ExportedProgram.run_decompositions`` with the
  ONNX-friendly table of ``_decomp.create_onnx_friendly_decomposition_table`` (torch's
  decompositions minus every op that has a translation), translates at the registry opset and,
  when ``opset_version`` is below 18, down-converts the finished model (see
  ``opsets.onnx_downconvert``: on failure it warns and keeps opset 18). For
  ``opset_version >= 18`` the registry and the model are built at that opset; no conversion runs.
  A CompositeImplicitAutograd op missing from that table is preserved by ``run_decompositions``
  (a dict table means "keep the CIA ops not listed") and then needs a translation.
- TorchScript (``dynamo=False``, deprecated: a DeprecationWarning on every call): symbolic
  functions registered per opset in ``torchscript_exporter.registration.registry``; for a
  target >= 9 the highest registration <= target is used, for targets 7 and 8 the lowest
  registration in [target, 9]. Some registrations exist only to raise ("not supported in this
  opset"): they are recognised from the function source (calls to symbolic_helper's
  ``_onnx_opset_unsupported`` & co. as the first statement, or ``_block_list_in_opset``).

opsets.generators.torch_converters reads all this off the installed torch (in a child
interpreter); `python -m opsets.generate` writes the table. The lookup API below reads only the
shipped JSON, so the analyzer never imports torch.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from opsets.onnx_downconvert import load_downconvert
from opsets.provenance import Provenance

DATA_DIR = Path(__file__).parent / "data"
TORCH_CONVERTERS_PATH = DATA_DIR / "torch_converters.json"

_QUALIFIED = re.compile(r"^(?:torch\.ops\.)?(?P<ns>[A-Za-z_][\w]*)(?:::|\.)(?P<rest>.+)$")


# ---------------------------------------------------------------------------------------------
# names


def normalize_aten_name(name: str) -> str:
    """'aten.add.Tensor' / 'torch.ops.aten.add.Tensor' / 'aten::add.Tensor' -> 'aten::add.Tensor';
    the default overload is dropped ('aten.relu.default' -> 'aten::relu'), as
    ``OpOverload.name()`` and both exporters' registries spell it."""
    name = name.strip()
    match = _QUALIFIED.match(name)
    if match is None:
        raise ValueError(f"not a qualified op name: {name!r} (expected e.g. 'aten::add.Tensor')")
    ns, rest = match.group("ns"), match.group("rest")
    op, _, overload = rest.partition(".")
    if not op:
        raise ValueError(f"not a qualified op name: {name!r}")
    return f"{ns}::{op}" if overload in ("", "default") else f"{ns}::{op}.{overload}"


def packet_name(name: str) -> str:
    """'aten.add.Tensor' -> 'aten::add': the overload-free name the TorchScript exporter uses."""
    return normalize_aten_name(name).partition(".")[0]


def dotted_name(name: str) -> str:
    """'aten::add.Tensor' -> 'aten.add.Tensor', 'aten::relu' -> 'aten.relu.default'
    (how torch.ops / FX graphs print an OpOverload)."""
    canonical = normalize_aten_name(name)
    ns, _, rest = canonical.partition("::")
    op, _, overload = rest.partition(".")
    return f"{ns}.{op}.{overload or 'default'}"


def torchscript_key(node_kind: str) -> str:
    """The registry key the TorchScript exporter looks up for a node kind: one trailing '_'
    (in-place variant) is dropped, exactly as ``_run_symbolic_function`` does ('aten::relu_' ->
    'aten::relu', and also 'aten::__and__' -> 'aten::__and_', which is how torch registers it)."""
    kind = node_kind if "::" in node_kind else packet_name(node_kind)
    return kind[:-1] if kind.endswith("_") else kind


# ---------------------------------------------------------------------------------------------
# lookup records


@dataclass(frozen=True)
class DynamoImpl:
    """One torchlib translation of an op: the function, the registry opset from which it is
    chosen, whether it is the complex-input variant, and the ONNX op types it may emit (None:
    could not be read off)."""

    function: str
    opset_introduced: int
    complex: bool
    onnx_ops: tuple[str, ...] | None


@dataclass(frozen=True)
class DynamoOp:
    """What the dynamo exporter does with an ATen op at a requested opset.

    status: "translated" (a torchlib function handles it), "decomposed" (torch decomposes it
    into other ATen ops before dispatch; those need translations in turn) or "missing"
    (preserved but untranslatable: export fails). registry_opset is the opset the model is built
    at (18 below 18, where the finished model is down-converted)."""

    name: str
    opset: int
    registry_opset: int
    status: Literal["translated", "decomposed", "missing"]
    impls: tuple[DynamoImpl, ...]
    decomposed: bool
    cia: bool
    min_opset: int | None

    @property
    def translated(self) -> bool:
        return self.status == "translated"

    @property
    def onnx_ops(self) -> tuple[str, ...] | None:
        """Union of the ONNX op types the chosen (non-complex) translations may emit; None when
        one of them could not be read off."""
        chosen = [i for i in self.impls if not i.complex] or list(self.impls)
        if not chosen or any(i.onnx_ops is None for i in chosen):
            return None
        return tuple(sorted({op for i in chosen for op in i.onnx_ops or ()}))

    @property
    def needs_downconvert(self) -> bool:
        return self.opset < self.registry_opset


@dataclass(frozen=True)
class SymbolicRegistration:
    """One TorchScript symbolic registered at `opset`: "ok", "unsupported" (it only raises) or
    "conditional" (it raises for some inputs: `conditions`)."""

    opset: int
    function: str
    status: Literal["ok", "unsupported", "conditional"]
    message: str | None
    supported_opset: int | None
    conditions: tuple[str, ...]


@dataclass(frozen=True)
class TorchScriptOp:
    """The TorchScript exporter's answer for (op, opset).

    status: "ok" (a symbolic handles it; `conditions` lists inputs it still rejects),
    "needs_opset" (nothing usable at this opset, `min_opset` works), "unsupported" (registered
    but raises at every opset >= this one) or "missing" (no symbolic at all)."""

    name: str
    opset: int
    status: Literal["ok", "needs_opset", "unsupported", "missing"]
    min_opset: int | None
    registration: SymbolicRegistration | None
    conditions: tuple[str, ...]
    note: str


# ---------------------------------------------------------------------------------------------
# lookup (reads the shipped JSON only; no torch import)


def _dispatch(target: int, registered: list[int], base_opset: int) -> int | None:
    """torch's registration._dispatch_opset_version: the highest registration <= target, or for
    targets below the base opset (9) the lowest registration in [target, base]."""
    if not registered:
        return None
    if target >= base_opset:
        below = [v for v in registered if v <= target]
        return max(below) if below else None
    above = [v for v in registered if target <= v <= base_opset]
    return min(above) if above else None


class TorchConverterTable:
    """Both exporters' op coverage, as generated from one torch install."""

    def __init__(self, data: dict[str, Any]) -> None:
        header = data["provenance"]
        # extra fields: onnxscript_version, torchvision_version (None without torchvision)
        self.provenance = Provenance.from_header({"torchvision_version": None, **header})
        dynamo = data["dynamo"]
        self.dynamo_base_opset: int = dynamo["base_opset"]
        self.dynamo_default_opset: int = dynamo["default_opset"]
        self.dynamo_max_opset: int = dynamo["max_opset"]
        self._dynamo: dict[str, dict[str, Any]] = dynamo["ops"]
        ts = data["torchscript"]
        self.torchscript_min: int = ts["min_opset"]
        self.torchscript_max: int = ts["max_opset"]
        self._ts_base: int = ts["base_opset"]
        self.torchscript_default_opset: int = ts["default_opset"]
        self._ts: dict[str, dict[str, Any]] = ts["ops"]

    # -- dynamo ---------------------------------------------------------------------------------

    def dynamo_ops(self) -> list[str]:
        """Every op with a translation or a decomposition at some registry opset."""
        return sorted(self._dynamo)

    def dynamo_overloads(self, name: str) -> list[str]:
        """The overloads of a packet in the table: 'aten::add' -> ['aten::add.Scalar', ...]."""
        packet = packet_name(name)
        return [k for k in sorted(self._dynamo) if k == packet or k.startswith(packet + ".")]

    def dynamo_support(self, aten_op: str, opset: int | None = None) -> DynamoOp | None:
        """The dynamo exporter's answer for one op overload ('aten::add.Tensor',
        'aten.add.Tensor', 'aten.relu.default' all work) at `opset` (default: torch's default).
        None when torch neither translates nor decomposes it at any opset: export fails on it."""
        key = aten_op if aten_op in self._dynamo else _safe_normalize(aten_op)
        record = self._dynamo.get(key) if key is not None else None
        if record is None:
            return None
        requested = self.dynamo_default_opset if opset is None else opset
        registry_opset = min(max(requested, self.dynamo_base_opset), self.dynamo_max_opset)
        all_impls = [
            DynamoImpl(
                i["function"],
                i["opset"],
                i["complex"],
                tuple(i["onnx_ops"]) if i["onnx_ops"] is not None else None,
            )
            for i in record["impls"]
        ]
        # registry cleanup: keep the impls with the highest opset_introduced <= registry opset
        valid = [i for i in all_impls if i.opset_introduced <= registry_opset]
        top = max((i.opset_introduced for i in valid), default=None)
        chosen = tuple(i for i in valid if i.opset_introduced == top)
        decomposed = registry_opset in record["decomposed"]
        status: Literal["translated", "decomposed", "missing"] = (
            "translated" if chosen else "decomposed" if decomposed else "missing"
        )
        min_opset = min((i.opset_introduced for i in all_impls), default=None)
        return DynamoOp(
            name=key or aten_op,
            opset=requested,
            registry_opset=registry_opset,
            status=status,
            impls=chosen,
            decomposed=decomposed,
            cia=bool(record["cia"]),
            min_opset=min_opset,
        )

    def dynamo_downconvert_blockers(self, aten_op: str, opset: int) -> dict[str, str]:
        """For opset < 18: the ONNX ops of the op's translation that onnx's version converter
        cannot take from 18 down to `opset` (op -> reason), from opsets/data/onnx_downconvert.json.
        Any one blocker makes the whole model stay at opset 18 (torch only warns)."""
        support = self.dynamo_support(aten_op, opset)
        if support is None or not support.needs_downconvert or support.onnx_ops is None:
            return {}
        table = load_downconvert()
        out: dict[str, str] = {}
        for op in support.onnx_ops:
            if "::" in op:
                continue
            if table.converts(op, self.dynamo_base_opset, opset) is False:
                out[op] = table.reason(op, opset) or "does not convert"
        return out

    # -- TorchScript ----------------------------------------------------------------------------

    def torchscript_ops(self) -> list[str]:
        return sorted(self._ts)

    def torchscript_registrations(self, aten_op: str) -> list[SymbolicRegistration]:
        """The symbolics registered for a node kind, by opset (built-in ones only)."""
        return self._registrations(torchscript_key(aten_op))

    def _registrations(self, key: str) -> list[SymbolicRegistration]:
        record = self._ts.get(key)
        if record is None:
            return []
        return [
            SymbolicRegistration(
                r["opset"],
                r["function"],
                r["status"],
                r["message"],
                r["supported_opset"],
                tuple(r["conditions"]),
            )
            for r in record["registrations"]
        ]

    def torchscript_min_opset(self, aten_op: str) -> int | None:
        """Lowest opset (7..20) at which a usable symbolic exists; None if none does."""
        record = self._ts.get(torchscript_key(aten_op))
        return None if record is None else record["min_opset"]

    def torchscript_support(self, aten_op: str, opset: int) -> TorchScriptOp:
        """The TorchScript exporter's answer for a node kind ('aten::hardswish', 'aten::relu_',
        or an overload name, whose overload is ignored) at `opset`."""
        key = torchscript_key(aten_op)
        regs = self._registrations(key)
        above = (
            f"; torch warns above opset {self.torchscript_max} (the TorchScript exporter's highest)"
            if opset > self.torchscript_max
            else ""
        )
        if not regs:
            note = f"no symbolic function: UnsupportedOperatorError{above}"
            return TorchScriptOp(key, opset, "missing", None, None, (), note)
        min_opset = self._ts[key]["min_opset"]
        version = _dispatch(opset, [r.opset for r in regs], self._ts_base)
        reg = next((r for r in regs if r.opset == version), None)
        if reg is not None and reg.status != "unsupported":
            note = f"symbolic registered at opset {reg.opset}: {reg.function}{above}"
            return TorchScriptOp(key, opset, "ok", min_opset, reg, reg.conditions, note)
        later = min_opset is not None and min_opset > opset
        if reg is None:
            note = f"no symbolic for opset {opset}"
        else:
            note = f"registered at opset {reg.opset} only to raise: {reg.message}"
        if later:
            note += f"; available from opset {min_opset}"
            return TorchScriptOp(key, opset, "needs_opset", min_opset, reg, (), note + above)
        return TorchScriptOp(key, opset, "unsupported", min_opset, reg, (), note + above)


def _safe_normalize(name: str) -> str | None:
    try:
        return normalize_aten_name(name)
    except ValueError:
        return None


@functools.lru_cache(maxsize=1)
def load_torch_converters() -> TorchConverterTable:
    """The shipped table (parsed once per process; never imports torch)."""
    with TORCH_CONVERTERS_PATH.open("rb") as fh:
        return TorchConverterTable(json.load(fh))
