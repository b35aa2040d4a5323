"""The torch corpus builds and runs, and the reality harness reports what the exporters do.

The facts checked end to end were first observed with torch 2.13.0, onnx 1.23.2, onnxscript 0.7.2
and onnxruntime 1.32.0 (benchmarks/torch_export_reality.py prints the whole matrix).
"""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("onnxscript")

import torch  # noqa: E402

from tests.fixtures import torch_corpus as corpus  # noqa: E402
from tests.fixtures.torch_corpus import BY_NAME, CORPUS, CorpusModel  # noqa: E402
from tests.fixtures.torch_export_harness import (  # noqa: E402
    ExportOutcome,
    export_outcomes,
    verify_shortcut,
)

FEATURE_TAGS = {
    "sdpa",
    "mha",
    "activation",
    "normalization",
    "complex",
    "fft",
    "linalg",
    "data_dependent",
    "item",
    "python_number",
    "inplace",
    "dynamic_shapes",
    "output_container",
    "custom_op",
    "einsum",
    "indexing",
    "sorting",
    "data_dependent_shape",
    "resize",
    "shuffle",
    "scan",
    "grid_sample",
    "embedding",
    "recurrent",
    "conv",
    "training_mode",
    "timm_like",
    "kwargs",
    "transformer",
}


def test_corpus_shape() -> None:
    assert len(CORPUS) >= 30
    names = [m.name for m in CORPUS]
    assert len(names) == len(set(names))
    assert all(m.tags for m in CORPUS)
    covered = set().union(*(m.tags for m in CORPUS))
    assert not FEATURE_TAGS - covered, FEATURE_TAGS - covered


def _flat_tensors(value: object) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _flat_tensors(v)]
    if isinstance(value, list | tuple):
        return [t for v in value for t in _flat_tensors(v)]
    if hasattr(value, "__dataclass_fields__"):
        return [t for v in vars(value).values() for t in _flat_tensors(v)]
    raise TypeError(type(value))


@pytest.mark.parametrize("model", CORPUS, ids=lambda m: m.name)
def test_builds_and_runs(model: CorpusModel) -> None:
    module, args, kwargs = model.build()
    assert isinstance(module, torch.nn.Module)
    assert all(isinstance(a, torch.Tensor) for a in args)
    assert module.training == ("training_mode" in model.tags)
    if model.dynamic_shapes is not None:
        assert len(model.dynamic_shapes) == len(args)
        assert not kwargs
    torch.manual_seed(0)  # the same dropout masks for both runs in training mode
    with torch.no_grad():
        first = _flat_tensors(module(*args, **kwargs))
    assert first
    # seeded: a second build gives the same weights and inputs, hence the same outputs
    module2, args2, kwargs2 = model.build()
    torch.manual_seed(0)
    with torch.no_grad():
        second = _flat_tensors(module2(*args2, **kwargs2))
    assert len(first) == len(second)
    for a, b in zip(first, second, strict=True):
        torch.testing.assert_close(a, b)


def _line_of(obj: object, needle: str) -> int:
    lines, start = inspect.getsourcelines(obj)  # type: ignore[arg-type]
    return start + next(i for i, line in enumerate(lines) if needle in line)


@pytest.fixture(scope="module")
def facts() -> dict[tuple[str, str, int], ExportOutcome]:
    cases = [
        ("hardswish", "dynamo", 13),
        ("hardswish", "dynamo", 14),
        ("data_dependent_if", "torchscript", 13),
        ("data_dependent_if", "dynamo", 18),
        ("sdpa", "torchscript", 9),
        ("sdpa", "torchscript", 14),
        ("linalg_inv", "dynamo", 18),
        ("custom_op", "dynamo", 18),
        ("custom_op", "torchscript", 17),
        ("keyword_only_args", "torchscript", 17),
    ]
    outcomes = export_outcomes([(BY_NAME[m], e, n) for m, e, n in cases], jobs=2)  # type: ignore[misc]
    return {(o.model, o.exporter, o.opset): o for o in outcomes}


