"""Build each table once per process, optionally in a fresh child interpreter.

Generation takes seconds (torch: ~6 s, down-conversion probes: ~10 s), and both the drift tests
and `python -m opsets.generate` ask for a table more than once. torch and tf2onnx are read in a
child interpreter: torch's decomposition tables depend on what the calling process imported
before, and tensorflow must not leak into the caller.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

#: the directory that holds the `opsets` package, put first on the child's PYTHONPATH
PROJECT_ROOT = Path(__file__).resolve().parents[2]

_BUILT: dict[str, dict[str, Any]] = {}


def build_once(key: str, build: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """`build()`'s table, built once per process per `key`; a fresh copy each call (callers
    may edit what they get)."""
    if key not in _BUILT:
        _BUILT[key] = build()
    return copy.deepcopy(_BUILT[key])


def table_from_child(
    module: str, what: str, env: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Run `python -m <module> OUT` in a fresh interpreter (the module calls `child_main`) and
    return the table it wrote to OUT; `what` names the table in the error."""
    root = str(PROJECT_ROOT)
    child_env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]),
        **(env or {}),
    }
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "table.json"
        done = subprocess.run(
            [sys.executable, "-m", module, str(out)],
            cwd=root,
            env=child_env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"generating {what} failed:\n{done.stderr}")
        table: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
        return table


def child_main(generate_json: Callable[[], str]) -> None:
    """The child's side of `table_from_child`: write `generate_json()` to argv[1]."""
    Path(sys.argv[1]).write_text(generate_json(), encoding="utf-8")
