"""verify / bench create the model's onnxruntime session in a child process first: a hang or
memory blow-up there is one line naming the file (ORT_SESSION_CRASHED, exit 2), not a dead or
stuck process; --no-isolate skips the child (real ORT sessions in real child processes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzer.cli.main import main
from tests.fixtures.onnx_models import save_relu


@pytest.fixture
def model(tmp_path: Path) -> Path:
    return save_relu(tmp_path)


@pytest.mark.parametrize("command", ["verify", "bench"])
def test_a_child_that_cannot_finish_is_one_line(model: Path, command: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    extra = ["--iterations", "3", "--warmup", "1"] if command == "bench" else []
    code = main([command, str(model), "--time-limit", "0.001", *extra])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "relu.onnx" in err[0] and "ORT_SESSION_CRASHED" in err[0]
    assert "--time-limit" in err[0]


def test_memory_limit_in_the_child_is_reported(model: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["verify", str(model), "--memory-limit", "64"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "ORT_SESSION_CRASHED" in err[0]
    assert "--memory-limit" in err[0]


def test_guarded_and_unguarded_runs_agree(model: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", str(model), "--samples", "1"]) == 0
    guarded = capsys.readouterr().out
    assert main(["verify", str(model), "--samples", "1", "--no-isolate",
                 "--time-limit", "0.001"]) == 0
    assert capsys.readouterr().out == guarded
