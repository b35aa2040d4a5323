"""The one rule contract of the three rule families (ONNX graph rules, PyTorch source rules,
TensorFlow conversion rules): what every rule declares, what `check` returns, and the whole-model
pass type. Family-specific pieces (the ONNX RewriteModel, torch SourceModel, TF TFNode and each
family's Target) stay in their family; the registry (rewrites.registry) lists every rule.

Why one contract: the finding -> rule links (`answers`, `proposes`), the lookups by id and the
report's rewrite block are the same for all families, so they are written once against this.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Literal, Protocol, TypeVar, runtime_checkable

if TYPE_CHECKING:  # the contract is imported while analyzer's package initializes
    import onnx

    from analyzer.inventory import NodeRecord

Family = Literal["onnx", "torch", "tf"]
FAMILIES: tuple[Family, ...] = ("onnx", "torch", "tf")

#: How each family names its rules in messages ("unknown rewrite rule(s): ...").
FAMILY_NOUN: dict[str, str] = {"onnx": "rewrite", "torch": "source", "tf": "TensorFlow"}

P = TypeVar("P")


@dataclass(frozen=True)
class Reason:
    """Why a rule does not apply (to a node, a module, a graph); a value shown in reports,
    never raised. `node` is the node or item it is about ("" or "model": the whole subject)."""

    rule: str
    node: str
    text: str
    #: True for "this node is not the pattern at all" (a Mul that is not x*Sigmoid(x)): such a
    #: reason is not logged, or every Mul of a model would fill the log.
    quiet: bool = False


@dataclass(frozen=True)
class Match(Generic[P]):
    """What a rule will change, and its own typed payload (a small frozen dataclass per rule,
    computed once in `check`, read by `apply`). `node`/`index`: the ONNX node it rewrites
    ("" / -1 where the rule acts on a whole source or graph); `removed`/`added`: op names the
    graph loses and gains (ONNX rules)."""

    rule: str
    payload: P = field(repr=False)
    node: str = ""
    index: int = -1
    removed: tuple[str, ...] = ()
    added: tuple[str, ...] = ()


@dataclass(frozen=True)
class Site:
    """Where a finding points, as a rule's static `proposes` test reads it: the finding id and
    op, the ONNX node record (ONNX pre-flight), the model's opset imports and the target opset,
    the exporter (PyTorch)."""

    finding: str
    op: str
    domain: str = ""
    record: NodeRecord | None = None
    opsets: Mapping[str, int] = field(default_factory=dict)
    target_opset: int | None = None
    exporter: str | None = None


@runtime_checkable
class Rule(Protocol):
    """One rule of any family. `exact` is False for approximations, which run only when named;
    `answers`: the finding ids (docs/findings.md) it can answer, `proposes` the rule's cheap
    static test that it would fire where a finding points; `kind`: how it acts ("node" for
    ONNX, "source" for PyTorch, "handler" or "graph" for TensorFlow); `ops`: the ops (ONNX op
    names, ATen ops, TF ops) it replaces. `check(subject, item)` and `apply(subject, match)`
    take each family's own subject (RewriteModel and NodeRecord, SourceModel, TFNodes and
    opset)."""

    @property
    def id(self) -> str: ...

    @property
    def summary(self) -> str: ...

    @property
    def family(self) -> Family: ...

    @property
    def exact(self) -> bool: ...

    @property
    def answers(self) -> tuple[str, ...]: ...

    @property
    def kind(self) -> str: ...

    @property
    def ops(self) -> tuple[str, ...]: ...

    def proposes(self, site: Site) -> bool: ...

    def check(self, subject: Any, item: Any) -> Match[Any] | Reason: ...

    def apply(self, subject: Any, match: Match[Any]) -> Any: ...


@dataclass(frozen=True)
class PassResult:
    """A whole-model pass's outcome: the new model, or the reason it cannot run; `note` says
    what the caller should know about a success (ops held by an adapter)."""

    model: onnx.ModelProto | None = None
    reason: Reason | None = None
    note: str | None = None


@runtime_checkable
class ModelPass(Protocol):
    """A whole-model step (version conversion): not matched per node, run after the node rules
    of an ONNX pass, verified like a rule. `run` reads what it aims at from the model view
    (RewriteModel.target_opset)."""

    @property
    def id(self) -> str: ...

    @property
    def summary(self) -> str: ...

    @property
    def exact(self) -> bool: ...

    def needed(self, model: Any) -> bool:
        """Whether the pass has anything to do for this model (and its target)."""
        ...

    def change(self, model: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """What the model loses and gains, as the log shows it (("opset 20",), ("opset 13",))."""
        ...

    def run(self, model: Any) -> PassResult: ...


class UnknownRule(KeyError, ValueError):
    """A rule id no registry entry has; the message lists the known ids. A KeyError for
    lookups and a ValueError for the usage errors callers report it as."""

    def __init__(self, ids: list[str] | tuple[str, ...], known: list[str],
                 family: str | None = None, hint: str = "") -> None:
        noun = FAMILY_NOUN.get(family or "", "rewrite")
        text = (f"unknown {noun} rule(s): {', '.join(ids)} (known: {', '.join(known)}){hint}")
        super().__init__(text)
        self.ids = tuple(ids)
        self.known = tuple(known)

    def __str__(self) -> str:
        return str(self.args[0])
