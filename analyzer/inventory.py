"""The inventory: every node a runtime would see, with its resolved version and element types."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class NodeRecord:
    """One node of the model (main graph, a subgraph of If/Loop/Scan, or a local function).

    A plain slots dataclass, not frozen: one is built per node, and frozen dataclasses cost
    about five times as much to construct (measured on 100k-node graphs).

    `since_version` is the schema version that the node resolves to at its graph's opset import
    (None when no schema is known). Types are ONNX type strings such as "tensor(float)"; "" where
    an optional argument is omitted, None where its type could not be inferred.
    """

    name: str
    op: str
    domain: str
    opset: int | None
    since_version: int | None
    input_types: tuple[str | None, ...]
    output_types: tuple[str | None, ...]
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    graph: str = "main"
    location: str | None = None
    # The NodeProto itself, for the rare checks that need attributes (function expansion).
    proto: Any = field(default=None, compare=False, repr=False)

    @property
    def key(self) -> tuple[str, str]:
        return (self.domain, self.op)


@dataclass
class Inventory:
    """All nodes of a model plus the facts about the model that checks and reports need."""

    framework: str
    nodes: list[NodeRecord]
    opset_imports: dict[str, int]
    ir_version: int | None = None
    graph_inputs: list[tuple[str, str | None, list[int | str | None] | None]] = field(
        default_factory=list
    )
    graph_outputs: list[tuple[str, str | None, list[int | str | None] | None]] = field(
        default_factory=list
    )
    parameters: int = 0
    local_functions: list[tuple[str, str]] = field(default_factory=list)
