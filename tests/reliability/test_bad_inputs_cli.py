"""Every case of the bad-input corpus through the real CLI: exit status 2, exactly one line on
stderr that names the file and carries the stable code, no traceback, no output file, and the
input files byte-identical with unchanged mtimes.

All cases run in-process through `analyzer.cli.main.main` (one interpreter, torch imported
once); a sample from every family also runs as a real `python -m analyzer.cli.main` subprocess,
where stderr is the process's own and nothing (torch's logging included) can hide from it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from analyzer.cli.main import main
from tests.fixtures.bad_inputs import CASES, FINDING_CASES, Case, FindingCase

ROOT = Path(__file__).resolve().parents[2]
_BIG = 64 * 2**20


def snapshot(folder: Path) -> dict[str, tuple[object, ...]]:
    """Type, size, mtime and content hash of everything under the folder, links not followed
    (a sparse multi-GiB file is hashed at its head and tail only)."""
    state: dict[str, tuple[object, ...]] = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = Path(root) / name
            st = path.lstat()
            if stat.S_ISLNK(st.st_mode):
                state[str(path)] = ("link", os.readlink(path))
            elif stat.S_ISREG(st.st_mode):
                digest = hashlib.sha256()
                with path.open("rb") as handle:
                    if st.st_size > _BIG:
                        digest.update(handle.read(2**20))
                        handle.seek(-(2**20), os.SEEK_END)
                    digest.update(handle.read())
                state[str(path)] = ("file", st.st_size, st.st_mtime_ns, digest.hexdigest())
            else:
                state[str(path)] = ("other", stat.S_IFMT(st.st_mode), st.st_mtime_ns)
    return state


def _prepared(case: Case, tmp_path: Path) -> tuple[Path, Path, list[str]]:
    folder = tmp_path / case.name
    folder.mkdir()
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    args = case.build(folder)
    return folder, out_dir, args


def _check_outcome(case: Case, folder: Path, out_dir: Path, before: dict[str, tuple[object, ...]],
                   status: int, stdout: str, stderr: str) -> None:
    lines = stderr.splitlines()
    assert status == 2, f"exit {status}; stderr: {stderr[-800:]}"
    assert len(lines) == 1, f"{len(lines)} stderr lines: {stderr[-1500:]}"
    line = lines[0]
    assert "Traceback" not in stderr
    assert line.startswith("onnx-preflight: error: "), line
    assert line.endswith(f"[{case.code}]"), line
    assert case.names in line, line
    assert stdout == "", stdout[-500:]
    assert list(out_dir.iterdir()) == [], "an output (or temporary) file was written"
    assert snapshot(folder) == before, "the input files changed"
    assert not (folder / "PWNED").exists(), "code in the input ran"


HAS_TORCH = importlib.util.find_spec("torch") is not None


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_in_process(case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                              monkeypatch: pytest.MonkeyPatch) -> None:
    if case.torch and not HAS_TORCH:
        pytest.skip("torch is not installed")
    folder, out_dir, args = _prepared(case, tmp_path)
    monkeypatch.chdir(folder)  # a PyTorch spec's module is found in the current folder
    monkeypatch.syspath_prepend(str(folder))
    before = snapshot(folder)
    status = main(["analyze", *args, "--format", "json", "-o", str(out_dir / "report.json")])
    captured = capsys.readouterr()
    _check_outcome(case, folder, out_dir, before, status, captured.out, captured.err)


def test_corpus_is_large_and_covers_every_family() -> None:
    assert len(CASES) >= 60
    assert len({c.name for c in CASES}) == len(CASES)
    codes = {c.code for c in CASES}
    for family in ("GRAPH_CYCLE", "GRAPH_DUPLICATE_OUTPUT", "GRAPH_DANGLING_INPUT",
                   "NESTING_TOO_DEEP", "TOO_MANY_NODES", "PROTOBUF_TOO_LARGE",
                   "EXTERNAL_DATA_OUTSIDE_FOLDER", "EXTERNAL_DATA_HARD_LINK",
                   "EXTERNAL_DATA_OUT_OF_BOUNDS", "TORCH_WEIGHTS_UNSAFE",
                   "TORCH_INPUTS_MISMATCH", "TORCH_FACTORY_NOT_FOUND"):
        assert family in codes


# One case per family of failure, as a real process.
SUBPROCESS_SAMPLE = ("truncated-half", "zip-checkpoint", "opset-future", "cycle",
                     "loop-nesting-40", "nodes-over-flag", "over-2gb-file", "external-dotdot",
                     "external-hard-link", "external-is-fifo", "torch-weights-reduce-zip",
                     "torch-inputs-wrong-width")


@pytest.mark.slow
@pytest.mark.parametrize("name", SUBPROCESS_SAMPLE)
def test_bad_input_as_a_process(name: str, tmp_path: Path) -> None:
    case = next(c for c in CASES if c.name == name)
    if case.torch and not HAS_TORCH:
        pytest.skip("torch is not installed")
    folder, out_dir, args = _prepared(case, tmp_path)
    before = snapshot(folder)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    res = subprocess.run(
        [sys.executable, "-m", "analyzer.cli.main", "analyze", *args, "-o",
         str(out_dir / "report.json")],
        cwd=folder, env=env, capture_output=True, text=True, timeout=120)
    _check_outcome(case, folder, out_dir, before, res.returncode, res.stdout, res.stderr)


@pytest.mark.parametrize("case", FINDING_CASES, ids=[c.name for c in FINDING_CASES])
def test_findings_not_input_errors(case: object, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    """Defects that the report is for: the report comes out with the finding, never exit 2."""
    assert isinstance(case, FindingCase)
    folder = tmp_path / case.name
    folder.mkdir()
    args = case.build(folder)
    before = snapshot(folder)
    out = tmp_path / "report.json"
    status = main(["analyze", *args, "--format", "json", "-o", str(out)])
    capsys.readouterr()
    assert status == case.status
    report = json.loads(out.read_text())
    assert case.finding in {f["id"] for f in report["findings"]}
    if case.name == "shape-inference-segfault":  # the crash is real, and it was contained
        (sch206,) = [f for f in report["findings"] if f["id"] == "SCH206"]
        assert "crashed: signal 11" in sch206["message"]
    assert snapshot(folder) == before
