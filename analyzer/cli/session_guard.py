"""`--isolate` for verify and bench: create each ONNX model's onnxruntime session once in a
child process (analyzer.runtime.session.check_loads_in_child) before the run creates its own in
this process.

Why: onnxruntime can crash (segmentation faults on malformed models are on record) or hang in
session creation, and verify/bench must create their sessions in this process to run and time
them. The child's attempt turns such a model into one line naming the file and what happened
(`ORT_SESSION_CRASHED`, exit 2) instead of a dead process; a model that merely fails to load
is left to the run itself, which says why in its own words. Costs one extra session creation
in a spawned child (about a second); `--no-isolate` skips it.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from pathlib import Path

from analyzer.error_codes import USAGE
from analyzer.errors import InputError
from analyzer.runtime.session import (
    GUARD_MEMORY_LIMIT_MB,
    GUARD_TIME_LIMIT,
    guard_session_creation,
)

DEFAULT_TIME_LIMIT = GUARD_TIME_LIMIT
DEFAULT_MEMORY_LIMIT_MB = GUARD_MEMORY_LIMIT_MB


def add_session_guard(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "isolation", "each model's onnxruntime session is first created in a child process, so "
        "a crash or a hang there is reported instead of ending this process")
    group.add_argument("--isolate", action=argparse.BooleanOptionalAction, default=True,
                       help="check that onnxruntime survives creating the session, in a child "
                       "process first (default: on)")
    group.add_argument("--time-limit", type=float, default=DEFAULT_TIME_LIMIT, metavar="S",
                       help=f"seconds the child may take (default: {DEFAULT_TIME_LIMIT:.0f})")
    group.add_argument("--memory-limit", type=int, default=DEFAULT_MEMORY_LIMIT_MB,
                       metavar="MB", help="address-space limit of the child in MB "
                       f"(default: {DEFAULT_MEMORY_LIMIT_MB})")


def guard_sessions(args: argparse.Namespace, models: Iterable[str | None]) -> None:
    """Raise ORT_SESSION_CRASHED for the first model whose session creation crashes, hangs or
    runs out of memory in the child; do nothing with --no-isolate."""
    if not args.isolate:
        return
    if args.time_limit <= 0 or args.memory_limit <= 0:
        raise InputError(None, USAGE, "--time-limit and --memory-limit must be positive")
    for model in models:
        if not model or not Path(model).is_file() or Path(model).suffix.lower() != ".onnx":
            continue
        try:
            guard_session_creation(model, time_limit=args.time_limit,
                                   memory_limit_mb=args.memory_limit)
        except InputError as exc:  # the CLI names its own flags
            raise InputError(exc.path, exc.code, exc.message.replace(
                "the time limit", "--time-limit").replace("the memory limit", "--memory-limit")
            ) from None
