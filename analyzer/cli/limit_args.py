"""The resource-limit flags (--max-file-size, --max-nodes, --max-subgraph-depth) and their
parsing, shared by the subcommands that load untrusted models; --max-input-bytes for those that
allocate example inputs (verify, bench, a PyTorch source's --input)."""

from __future__ import annotations

import argparse
import re
from typing import Any

from analyzer.error_codes import USAGE
from analyzer.errors import InputError
from analyzer.limits import (
    DEFAULT_MAX_FILE_BYTES,
    DEFAULT_MAX_INPUT_BYTES,
    DEFAULT_MAX_NODES,
    DEFAULT_MAX_SUBGRAPH_DEPTH,
    INPUT_MEMORY_SHARE,
    human_bytes,
)

_SIZE = re.compile(r"^\s*(\d+)\s*([kmgt]i?b?|b)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}


def parse_size(text: str) -> int:
    """'4096', '512M', '4GiB' -> bytes (binary units: a model's size is counted in them)."""
    match = _SIZE.match(text)
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size such as 1000000, 512M or 4G")
    unit = (match[2] or "").lower()[:1]
    return int(match[1]) * _UNITS[unit]


def add_limits(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "limits", "untrusted models are refused (exit 2) past these; 0 lifts a limit")
    group.add_argument("--max-file-size", type=parse_size, default=DEFAULT_MAX_FILE_BYTES,
                       metavar="BYTES",
                       help="refuse model files larger than this, e.g. 8G (default: 4G; external "
                       "data is not counted: it is never read)")
    group.add_argument("--max-nodes", type=int, default=DEFAULT_MAX_NODES, metavar="N",
                       help="refuse models with more nodes, subgraphs included "
                       f"(default: {DEFAULT_MAX_NODES:,})")
    group.add_argument("--max-subgraph-depth", type=int, default=DEFAULT_MAX_SUBGRAPH_DEPTH,
                       metavar="N", help="refuse If/Loop/Scan bodies nested deeper "
                       f"(default: {DEFAULT_MAX_SUBGRAPH_DEPTH})")


def limits_from(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of analyzer.analyze / load_onnx for the flags (0 = no limit)."""
    for flag in ("max_file_size", "max_nodes", "max_subgraph_depth"):
        if getattr(args, flag) < 0:
            raise InputError(None, USAGE, f"--{flag.replace('_', '-')} cannot be negative")
    depth = args.max_subgraph_depth
    return {
        "max_file_bytes": args.max_file_size or None,
        "max_nodes": args.max_nodes or None,
        "max_subgraph_depth": depth if depth else 10**6,
    }


def add_input_limit(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    parser.add_argument("--max-input-bytes", type=parse_size, default=DEFAULT_MAX_INPUT_BYTES,
                        metavar="BYTES",
                        help="refuse (exit 2) example inputs that would need more memory in all, "
                        "before allocating them, e.g. 2G; 0 lifts the limit (default: "
                        f"1/{INPUT_MEMORY_SHARE} of this machine's memory, "
                        f"{human_bytes(DEFAULT_MAX_INPUT_BYTES)})")


def input_limit_from(args: argparse.Namespace) -> int | None:
    """max_input_bytes= for the API from --max-input-bytes (0: no limit)."""
    return args.max_input_bytes or None
