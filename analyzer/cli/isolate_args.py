"""`--isolate` and its limits for subcommands that run an exporter on the user's model."""

from __future__ import annotations

import argparse

from analyzer.error_codes import USAGE
from analyzer.errors import InputError
from analyzer.workflows.isolated_export import (
    DEFAULT_EXPORT_MEMORY_LIMIT_MB,
    DEFAULT_EXPORT_TIME_LIMIT,
    ExportIsolation,
)


def add_isolation(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "isolation", "the export runs in a child process, so a crash or a hang becomes finding "
        "EXP109 and the pre-flight report still comes out")
    group.add_argument("--isolate", action=argparse.BooleanOptionalAction, default=True,
                       help="run the export in a child process (default: on)")
    group.add_argument("--time-limit", type=float, default=DEFAULT_EXPORT_TIME_LIMIT,
                       metavar="S", help="seconds the export may take in the child "
                       f"(default: {DEFAULT_EXPORT_TIME_LIMIT:.0f})")
    group.add_argument("--memory-limit", type=int, default=DEFAULT_EXPORT_MEMORY_LIMIT_MB,
                       metavar="MB", help="address-space limit of the child in MB "
                       f"(default: {DEFAULT_EXPORT_MEMORY_LIMIT_MB})")


def isolation_from(args: argparse.Namespace, spec: str) -> object | None:
    """The ExportIsolation for the flags (None with --no-isolate); the child rebuilds the module
    from the spec, the --input options and --weights."""

    if not args.isolate:
        return None
    if args.time_limit <= 0 or args.memory_limit <= 0:
        raise InputError(None, USAGE, "--time-limit and --memory-limit must be positive")
    return ExportIsolation(spec=spec, inputs=tuple(args.input), weights=args.weights,
                           time_limit=args.time_limit, memory_limit_mb=args.memory_limit)
