"""External data in and out: a real torch dynamo export (weights in model.onnx.data, the
exporter's default) rewritten to a lower opset by the CLI and the Python API. The output keeps
its weights beside it (OUT.onnx.data) and nowhere else, runs the same as the input on
onnxruntime, `--external-data never` inlines them, and a location that leaves the model's folder
is refused before anything is read or written."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import numpy as np
import onnx
import pytest

from analyzer.errors import InputError
from analyzer.runtime.inputs import random_inputs
from analyzer.runtime.session import SessionSpec, create_session
from analyzer.safe_write import current_umask, save_onnx_atomically
from analyzer.workflows.rewrite_pipeline import run_pass
from tests.fixtures.cli import cli

torch = pytest.importorskip("torch")


def _locations(path: Path) -> set[str]:
    proto = onnx.load(str(path), load_external_data=False)
    return {e.value for t in proto.graph.initializer for e in t.external_data
            if e.key == "location"}


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Linear + Conv module exported by dynamo at opset 18 with its default external data."""

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = torch.nn.Linear(16, 32)
            self.conv = torch.nn.Conv2d(3, 8, 3)

        def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, ...]:
            return self.linear(y).relu(), torch.sigmoid(self.conv(x))

    path = tmp_path_factory.mktemp("dynamo") / "model.onnx"
    torch.manual_seed(0)
    torch.onnx.export(Net().eval(), (torch.randn(1, 3, 8, 8), torch.randn(2, 16)), str(path),
                      dynamo=True, opset_version=18)
    assert (path.parent / "model.onnx.data").stat().st_size > 0, "dynamo wrote no external data"
    assert _locations(path) == {"model.onnx.data"}
    return path


def _outputs(path: Path) -> list[np.ndarray]:
    session = create_session(str(path), SessionSpec(log_severity=None))
    feed = random_inputs(onnx.load(str(path), load_external_data=False), samples=1,
                         seed=3).samples[0]
    return session.run(None, feed)


def test_rewrite_keeps_the_weights_external_beside_the_output(exported: Path,
                                                               tmp_path: Path) -> None:
    out = tmp_path / "out" / "low.onnx"
    out.parent.mkdir()
    res = cli("rewrite", str(exported), "-o", str(out), "--target-opset", "13")
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in out.parent.iterdir()) == ["low.onnx", "low.onnx.data"]
    assert _locations(out) == {"low.onnx.data"}
    assert onnx.load(str(out), load_external_data=False).opset_import[0].version == 13
    onnx.checker.check_model(str(out), full_check=True)
    mode = stat.S_IMODE((out.parent / "low.onnx.data").stat().st_mode)
    assert mode == 0o666 & ~current_umask()
    for a, b in zip(_outputs(exported), _outputs(out), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
    assert "low.onnx.data" in res.stderr
    # the written pair is what verify and the load check accept (sessions from the path)
    assert cli("verify", str(out)).returncode == 0
    check = cli("analyze", str(out), "--load-check", "--format", "json")
    assert '"EP311"' in check.stdout, check.stdout[-2000:]


def test_never_inlines_the_weights(exported: Path, tmp_path: Path) -> None:
    out = tmp_path / "inline.onnx"
    res = cli("rewrite", str(exported), "-o", str(out), "--target-opset", "14",
              "--external-data", "never")
    assert res.returncode == 0, res.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["inline.onnx"]
    assert _locations(out) == set()
    for a, b in zip(_outputs(exported), _outputs(out), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


def test_always_writes_external_data_for_an_inline_input(exported: Path, tmp_path: Path) -> None:
    inline = tmp_path / "inline.onnx"
    onnx.save(onnx.load(str(exported)), str(inline))  # the test's own export: trusted
    auto = tmp_path / "auto" / "a.onnx"
    auto.parent.mkdir()
    assert cli("rewrite", str(inline), "-o", str(auto), "--target-opset", "14").returncode == 0
    assert [p.name for p in auto.parent.iterdir()] == ["a.onnx"]  # auto: inline stays inline
    ext = tmp_path / "ext" / "e.onnx"
    ext.parent.mkdir()
    res = cli("rewrite", str(inline), "-o", str(ext), "--target-opset", "14",
              "--external-data", "always")
    assert res.returncode == 0, res.stderr
    assert _locations(ext) == {"e.onnx.data"}


def _relocate(exported: Path, folder: Path, location: str) -> Path:
    """A copy of the export whose tensors point at `location` (the data copied there when it
    lies inside `folder`)."""
    proto = onnx.load(str(exported), load_external_data=False)
    for tensor in proto.graph.initializer:
        for entry in tensor.external_data:
            if entry.key == "location":
                entry.value = location
    path = folder / "model.onnx"
    onnx.save(proto, str(path))
    return path


def test_a_location_outside_the_folder_is_refused(exported: Path, tmp_path: Path) -> None:
    inner = tmp_path / "inner"
    inner.mkdir()
    shutil.copy(exported.parent / "model.onnx.data", tmp_path / "model.onnx.data")
    model = _relocate(exported, inner, "../model.onnx.data")
    out = tmp_path / "out"
    out.mkdir()
    res = cli("rewrite", str(model), "-o", str(out / "o.onnx"), "--target-opset", "14")
    assert res.returncode == 2, res.stderr
    assert "leaves the model's folder" in res.stderr and "Traceback" not in res.stderr
    assert list(out.iterdir()) == []


def test_the_inputs_data_file_is_never_overwritten(exported: Path, tmp_path: Path) -> None:
    """An input whose weights sit in `o.onnx.data`, rewritten to `o.onnx` beside it: the
    output's data file would be the input's, so it is refused and the input stays intact."""
    shutil.copy(exported.parent / "model.onnx.data", tmp_path / "o.onnx.data")
    model = _relocate(exported, tmp_path, "o.onnx.data")
    before = (tmp_path / "o.onnx.data").read_bytes()
    res = cli("rewrite", str(model), "-o", str(tmp_path / "o.onnx"), "--target-opset", "14")
    assert res.returncode == 2 and "OUTPUT_IS_INPUT" in res.stderr, res.stderr
    assert (tmp_path / "o.onnx.data").read_bytes() == before
    assert not (tmp_path / "o.onnx").exists()


def test_python_api_reads_a_path_and_refuses_unloaded_weights(exported: Path) -> None:
    passed = run_pass(str(exported), target_opset=14)
    assert passed.reached and passed.delivered_opset == 14
    assert all(t.data_location != onnx.TensorProto.EXTERNAL
               for t in passed.result.model.graph.initializer)
    header = onnx.load(str(exported), load_external_data=False)
    with pytest.raises(InputError) as info:
        run_pass(header, target_opset=14)
    assert info.value.code == "EXTERNAL_DATA_NEEDS_PATH"


def test_save_model_keeps_no_partial_pair_when_the_read_back_fails(exported: Path,
                                                                  tmp_path: Path) -> None:
    """The read-back runs on the staged pair: when it fails, neither file lands."""
    model = onnx.load(str(exported))

    def refuse(staged: Path) -> None:
        assert (staged.parent / f"{staged.name}.data").exists()
        raise RuntimeError("read-back failed")

    with pytest.raises(RuntimeError):
        save_onnx_atomically(model, tmp_path / "x.onnx", external_data=True,
                                        check=refuse)
    assert os.listdir(tmp_path) == []
