"""Issue 15 items 5 and 7: what the caller names is checked against the model (exit 2, one
line listing the model's real inputs), and the Python API isolates session creation on request
(real ORT sessions in real child processes)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnx.parser
import pytest

from analyzer.cli.main import main
from analyzer.errors import InputError
from analyzer.runtime.bench import bench
from analyzer.runtime.verify import verify

MODEL = onnx.parser.parse_model("""
    <ir_version: 8, opset_import: ["" : 17]>
    g (float[N, 3] x, int64[N] k) => (float[N, 3] y) {
        kf = Cast<to = 1>(k)
        ku = Unsqueeze(kf, axes)
        y = Add(x, ku)
    }
""")
AXES = onnx.numpy_helper.from_array(np.array([1], np.int64), "axes")
MODEL.graph.initializer.append(AXES)
LISTING = "the model's inputs: x float32[N,3], k int64[N]"


@pytest.fixture
def path(tmp_path: Path) -> Path:
    p = tmp_path / "m.onnx"
    onnx.save(MODEL, p)
    return p


def _one_line_error(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert LISTING in err[0], err[0]
    return err[0]


def test_known_inputs_pass(path: Path) -> None:
    assert main(["verify", str(path), "--no-isolate", "--input", "x:float32[4,3]",
                 "--input", "k:int64[4]", "--samples", "1"]) == 0
    assert main(["verify", str(path), "--no-isolate", "--dim", "N=5", "--samples", "1"]) == 0


def test_unknown_input_name(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = _one_line_error(["verify", str(path), "--no-isolate", "--input",
                            "input:float32[1,3]"], capsys)
    assert "'input'" in line and "VERIFY_INPUTS" in line


def test_unknown_dim_symbol(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = _one_line_error(["verify", str(path), "--no-isolate", "--dim", "batch=4"], capsys)
    assert "--dim batch" in line and "symbols: N" in line


def test_wrong_rank_dtype_and_fixed_dim(path: Path, capsys: pytest.CaptureFixture[str]
                                        ) -> None:
    line = _one_line_error(["verify", str(path), "--no-isolate", "--input", "x:float32[4]"],
                           capsys)
    assert "VERIFY_INPUT_SHAPE" in line
    line = _one_line_error(["verify", str(path), "--no-isolate", "--input", "x:float16[4,3]"],
                           capsys)
    assert "float16" in line and "VERIFY_INPUT_TYPE" in line
    _one_line_error(["verify", str(path), "--no-isolate", "--input", "x:float32[4,5]"], capsys)


def test_npz_keys_ranks_and_dtypes(path: Path, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    good = {"x": np.ones((2, 3), np.float32), "k": np.zeros(2, np.int64)}
    np.savez(tmp_path / "ok.npz", **good)
    assert main(["verify", str(path), "--no-isolate", "--inputs", str(tmp_path / "ok.npz")]) == 0
    capsys.readouterr()
    np.savez(tmp_path / "extra.npz", **good, z=np.ones(1))
    assert "'z'" in _one_line_error(["verify", str(path), "--no-isolate", "--inputs",
                                     str(tmp_path / "extra.npz")], capsys)
    np.savez(tmp_path / "rank.npz", x=np.ones((2, 3, 1), np.float32), k=good["k"])
    _one_line_error(["verify", str(path), "--no-isolate", "--inputs",
                     str(tmp_path / "rank.npz")], capsys)
    np.savez(tmp_path / "dtype.npz", x=np.ones((2, 3), np.float64), k=good["k"])
    assert "float64" in _one_line_error(["verify", str(path), "--no-isolate", "--inputs",
                                         str(tmp_path / "dtype.npz")], capsys)
    # --dim with given data would be silently unused: refused
    assert main(["verify", str(path), "--no-isolate", "--inputs", str(tmp_path / "ok.npz"),
                 "--dim", "N=4"]) == 2


def test_api_checks_feed_dicts_and_bench_inputs(path: Path) -> None:
    with pytest.raises(InputError, match="x float32"):
        verify(path, inputs={"x": np.ones((2, 3), np.float32), "kk": np.zeros(2, np.int64)})
    with pytest.raises(InputError, match="BENCH_INPUTS"):
        bench(path, inputs={"x": np.ones((2, 3, 3), np.float32)}, iterations=1, warmup=0,
              placement=False)


# --- item 7: isolate=True in the Python API ----------------------------------------------------


def test_verify_and_bench_isolate_in_a_child(path: Path) -> None:
    assert verify(path, samples=1, isolate=True).passed
    assert bench(path, iterations=2, warmup=0, placement=False, isolate=True).runs
    with pytest.raises(InputError, match="ORT_SESSION_CRASHED"):
        verify(path, samples=1, isolate=True, time_limit=0.001)
    with pytest.raises(InputError, match="ORT_SESSION_CRASHED"):
        bench(path, iterations=2, isolate=True, time_limit=0.001)
    with pytest.raises(InputError, match="ORT_SESSION_CRASHED"):
        verify(MODEL, samples=1, isolate=True, time_limit=0.001)  # in memory: sent as bytes
