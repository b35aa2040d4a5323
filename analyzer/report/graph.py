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
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from analyzer.inventory import Inventory

if TYPE_CHECKING:  # annotations only: analyzer.report.model imports the renderers
    from analyzer.report.model import OpEntry

MAX_GRAPH_NODES = 100_000  # beyond this the payload keeps the first nodes and says how many not
CHUNK = 64  # most direct nodes one group shows before they are split into chunks
MAX_CHILDREN = 60  # most direct subgroups before they are gathered into ranges
MAX_PATH_PARTS = 32  # module levels kept from a node's name or scopes (deeper ones share one)

_SCOPES_KEY = "pkg.torch.onnx.name_scopes"
_STACK_KEY = "pkg.torch.onnx.stack_trace"
_FRAME = re.compile(r'File "([^"]+)", line (\d+)')


class GraphNode(NamedTuple):
    """What the graph payload needs of one node, kept instead of the model (no protobuf)."""

    domain: str
    op: str
    name: str
    graph: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    meta: dict[str, str] | None  # the node's metadata_props, when it has any


@dataclass(frozen=True)
class GraphSource:
    """The nodes, in graph order, from which `build_graph` makes the payload when a report is
    rendered as HTML: analysis keeps this (references to names it already holds) instead of
    building a payload that most output formats never show."""

    nodes: tuple[GraphNode, ...]
    total: int  # nodes in the model (the source keeps at most MAX_GRAPH_NODES)

    @classmethod
    def of(cls, inventory: Inventory) -> GraphSource:
        kept = []
        for record in inventory.nodes[:MAX_GRAPH_NODES]:
            proto = record.proto
            meta = ({prop.key: prop.value for prop in proto.metadata_props}
                    if proto is not None and len(proto.metadata_props) else None)
            kept.append(GraphNode(record.domain, record.op, record.name, record.graph,
                                  record.inputs, record.outputs, meta))
        return cls(tuple(kept), len(inventory.nodes))


def build_graph(source: GraphSource | Inventory, ops: Sequence[OpEntry]) -> dict[str, Any]:
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
    if isinstance(source, Inventory):
        source = GraphSource.of(source)
    records = source.nodes
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
        meta = record.meta
        if meta is not None:
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
            "modules": modules, "omitted_nodes": source.total - len(records)}


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
    name), then long runs are chunked (see _Groups.chunk).

    Paths are interned in a trie (one entry per distinct prefix), so the work is proportional
    to the distinct paths' lengths, not to their lengths squared, however deep they nest."""
    trie = _Trie()
    leaf_of: dict[tuple[str, ...], int] = {}
    for path in paths:
        leaf = leaf_of.get(path)
        if leaf is None:
            leaf = leaf_of[path] = trie.intern(path)
        if leaf >= 0:  # -1: the top level, which is no group
            trie.count[leaf] += 1
    trie.sum_up()
    groups = _Groups(trie)
    placed: dict[int, tuple[int, str | None]] = {}
    modules: list[list[Any]] = []
    for i, (node, path) in enumerate(zip(nodes, paths, strict=True)):
        leaf = leaf_of[path]
        found = placed.get(leaf)
        if found is None:
            kept = leaf
            while kept >= 0 and trie.count[kept] < 2:
                kept = trie.parent[kept]
            module = ".".join(p for p in path if not p.startswith("⟨")) if kept != leaf else None
            found = placed[leaf] = (groups.ensure(kept), module)
        node[2] = found[0]
        if found[1]:
            modules.append([i, found[1]])
    groups.chunk(nodes)
    return groups.to_list(), modules


class _Trie:
    """Distinct path prefixes as integers: -1 is the empty path (the whole graph); an entry's
    parent is always interned before it."""

    def __init__(self) -> None:
        self.parent: list[int] = []
        self.part: list[str] = []
        self.count: list[int] = []
        self._child: dict[tuple[int, str], int] = {}

    def intern(self, path: tuple[str, ...]) -> int:
        at = -1
        for part in path:
            found = self._child.get((at, part))
            if found is None:
                found = self._child[(at, part)] = len(self.parent)
                self.parent.append(at)
                self.part.append(part)
                self.count.append(0)
            at = found
        return at

    def sum_up(self) -> None:
        """count[i]: the nodes at or below prefix i (children come after their parent)."""
        for i in range(len(self.parent) - 1, -1, -1):
            if self.parent[i] >= 0:
                self.count[self.parent[i]] += self.count[i]


def _scope_path(record: GraphNode, meta: dict[str, str] | None,
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
            found = tuple(modules[-1].split("."))[:MAX_PATH_PARTS] if modules else ()
            cache[("scopes", scopes)] = found
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
        found = cache[("name", folder)] = tuple(path[:MAX_PATH_PARTS])
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
    """The group tree: -1 is the root (the whole graph); groups are made for trie prefixes."""

    def __init__(self, trie: _Trie | None = None) -> None:
        self.names: list[str] = []
        self.parents: list[int] = []
        self.kinds: list[str] = []
        self._trie = trie or _Trie()
        self._by_prefix: dict[int, int] = {}
        self._dotted: dict[int, str] = {-1: ""}  # module path of a prefix, "⟨...⟩" parts left out

    def _add(self, name: str, parent: int, kind: str) -> int:
        self.names.append(name)
        self.parents.append(parent)
        self.kinds.append(kind)
        return len(self.names) - 1

    def ensure(self, prefix: int) -> int:
        """The group of a trie prefix, made (with its missing ancestors, parents first) when
        new; iterative, so nesting depth is no limit."""
        missing: list[int] = []
        at = prefix
        while at >= 0 and at not in self._by_prefix:
            missing.append(at)
            at = self._trie.parent[at]
        for at in reversed(missing):
            parent_prefix = self._trie.parent[at]
            parent = self._by_prefix[parent_prefix] if parent_prefix >= 0 else -1
            part = self._trie.part[at]
            outer = self._dotted[parent_prefix]
            if part.startswith("⟨"):
                self._dotted[at] = outer
                label, kind = part, "subgraph"
            else:
                self._dotted[at] = label = f"{outer}.{part}" if outer else part
                kind = "module"
            self._by_prefix[at] = self._add(label, parent, kind)
        return self._by_prefix[prefix] if prefix >= 0 else -1

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
