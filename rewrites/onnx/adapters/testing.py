"""Helpers for the adapters' tests: convert with the project's pass and check the result the way
the issue asks (target read back, full checker, onnxruntime outputs before vs after)."""

from __future__ import annotations

import numpy as np
import onnx
import onnx.checker

from analyzer.runtime.session import create_session
from rewrites.onnx.target_check import delivered_opset
from rewrites.passes import RewriteResult, apply


def feeds(model: onnx.ModelProto, seed: int = 0) -> dict[str, np.ndarray]:
    """Seeded float inputs for every graph input (the adapters' test models take floats)."""
    rng = np.random.default_rng(seed)
    return {i.name: rng.standard_normal([d.dim_value for d in i.type.tensor_type.shape.dim])
            .astype(np.float32) for i in model.graph.input}


def converted(model: onnx.ModelProto, target: int) -> tuple[RewriteResult, onnx.ModelProto]:
    """The rewrite to `target`, asserted delivered, valid (full checker) and equal in ORT."""
    result = apply(model, target_opset=target)
    out = result.model
    assert result.blocked is None, result.blocked
    assert delivered_opset(out) == target
    onnx.checker.check_model(out, full_check=True)
    x = feeds(model)
    want = create_session(model).run(None, x)
    got = create_session(out).run(None, x)
    for g, w in zip(got, want, strict=True):
        # the adapters write the same computation; a schema body expanded before them
        # (ReduceLogSum -> Log(ReduceSum)) may round an ulp apart from ORT's fused kernel
        np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-7, equal_nan=True)
    return result, out


def adapter_note(result: RewriteResult) -> str:
    return next(e.reason or "" for e in result.applied if e.rule == "onnx:version-convert")