def test_dynamo_below_18_keeps_18_when_conversion_fails(facts) -> None:
    # HardSwish has no version before 14: the onnx C API converter fails, the exporter logs
    # "Failed to convert the model to the target version 13" and writes opset 18.
    o = facts["hardswish", "dynamo", 13]
    assert o.produced and not o.ok
    assert o.delivered_opset == 18
    assert o.error_class == "version_conversion_failed"
    assert o.version_conversion_failed
    assert "HardSwish" in (o.version_conversion_error or "")
    assert o.ort_loads and o.onnx_checker_ok
    ok14 = facts["hardswish", "dynamo", 14]
    assert ok14.ok and ok14.delivered_opset == 14 and not ok14.version_conversion_failed


def test_torchscript_traces_data_dependent_if_with_a_tracer_warning(facts) -> None:
    o = facts["data_dependent_if", "torchscript", 13]
    assert o.ok and o.ort_loads
    line = _line_of(corpus.DataDependentIf.forward, "if x.sum() > 0")
    where = {(Path(w.filename).name, w.lineno) for w in o.tracer_warnings()}
    assert (Path(corpus.__file__).name, line) in where
    assert str(Path(corpus.__file__)) in {w.filename for w in o.tracer_warnings()}


def test_dynamo_rejects_data_dependent_if(facts) -> None:
    o = facts["data_dependent_if", "dynamo", 18]
    assert not o.produced
    assert o.error_class == "data_dependent"
    assert "data-dependent" in (o.error_first_line or "")


def test_torchscript_sdpa_needs_opset_14(facts) -> None:
    o = facts["sdpa", "torchscript", 9]
    assert o.error_class == "needs_opset" and o.needs_opset == 14
    assert o.unsupported_ops == ("aten::scaled_dot_product_attention",)
    assert facts["sdpa", "torchscript", 14].ok


def test_unsupported_ops_are_named(facts) -> None:
    inv = facts["linalg_inv", "dynamo", 18]
    assert inv.error_class == "unsupported_op" and inv.unsupported_ops == ("aten::linalg_inv_ex",)
    custom = facts["custom_op", "dynamo", 18]
    assert custom.error_class == "unsupported_op"
    assert custom.unsupported_ops == ("preflight_corpus::scaled_tanh",)
    legacy = facts["custom_op", "torchscript", 17]
    assert legacy.error_class == "unsupported_op"
    assert legacy.unsupported_ops == ("preflight_corpus::scaled_tanh",)


def test_torchscript_passes_kwargs_positionally(facts) -> None:
    o = facts["keyword_only_args", "torchscript", 17]
    assert o.error_class == "unsupported_io"
    assert "positional argument" in (o.error_first_line or "")


def test_export_once_then_convert_writes_what_a_direct_export_writes() -> None:
    # nonzero at 13: the direct export keeps dead Shape nodes until after conversion, so the
    # onnx C API fails on Shape-15 and the model stays at 18; a naive shortcut (exporting at 18,
    # whose no-op conversion removes them) would convert. The harness copies the model at the
    # exporter's conversion call instead, and must agree with the direct export.
    pairs = [
        (BY_NAME["nonzero"], 13),
        (BY_NAME["nonzero"], 18),
        (BY_NAME["hardswish"], 13),
        (BY_NAME["hardswish"], 14),
        (BY_NAME["conv_transpose"], 9),
        (BY_NAME["conv_transpose"], 18),
    ]
    checks = verify_shortcut(pairs, jobs=2)
    assert len(checks) == len(pairs)
    assert all(c.same_but_node_names and c.same_outcome for c in checks), checks
    nonzero13 = next(c for c in checks if c.model == "nonzero" and c.opset == 13)
    assert nonzero13.direct["delivered_opset"] == 18
