"""Run onnx's shape inference in a child process for models with ops known to crash it.

onnx's C++ shape inference runs in the analyzer's process. For a few ops it dereferences a
missing input type (an input of unknown type, e.g. after an upstream inference failure) and
the process dies with a segmentation fault: found by fuzzing (benchmarks/fuzz_analyze.py)
against onnx 1.23 for RegexFullMatch, and for ai.onnx.ml ops (DictVectorizer, LabelEncoder,
TreeEnsemble; the whole classic-ML domain is treated alike, its models are small). For a model
with any of these, inference (and function inlining) runs in a child with a time and memory
limit; a crash becomes an inference error (finding SCH206) and the analysis goes on untyped.

The child is forked from a forkserver that has onnx imported already, so isolation costs tens
of milliseconds, not a fresh interpreter per model.
"""

from __future__ import annotations

import multiprocessing
import os

import onnx

from analyzer.isolation import run_isolated
from analyzer.sources.onnx_inventory import PreparedModel, prepare

__all__ = ["is_risky", "prepare_guarded", "prepare_in_child"]

#: (domain, op) pairs whose inference crashes on untyped inputs; "*" stands for a whole domain.
RISKY_OPS = frozenset({("", "RegexFullMatch"), ("ai.onnx", "RegexFullMatch"),
                       ("ai.onnx.ml", "*")})
INFERENCE_TIME_LIMIT = 120.0
INFERENCE_MEMORY_LIMIT_MB = 8192
_preloaded = False


def is_risky(domain: str, op_type: str) -> bool:
    return (domain, op_type) in RISKY_OPS or (domain, "*") in RISKY_OPS


def _prepare_child(data: bytes) -> tuple[bytes, list[str], list[str], list[tuple[str, str]]]:
    """In the child: the same prepare() as in-process, answered as bytes."""

    prepared = prepare(onnx.ModelProto.FromString(data))
    return (prepared.model.SerializeToString(), prepared.inference_errors,
            prepared.inlined_functions, prepared.local_functions)


def prepare_guarded(model: onnx.ModelProto, path: str | os.PathLike[str] | None = None, *,
                    over_2gb: bool = False, isolate: bool = False) -> PreparedModel:
    """prepare(), in a child process when `isolate` (a model with a risky op) and the model is
    small enough to send there (not over protobuf's 2 GB limit)."""
    if isolate and not over_2gb:
        return prepare_in_child(model)
    return prepare(model, path, over_2gb=over_2gb)


def prepare_in_child(model: onnx.ModelProto) -> PreparedModel:
    """prepare(model) in an isolated child; on a crash, hang or memory blow-up the model comes
    back uninferred with the reason as an inference error."""

    global _preloaded
    if not _preloaded:
        multiprocessing.get_context("forkserver").set_forkserver_preload(
            ["analyzer.sources.onnx_inventory", "analyzer.isolation"])
        _preloaded = True
    result = run_isolated(_prepare_child, model.SerializeToString(),
                          time_limit=INFERENCE_TIME_LIMIT,
                          memory_limit_mb=INFERENCE_MEMORY_LIMIT_MB, start_method="forkserver")
    if result.ok:
        data, errors, inlined, local = result.value
        return PreparedModel(onnx.ModelProto.FromString(data), errors, inlined, local)
    local = [(f.domain, f.name) for f in model.functions]
    reason = f"onnx shape inference {result.describe()} in an isolated child process; " \
        "types and shapes are unknown"
    return PreparedModel(model, [reason], [], local)
