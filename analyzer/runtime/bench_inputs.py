"""Seeded benchmark inputs shaped from a model's graph inputs.

Dynamic dimensions default to 1 and every default is stated in a note, so that a result says
what shape it measured. User data (a dict or an .npz path) overrides the generated arrays.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from analyzer.error_codes import BENCH_INPUTS
from analyzer.errors import InputError
from analyzer.limits import DEFAULT_MAX_INPUT_BYTES
from analyzer.runtime.inputs import check_feeds, graph_inputs, random_inputs

Feeds = dict[str, np.ndarray]


@dataclass
class InputSpec:
    """One graph input as benchmarked: its dtype, the concrete shape used, and where it came
    from ("generated" or "user")."""

    name: str
    dtype: str
    shape: list[int]
    source: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InputSpec:
        return cls(**data)


def make_inputs(
    model: onnx.ModelProto,
    user: Feeds | str | os.PathLike[str] | None = None,
    seed: int = 0,
    *,
    max_input_bytes: int | None = DEFAULT_MAX_INPUT_BYTES,
    path: str | os.PathLike[str] | None = None,
) -> tuple[Feeds, list[InputSpec], list[str]]:
    """Feeds for every graph input, their specs, and notes on every defaulted dimension. The
    arrays come from the same seeded generator `verify` uses (analyzer.runtime.inputs), so a
    benchmark and a parity check of one model see the same data; user arrays override them.
    Only the inputs the user did not give are made, after their size is checked against
    `max_input_bytes` (INPUT_TOO_LARGE, naming `path`)."""
    given = _load_user(user)
    declared = graph_inputs(model)
    where = user if isinstance(user, (str, os.PathLike)) else None
    check_feeds(model, given, where, names_code=BENCH_INPUTS, shape_code=BENCH_INPUTS,
                type_code=BENCH_INPUTS)
    feeds: Feeds = {}
    notes: list[str] = []
    missing = [v.name for v in declared if v.name not in given]
    if missing:
        generated = random_inputs(model, samples=1, seed=seed, max_input_bytes=max_input_bytes,
                                  path=path, only=missing)
        feeds.update(generated.samples[0])
        notes = list(generated.notes)
    feeds.update(given)
    specs = [
        InputSpec(v.name, str(feeds[v.name].dtype), list(feeds[v.name].shape),
                  "user" if v.name in given else "generated")
        for v in declared
    ]
    return feeds, specs, notes


def _load_user(user: Feeds | str | os.PathLike[str] | None) -> Feeds:
    if user is None:
        return {}
    if isinstance(user, dict):
        return {k: np.asarray(v) for k, v in user.items()}
    path = Path(os.fsdecode(user))
    if not path.is_file():
        raise InputError(path, BENCH_INPUTS, "input data file not found")
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except (OSError, ValueError) as exc:
        raise InputError(path, BENCH_INPUTS, f"not a readable .npz file: {exc}") from None
