"""Refuse ONNX graphs that are not graphs: cycles, values defined twice, values never defined.

A model with one of these defects parses, but no runtime can load it and the analysis would be
about a graph that does not exist: a cycle leaves no order to place nodes in, a value defined
twice makes its type (and so the kernel choice) ambiguous, a value defined nowhere has no type.
Each becomes an `InputError` (GRAPH_CYCLE, GRAPH_DUPLICATE_OUTPUT, GRAPH_DANGLING_INPUT).

Nodes that are merely out of order (acyclic, but not topologically sorted) are left alone here:
onnxruntime sorts them itself, and onnx.checker reports the order as a finding (SCH204).

Scoping follows the ONNX spec: a subgraph (If/Loop/Scan body) may read names of the graphs that
enclose it, so its free names count as inputs of the node that holds it. Written iteratively
(graphs bottom-up, no recursion) because in-memory models may nest deeper than Python's stack.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path

import onnx

from analyzer.error_codes import (
    CORRUPT_PROTOBUF,
    GRAPH_CYCLE,
    GRAPH_DANGLING_INPUT,
    GRAPH_DUPLICATE_OUTPUT,
)
from analyzer.errors import InputError

__all__ = ["check_graph_structure"]

_Body = onnx.GraphProto | onnx.FunctionProto


@dataclass
class _Scope:
    """One graph or function body, how messages name it, and which of its nodes hold subgraphs
    (node index -> the subgraphs), found once while listing the bodies."""

    body: _Body
    where: str
    is_subgraph: bool
    holders: dict[int, list[onnx.GraphProto]] = field(default_factory=dict)


def check_graph_structure(path: Path | None, model: onnx.ModelProto) -> None:
    """Raise InputError for a cycle, a value defined twice, or an input defined nowhere.

    Costs one pass over the nodes when they are already in topological order (the usual case);
    only an out-of-order graph pays for a full dependency sort.
    """
    scopes = _scopes(model)
    free: dict[int, frozenset[str]] = {}
    # Pre-order lists a subgraph after the graph holding it: reversed, children come first.
    for scope in reversed(scopes):
        names = _check_body(path, scope, free)
        if scope.is_subgraph:
            free[id(scope.body)] = names
        elif names:
            name = sorted(names)[0]
            consumer = _consumer_label(scope.body, name)
            more = f" (and {len(names) - 1} more)" if len(names) > 1 else ""
            raise InputError(
                path,
                GRAPH_DANGLING_INPUT,
                f"{consumer} in the {scope.where} reads '{name}'{more}, which no node, input or "
                "initializer defines",
            )


def _scopes(model: onnx.ModelProto) -> list[_Scope]:
    """Every body in pre-order: the main graph, functions, and each subgraph after its parent."""
    stack: list[_Scope] = [_Scope(model.graph, "main graph", False)]
    for fn in reversed(model.functions):
        stack.append(_Scope(fn, f"local function '{fn.name}'", False))
    ordered: list[_Scope] = []
    while stack:
        scope = stack.pop()
        ordered.append(scope)
        for index, node in enumerate(scope.body.node):
            if not node.attribute:
                continue
            graphs = list(_subgraphs(node))
            if graphs:
                scope.holders[index] = graphs
                for graph in graphs:
                    stack.append(_Scope(graph, f"subgraph '{graph.name}' of {_label(node)}",
                                        True))
    return ordered


def _subgraphs(node: onnx.NodeProto) -> Iterator[onnx.GraphProto]:
    for attr in node.attribute:
        if attr.HasField("g"):
            yield attr.g
        yield from attr.graphs


def _declared(body: _Body) -> list[str]:
    """Names a body defines before its first node: inputs and initializers."""
    if isinstance(body, onnx.FunctionProto):
        return list(body.input)
    names = [vi.name for vi in body.input]
    names += [t.name for t in body.initializer]
    names += [s.values.name for s in body.sparse_initializer]
    return names


def _all_text(path: Path | None, scope: _Scope, groups: Iterable[Iterable[str]]) -> None:
    """Raise when a name is bytes: protobuf's answer for a string field that is not UTF-8.
    One str.join over all names checks them at C speed."""
    try:
        "".join(chain.from_iterable(groups))
    except TypeError:
        raise _not_utf8(path, scope) from None


def _check_body(path: Path | None, scope: _Scope, free: dict[int, frozenset[str]]) -> frozenset[
        str]:
    """Check one body; return the names it reads but does not define (its free names).

    One pass in node order: a name read before it is defined is noted, and only when some
    node of this body defines it later is the body sorted to tell a cycle from mere disorder."""
    body = scope.body
    declared_list = _declared(body)
    available = set(declared_list)
    producer: dict[str, int] = {}
    late: list[tuple[str, int]] = []  # (name, index of the node reading it before it exists)
    # A subgraph's free names are read by the node that holds it.
    extra = {index: [n for g in graphs for n in free.get(id(g), ())]
             for index, graphs in scope.holders.items()}
    for index, node in enumerate(body.node):
        for name in node.input:
            if name and name not in available:
                late.append((name, index))
        if extra and index in extra:
            late += [(name, index) for name in extra[index] if name not in available]
        for name in node.output:
            if not name:
                continue
            if name in available:
                first = (f"{_label(body.node[producer[name]])}" if name in producer
                         else "a graph input or initializer")
                raise InputError(
                    path,
                    GRAPH_DUPLICATE_OUTPUT,
                    f"'{name}' in the {scope.where} is defined twice: by {first} and by "
                    f"{_label(node)}; every value must have exactly one producer",
                )
            producer[name] = index
            available.add(name)
    graph_outputs = list(body.output) if isinstance(body, onnx.FunctionProto) else [
        vi.name for vi in body.output]
    # Every name is now in one of these: check them all for bytes at once.
    _all_text(path, scope, [producer, declared_list, [n for n, _ in late], graph_outputs])
    outside = {name for name, _ in late if name not in producer}
    if len(outside) < len({name for name, _ in late}):  # defined here, but after a reader
        reads = [[n for n in node.input if n] + extra.get(index, [])
                 for index, node in enumerate(body.node)]
        _raise_on_cycle(path, scope, reads, producer)
    for name in graph_outputs:
        if name and name not in available:
            if not scope.is_subgraph:
                raise InputError(
                    path,
                    GRAPH_DANGLING_INPUT,
                    f"output '{name}' of the {scope.where} is not defined by any node, input or "
                    "initializer",
                )
            outside.add(name)
    return frozenset(outside)


def _raise_on_cycle(path: Path | None, scope: _Scope, reads: list[list[str]],
                    producer: dict[str, int]) -> None:
    """Kahn's sort over the body's own dependencies; a remainder holds a cycle, which is named."""
    count = len(reads)
    deps: list[set[int]] = [{producer[n] for n in names if n in producer} for names in reads]
    users: list[list[int]] = [[] for _ in range(count)]
    pending = [len(d) for d in deps]
    for index, dep in enumerate(deps):
        for d in dep:
            users[d].append(index)
    queue = deque(i for i in range(count) if not pending[i])
    done = 0
    while queue:
        i = queue.popleft()
        done += 1
        for user in users[i]:
            pending[user] -= 1
            if not pending[user]:
                queue.append(user)
    if done == count:
        return
    # Walk dependencies among the unsorted nodes until one repeats: that stretch is a cycle.
    start = next(i for i in range(count) if pending[i])
    seen: dict[int, int] = {}
    walk: list[int] = []
    node = start
    while node not in seen:
        seen[node] = len(walk)
        walk.append(node)
        node = next(d for d in deps[node] if pending[d])
    cycle = walk[seen[node]:] + [node]
    cycle.reverse()  # producer -> consumer order reads naturally
    body = scope.body
    shown = " -> ".join(_label(body.node[i]) for i in cycle[:8])
    if len(cycle) > 8:
        shown += " -> ..."
    raise InputError(
        path,
        GRAPH_CYCLE,
        f"the {scope.where} has a cycle: {shown}; an ONNX graph must be acyclic",
    )


def _not_utf8(path: Path | None, scope: _Scope) -> InputError:
    """Protobuf hands back bytes for a string field that is not UTF-8: the file is damaged."""
    return InputError(path, CORRUPT_PROTOBUF,
                      f"corrupt ONNX protobuf: a value name in the {scope.where} is not valid "
                      "UTF-8 text")


def _consumer_label(body: _Body, name: str) -> str:
    for node in body.node:
        if name in node.input:
            return _label(node)
    for node in body.node:
        if any(name in _all_names(g) for g in _subgraphs(node)):
            return f"a subgraph of {_label(node)}"
    return "a node"


def _all_names(graph: onnx.GraphProto) -> set[str]:
    """Every name read anywhere inside a subgraph (for messages only)."""
    names: set[str] = set()
    stack = [graph]
    while stack:
        g = stack.pop()
        for node in g.node:
            names.update(node.input)
            stack.extend(_subgraphs(node))
        names.update(vi.name for vi in g.output)
    return names


def _label(node: onnx.NodeProto) -> str:
    return f"{node.op_type} '{node.name}'" if node.name else node.op_type
