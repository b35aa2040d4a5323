"""The PyTorch source-rule protocol: rules that change what an exporter sees, never the user's code.

A source rule works on a `SourceModel` (the nn.Module, the exporter, the target opset and the
ATen ops the pre-flight captured). `check` answers whether the model uses what the rule replaces
(a `TorchMatch`, or a `Reason` value when not); `apply` returns a context manager inside which
the export runs: module swaps are undone, overriding modes popped and registered symbolics /
translations removed when it exits, also when the export raises.

Three mechanisms, chosen per form of the call (see `swap_modules`, `FunctionOverride`,
`SymbolicOverride`):
- nn.Module instances (nn.GELU, nn.LayerNorm, ...): swapped in their parent for a module whose
  forward is the decomposition. Works the same for both exporters: torch.export and
  torch.jit.trace both record the ATen ops the swapped forward runs.
- direct functional calls (F.gelu(x), F.scaled_dot_product_attention(q, k, v)): a
  TorchFunctionMode reroutes the Python-level call to the same decomposition. torch.export
  (non-strict, what torch.onnx tries first) and torch.jit.trace both run forward() in Python
  under the ambient mode, so one torch implementation serves both exporters and is checked
  against the original op in torch itself; torch.onnx's per-exporter hooks would need a second
  and third implementation (a TorchScript symbolic and an onnxscript function) of each op.
- an op the exporter has no translation for at the target opset (e.g. aten::celu below 12):
  the exporter's own registration mechanism, because the op itself is fine in torch and only its
  ONNX form is missing: TorchScript `torch.onnx.register_custom_op_symbolic` at the target opset,
  dynamo `custom_translation_table` (an onnxscript function).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

from analyzer.finding_ids import EXP101, EXP102, EXP103, EXP105, EXP106
from rewrites.contract import Family, Match, Reason, Rule, Site

EXPORTERS = ("dynamo", "torchscript")


@dataclass(frozen=True)
class TorchTarget:
    """Where an op stops an export: ATen op, exporter, inclusive opset range (measured against
    the real exporters by each rule's test)."""

    op: str
    exporter: str
    opsets: tuple[int, int]

    def covers(self, exporter: str, opset: int) -> bool:
        return self.exporter == exporter and self.opsets[0] <= opset <= self.opsets[1]


@dataclass
class SourceModel:
    """What a source rule reads and where it registers: the module, the exporter and opset, the
    pre-flight's captured ops (analyzer.sources.torch_capture.TorchOpUse; None when unknown),
    and the dynamo exporter's `custom_translation_table` the rules fill while active."""

    module: Any
    exporter: str
    opset: int
    ops: Sequence[Any] | None = None
    translations: dict[Any, Any] = field(default_factory=dict)

    def uses(self, ops: Sequence[str]) -> list[Any]:
        """Captured uses of any of `ops` ("aten::gelu")."""
        wanted = set(ops)
        return [u for u in self.ops or () if u.op in wanted]


@dataclass(frozen=True)
class SourceChange:
    """A source rule's payload: module paths it swaps and functional call sites it reroutes."""

    modules: tuple[str, ...] = ()
    calls: tuple[str, ...] = ()  # captured node names outside the swapped modules
    note: str = ""

    def describe(self) -> str:
        parts = []
        if self.modules:
            parts.append(f"{len(self.modules)} module(s) swapped")
        if self.calls:
            parts.append(f"{len(self.calls)} call site(s)")
        return ", ".join(parts) + (f"; {self.note}" if self.note else "")


#: What a source rule's `check` returns when the model uses what it replaces.
TorchMatch = Match[SourceChange]

#: Pre-flight findings a source rule answers: EXP101 / EXP102 / EXP105 by the op, EXP103 /
#: EXP106 (the dynamo exporter cannot deliver the opset) by every proposed rule (each removes
#: an op that blocks the conversion).
BY_OP = (EXP101.id, EXP102.id, EXP105.id)
ANY_OP = (EXP103.id, EXP106.id)


@runtime_checkable
class TorchRule(Rule, Protocol):
    """One source rule (rewrites.contract.Rule for PyTorch): `check(source)` reads the module
    and the capture, `apply` returns the context the export runs in."""

    @property
    def targets(self) -> tuple[TorchTarget, ...]: ...

    def check(self, subject: SourceModel, item: None = None) -> TorchMatch | Reason: ...

    def apply(self, subject: SourceModel, match: TorchMatch) -> contextlib.AbstractContextManager[
            Any]: ...


class TorchRuleBase:
    """Defaults of the declared rule members for source rules."""

    family: ClassVar[Family] = "torch"
    kind: ClassVar[str] = "source"
    answers: ClassVar[tuple[str, ...]] = (*BY_OP, *ANY_OP)
    targets: tuple[TorchTarget, ...]
    ops: tuple[str, ...]

    def proposes(self, site: Site) -> bool:
        """EXP103 / EXP106: any rule (the caller passes the proposed ones); the others: the
        finding's op is one the rule replaces."""
        if site.finding in ANY_OP:
            return True
        return site.op in {t.op for t in self.targets} | set(self.ops)


def needed(rule: TorchRule, exporter: str, opset: int) -> bool:
    """Whether `rule` fixes something for this exporter at this opset (its targets)."""
    return any(t.covers(exporter, opset) for t in rule.targets)


# --------------------------------------------------------------------------------------------
# Mechanisms


def _parent(root: Any, path: str) -> tuple[Any, str]:
    head, _, leaf = path.rpartition(".")
    return (root.get_submodule(head) if head else root), leaf


@contextlib.contextmanager
def swap_modules(root: Any, paths: Sequence[str], make: Callable[[Any], Any]) -> Iterator[None]:
    """Replace each submodule at `paths` by `make(original)` in its parent; put every original
    back on exit (in reverse order, also when the body raises)."""
    done: list[tuple[Any, str, Any]] = []
    try:
        for path in paths:
            parent, leaf = _parent(root, path)
            original = getattr(parent, leaf)
            setattr(parent, leaf, make(original))
            done.append((parent, leaf, original))
        yield
    finally:
        for parent, leaf, original in reversed(done):
            setattr(parent, leaf, original)


def modules_of(root: Any, kinds: tuple[type, ...]) -> tuple[str, ...]:
    """Paths of the submodules that are exactly of one of `kinds` (subclasses may override
    forward, so they are left alone); the root itself is never swapped."""
    return tuple(name for name, m in root.named_modules() if name and type(m) in kinds)


def functional_calls(source: SourceModel, ops: Sequence[str], swapped: Sequence[str]) -> tuple[
        str, ...]:
    """Captured uses of `ops` that do not come from inside a swapped module. A TorchScript
    trace records no module scopes, so there the count is an estimate: the uses beyond one per
    swapped module."""
    uses = source.uses(ops)
    if uses and not any(u.module_path for u in uses):
        return tuple(u.node for u in uses[len(swapped):])
    inside = set(swapped)
    return tuple(u.node for u in uses if (u.module_path or "") not in inside)


def _function_mode_class() -> type:
    from torch.overrides import TorchFunctionMode

    class _Reroute(TorchFunctionMode):
        """Calls to the overridden functions go to their decomposition; torch pops the mode
        while its handler runs, so the decomposition's own torch calls are not rerouted."""

        def __init__(self, table: dict[Any, Callable[..., Any]]) -> None:
            super().__init__()
            self.table = table

        def __torch_function__(self, func: Any, types: Any, args: Any = (),
                               kwargs: Any = None) -> Any:
            replacement = self.table.get(func)
            if replacement is not None:
                return replacement(*args, **(kwargs or {}))
            return func(*args, **(kwargs or {}))

    return _Reroute


@contextlib.contextmanager
def FunctionOverride(table: dict[Any, Callable[..., Any]]) -> Iterator[None]:  # noqa: N802
    """Reroute the Python-level calls in `table` (e.g. F.gelu -> its decomposition) while the
    export traces forward(); a torch.overrides.TorchFunctionMode, popped on exit."""
    with _function_mode_class()(table):
        yield


@contextlib.contextmanager
def SymbolicOverride(name: str, symbolic: Callable[..., Any], opset: int) -> Iterator[  # noqa: N802
        None]:
    """A TorchScript symbolic for `name` at `opset`, registered with torch.onnx's public
    register_custom_op_symbolic and unregistered on exit."""
    import torch

    torch.onnx.register_custom_op_symbolic(name, symbolic, opset)
    try:
        yield
    finally:
        torch.onnx.unregister_custom_op_symbolic(name, opset)


@contextlib.contextmanager
def TranslationOverride(source: SourceModel, target: Any, function: Any) -> Iterator[  # noqa: N802
        None]:
    """A dynamo `custom_translation_table` entry for `target` (an OpOverload), in
    `source.translations` while active (the export passes that table to torch.onnx.export)."""
    previous = source.translations.get(target)
    source.translations[target] = function
    try:
        yield
    finally:
        if previous is None:
            source.translations.pop(target, None)
        else:
            source.translations[target] = previous


def custom_symbolic_registered(name: str, opset: int) -> bool:
    """Whether someone (the user) already overrides `name` at `opset` in the TorchScript
    registry; a rule must not replace, then remove, their registration. Reads torch's private
    registry, guarded: if it moved, assume no."""
    try:
        from torch.onnx._internal.torchscript_exporter import registration

        group = registration.registry.get_function_group(name)
        return bool(group is not None and group._functions.overridden(opset))
    except Exception:  # noqa: BLE001 - private API; an upgrade must not break the rule
        return False


# --------------------------------------------------------------------------------------------
# The common shape of a decomposition rule


def decomposed_module(original: Any, forward: Callable[[Any, Any], Any]) -> Any:
    """A module that owns `original`'s own parameters and buffers under the same names (so the
    exported initializers keep their names and torch.export lifts them as parameters) and runs
    `forward(self, x)`: the rule's decomposition reading its weights from `self`."""
    return _decomposed_class()(original, forward)


_DECOMPOSED: list[type] = []


def _decomposed_class() -> type:
    if _DECOMPOSED:
        return _DECOMPOSED[0]
    from torch import nn

    class Decomposed(nn.Module):
        def __init__(self, original: Any, forward: Callable[[Any, Any], Any]) -> None:
            super().__init__()
            for name, p in original.named_parameters(recurse=False):
                self.register_parameter(name, p)
            for name, b in original.named_buffers(recurse=False):
                self.register_buffer(name, b)
            self._decomposed_forward = forward
            self.replaces = type(original).__name__
            self.train(original.training)

        def forward(self, x: Any) -> Any:
            return self._decomposed_forward(self, x)

    _DECOMPOSED.append(Decomposed)
    return Decomposed


@dataclass(frozen=True)
class DecompositionRule(TorchRuleBase):
    """A rule that replaces an op by the same function built from simpler ops: its nn.Module
    instances are swapped, its functional calls rerouted (see the module docstring). Factories
    are callables so that torch is imported only when a rule runs."""

    id: str
    summary: str
    targets: tuple[TorchTarget, ...]
    ops: tuple[str, ...]
    module_kinds: Callable[[], tuple[type, ...]]
    swap: Callable[[Any], Any]
    functions: Callable[[], dict[Any, Callable[..., Any]]]
    exact: bool = True

    def check(self, source: SourceModel, item: None = None) -> TorchMatch | Reason:
        modules = modules_of(source.module, self.module_kinds())
        calls = functional_calls(source, self.ops, modules)
        if modules or calls:
            return Match(self.id, SourceChange(modules, calls))
        if source.ops is None:  # no capture to read: reroute wherever calls occur (harmless)
            return Match(self.id, SourceChange(
                note="no capture: calls rerouted wherever they occur"))
        kinds = ", ".join(k.__name__ for k in self.module_kinds())
        modules_text = f"no {kinds} module and " if kinds else ""
        return Reason(self.id, "", f"the model has {modules_text}the capture shows no "
                      f"{' / '.join(self.ops)} call")

    def apply(self, source: SourceModel, match: TorchMatch) -> contextlib.AbstractContextManager[
            Any]:
        stack = contextlib.ExitStack()
        with stack:
            stack.enter_context(swap_modules(source.module, match.payload.modules, self.swap))
            # Always: call sites are counted from the capture, which may miss some (a trace
            # has no module scopes); rerouting a function nobody calls changes nothing.
            stack.enter_context(FunctionOverride(self.functions()))
            return stack.pop_all()
