"""A model past protobuf's 2 GiB limit end to end (issue 14 item 1): 2.25 GiB of float32
weights in external data (written one weight at a time, tests/fixtures/big_models.py: no 2 GiB
protobuf is ever built here), `rewrite --target-opset 17` from 18 and `analyze --load-check` on
the result. The output keeps its weights external (OUT.onnx.data, and only that), passes
onnx.checker by path, and onnxruntime loads it and computes what the input computes.

Slow and heavy: 2.25 GiB on disk per model; the rewrite keeps the weights in the input's data
file (deferred), the input's pages mapped while onnxruntime verifies."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest

from analyzer.runtime.session import SessionSpec, create_session
from tests.fixtures.big_models import matmul_sum, save_with_external_weights
from tests.fixtures.cli import cli

WIDTH, COUNT = 8192, 9  # 9 x 256 MiB = 2.25 GiB

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    model, weights = matmul_sum(WIDTH, COUNT)
    src = tmp_path_factory.mktemp("over_2gb") / "model.onnx"
    assert save_with_external_weights(model, src, weights) > 2**31
    return src


def _check_written(src: Path, out: Path, opset: int) -> None:
    """The written pair: at `opset`, every weight in OUT.onnx.data (and only there), the checker
    by path, `analyze --load-check` (a real session in a child), the input's outputs."""
    assert sorted(p.name for p in out.parent.iterdir()) == [out.name, f"{out.name}.data"]
    proto = onnx.load(str(out), load_external_data=False)
    assert next(i.version for i in proto.opset_import if i.domain == "") == opset
    assert all(t.data_location == onnx.TensorProto.EXTERNAL for t in proto.graph.initializer)
    assert {e.value for t in proto.graph.initializer for e in t.external_data
            if e.key == "location"} == {f"{out.name}.data"}
    assert out.stat().st_size < 2**20 and Path(f"{out}.data").stat().st_size > 2**31
    onnx.checker.check_model(str(out), full_check=True)  # by path: the data file beside it
    report = cli("analyze", str(out), "--load-check", "--memory-limit", "16384", "--format",
                 "json")
    assert report.returncode in (0, 1), report.stderr
    ids = {f["id"] for f in json.loads(report.stdout)["findings"]}
    assert "EP311" in ids and "EP310" not in ids, ids  # the child's real session loaded it
    x = np.full((1, WIDTH), 1.0 / WIDTH, np.float32)
    want = create_session(str(src), SessionSpec()).run(None, {"x": x})[0]  # one at a time
    got = create_session(str(out), SessionSpec()).run(None, {"x": x})[0]
    np.testing.assert_array_equal(got, want)


def test_a_model_over_2gb_rewrites_to_17(big: Path, tmp_path: Path) -> None:
    out = tmp_path / "out" / "lowered.onnx"
    out.parent.mkdir()
    done = cli("rewrite", str(big), "-o", str(out), "--target-opset", "17")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "at opset 17" in done.stderr
    _check_written(big, out, 17)
