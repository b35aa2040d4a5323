"""Resource limits on what the analyzer accepts, and how a refusal says to raise them.

Each limit guards a cost that grows with hostile input: memory to read a file, time and memory
per node, and stack-like work per level of subgraph nesting. The defaults are far above real
models; a refusal names the limit and the flag (or API argument) that raises it.
"""

from __future__ import annotations

#: Bytes of a model file read into memory. External data is not counted: analysis never reads it.
DEFAULT_MAX_FILE_BYTES = 4 * 2**30
#: Nodes in all graphs of a model (subgraphs and local functions included).
DEFAULT_MAX_NODES = 5_000_000
#: Subgraph (If/Loop/Scan body) nesting; the main graph is depth 0.
DEFAULT_MAX_SUBGRAPH_DEPTH = 32

#: limit name -> (CLI flag, Python API keyword)
_FLAGS = {
    "file size": ("--max-file-size BYTES", "max_file_bytes"),
    "node count": ("--max-nodes N", "max_nodes"),
    "subgraph depth": ("--max-subgraph-depth N", "max_subgraph_depth"),
}


def raise_hint(limit: str) -> str:
    """'raise it with --max-nodes N (max_nodes= in the Python API)' for a limit name."""
    flag, keyword = _FLAGS[limit]
    return f"raise it with {flag} ({keyword}= in the Python API)"
