"""The graph payload of a Report (JSON key `graph`, additive since onnx-preflight/report/1): every
node with the module group it belongs to and a reference into `ops[].nodes[]`, plus the
producer -> consumer edges. The HTML report draws its graph view from it.

Why groups are computed here and not in the browser: they are plain data that tests can check,
and a model of 100k nodes must arrive already grouped (no group with more than a few dozen
direct members) so that the page only lays out the groups a reader opens.

Groups come from where the node came from: the dynamo exporter's `pkg.torch.onnx.name_scopes`
metadata (module path), else a path-like node name (`/blocks/blocks.0/attn/MatMul` from the
TorchScript exporter, `model/dense/MatMul` from tf2onnx), else nothing; nodes of an If/Loop/Scan
body sit in a group named after the subgraph. Runs of more than CHUNK ungrouped nodes are split
into consecutive chunks, in graph order, so that flat graphs stay navigable too.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from analyzer.inventory import Inventory, NodeRecord

if TYPE_CHECKING:  # annotations only: analyzer.report.model imports the renderers
    from analyzer.report.model import OpEntry

MAX_GRAPH_NODES = 100_000  # beyond this the payload keeps the first nodes and says how many not
CHUNK = 64  # most direct nodes one group shows before they are split into chunks
MAX_CHILDREN = 60  # most direct subgroups before they are gathered into ranges

_SCOPES_KEY = "pkg.torch.onnx.name_scopes"
_STACK_KEY = "pkg.torch.onnx.stack_trace"
_FRAME = re.compile(r'File "([^"]+)", line (\d+)')


def build_graph(inventory: Inventory, ops: Sequence[OpEntry]) -> dict[str, Any]:
    """The payload, compact because it grows with the model (one small list per node, names
    not repeated: they are in ops[].nodes[]):

    nodes      [op index, node index, group] per node in graph order: ops[op].nodes[node] is
               its row in the op table (api._op_entries appends each op's nodes in this same
               order); group indexes `groups`, -1 is the top level
    edges      [producer, consumer] node indices
    groups     {"name", "parent", "kind": module | subgraph | chunk | range}
    locations  [node, "file:line"] where the exporter recorded the user's source line
    modules    [node, "module.path"] for nodes whose one-node group was folded into its parent
    omitted_nodes  nodes past MAX_GRAPH_NODES, not listed
    """
    records = inventory.nodes[:MAX_GRAPH_NODES]
    op_index = {(o.domain, o.op): i for i, o in enumerate(ops)}
    sizes = [len(o.nodes) for o in ops]
    taken = [0] * len(ops)
    nodes: list[list[int]] = []
    paths: list[tuple[str, ...]] = []
    locations: list[list[Any]] = []
    producer: dict[str, int] = {}
    cache: dict[tuple[str, str], tuple[str, ...]] = {}
    for i, record in enumerate(records):
        k = op_index.get((record.domain, record.op), -1)
        if k >= 0 and taken[k] < sizes[k]:
            nodes.append([k, taken[k], -1])
            taken[k] += 1
        else:
            nodes.append([-1, -1, -1])
        for name in record.outputs:
            if name:
                producer[name] = i
        proto = record.proto
        meta = None
        if proto is not None and len(proto.metadata_props):
            meta = {prop.key: prop.value for prop in proto.metadata_props}
            location = _location(meta.get(_STACK_KEY))
            if location:
                locations.append([i, location])
        paths.append(_scope_path(record, meta, cache))
    edges: list[list[int]] = []
    for i, record in enumerate(records):
        seen: set[int] = set()
        for name in record.inputs:
            src = producer.get(name) if name else None
            if src is not None and src != i and src not in seen:
                seen.add(src)
                edges.append([src, i])
    groups, modules = group_nodes(nodes, paths)
    return {"nodes": nodes, "edges": edges, "groups": groups, "locations": locations,
            "modules": modules, "omitted_nodes": len(inventory.nodes) - len(records)}


def graph_from_ops(ops: Sequence[OpEntry]) -> dict[str, Any]:
    """A payload without edges, for reports that have no ONNX graph (the PyTorch pre-flight):
    each op use grouped by its module path (NodeDetail.graph holds it there)."""
    nodes: list[list[int]] = []
    paths: list[tuple[str, ...]] = []
    locations: list[list[Any]] = []
    for i, entry in enumerate(ops):
        for j, detail in enumerate(entry.nodes[:MAX_GRAPH_NODES - len(nodes)]):
            if detail.location:
                locations.append([len(nodes), detail.location])
            nodes.append([i, j, -1])
            module = detail.graph if detail.graph not in ("", "main") else ""
            paths.append(tuple(module.split(".")) if module else ())
    groups, modules = group_nodes(nodes, paths)
    return {"nodes": nodes, "edges": [], "groups": groups, "locations": locations,
            "modules": modules, "omitted_nodes": sum(len(o.nodes) for o in ops) - len(nodes)}


def group_nodes(nodes: list[list[int]], paths: Sequence[tuple[str, ...]]) -> tuple[
        list[dict[str, Any]], list[list[Any]]]:
    """Set each node's group (nodes[i][2]) from its path; returns (groups, modules). A group
    that would hold a single node is dropped (the node moves up; `modules` keeps the module
    name), then long runs are chunked (see _Groups.chunk)."""
    per_path: dict[tuple[str, ...], int] = {}
    for path in paths:
        per_path[path] = per_path.get(path, 0) + 1
    counts: dict[tuple[str, ...], int] = {}
    for path, n in per_path.items():
        for k in range(1, len(path) + 1):
            counts[path[:k]] = counts.get(path[:k], 0) + n
    groups = _Groups()
    placed: dict[tuple[str, ...], tuple[int, str | None]] = {}
    modules: list[list[Any]] = []
    for i, (node, path) in enumerate(zip(nodes, paths, strict=True)):
        found = placed.get(path)
        if found is None:
            kept = path
            while kept and counts[kept] < 2:
                kept = kept[:-1]
            module = ".".join(p for p in path if not p.startswith("⟨")) if kept != path else None
            found = placed[path] = (groups.ensure(kept), module)
        node[2] = found[0]
        if found[1]:
            modules.append([i, found[1]])
    groups.chunk(nodes)
    return groups.to_list(), modules


def _scope_path(record: NodeRecord, meta: dict[str, str] | None,
                cache: dict[tuple[str, str], tuple[str, ...]]) -> tuple[str, ...]:
    """Group path: subgraph (when not the main graph), then the module path segments."""
    prefix: tuple[str, ...] = ()
    if record.graph != "main":
        prefix = tuple(f"⟨{part}⟩" for part in record.graph.split("/")[1:])
    scopes = meta.get(_SCOPES_KEY) if meta else None
    if scopes:
        found = cache.get(("scopes", scopes))
        if found is None:
            try:
                names = ast.literal_eval(scopes)
            except (ValueError, SyntaxError):
                names = []
            # ['', 'blocks', 'blocks.0', 'blocks.0.attn', 'linear']: the last is the FX node.
            modules = [n for n in names[:-1] if isinstance(n, str) and n]
            found = cache[("scopes", scopes)] = tuple(modules[-1].split(".")) if modules else ()
        return prefix + found
    folder = record.name.rpartition("/")[0]
    if not folder:
        return prefix
    found = cache.get(("name", folder))
    if found is None:
        path: list[str] = []
        for part in (p for p in folder.split("/") if p):
            dotted = ".".join(path)  # TorchScript: /blocks/blocks.0/attn -> blocks, 0, attn
            if dotted and part.startswith(dotted + "."):
                path.extend(part[len(dotted) + 1:].split("."))
            else:
                path.append(part)
        found = cache[("name", folder)] = tuple(path)
    return prefix + found


def _location(stack: str | None) -> str | None:
    """file:line of the innermost frame outside installed packages (the user's own code)."""
    if not stack:
        return None
    for path, line in reversed(_FRAME.findall(stack)):
        if "site-packages" not in path and "dist-packages" not in path:
            return f"{path.rsplit('/', 1)[-1]}:{line}"
    return None


class _Groups:
    """The group tree: index 0 is never used; -1 is the root (the whole graph)."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.parents: list[int] = []
        self.kinds: list[str] = []
        self._by_path: dict[tuple[str, ...], int] = {}

    def _add(self, name: str, parent: int, kind: str) -> int:
        self.names.append(name)
        self.parents.append(parent)
        self.kinds.append(kind)
        return len(self.names) - 1

    def ensure(self, path: tuple[str, ...]) -> int:
        if not path:
            return -1
        found = self._by_path.get(path)
        if found is not None:
            return found
        parent = self.ensure(path[:-1])
        label = ".".join(p for p in path if not p.startswith("⟨")) or path[-1]
        if path[-1].startswith("⟨"):
            label = path[-1]
        index = self._add(label, parent, "subgraph" if path[-1].startswith("⟨") else "module")
        self._by_path[path] = index
        return index

    def chunk(self, nodes: list[list[int]]) -> None:
        """Split long runs of direct members into chunk groups, and many subgroups into ranges,
        so no group has more than CHUNK direct nodes or MAX_CHILDREN direct subgroups. Parts are
        of even size (50 nodes make one group of 50, not 40 + 10)."""
        members: dict[int, list[int]] = {}
        for i, node in enumerate(nodes):
            members.setdefault(node[2], []).append(i)
        for group, idx in members.items():
            if len(idx) <= CHUNK:
                continue
            owner = f"{self.names[group]} " if group >= 0 else ""
            for start, part in _even_parts(idx, CHUNK):
                chunk = self._add(f"{owner}nodes {start + 1}–{start + len(part)}", group,
                                  "chunk")
                for i in part:
                    nodes[i][2] = chunk
        children: dict[int, list[int]] = {}
        for g, parent in enumerate(self.parents):
            children.setdefault(parent, []).append(g)
        pending = list(children.items())
        while pending:
            parent, kids = pending.pop()
            if len(kids) <= MAX_CHILDREN:
                continue
            ranges = []
            for _, part in _even_parts(kids, MAX_CHILDREN):
                first, last = self.names[part[0]], self.names[part[-1]]
                label = f"{first} … {last}"
                if self.kinds[part[0]] == "chunk":  # "nodes 1–64" ... "nodes 2497–2560"
                    label = f"{first.rsplit('–', 1)[0]}–{last.rsplit('–', 1)[-1]}"
                r = self._add(label, parent, "range")
                for g in part:
                    self.parents[g] = r
                ranges.append(r)
            pending.append((parent, ranges))

    def to_list(self) -> list[dict[str, Any]]:
        return [{"name": n, "parent": p, "kind": k}
                for n, p, k in zip(self.names, self.parents, self.kinds, strict=True)]


def _even_parts(items: list[int], most: int) -> list[tuple[int, list[int]]]:
    """(start, part) pairs: the fewest parts of at most `most` items, sizes differing by <= 1."""
    count = -(-len(items) // most)
    base, extra = divmod(len(items), count)
    parts, start = [], 0
    for k in range(count):
        size = base + (1 if k < extra else 0)
        parts.append((start, items[start:start + size]))
        start += size
    return parts
