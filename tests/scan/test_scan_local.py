"""`scan` with the local executor on a small mixed zoo: the matrix contract, a crashing cell,
the cache on a rerun, --resume after an interrupted scan, and bad input."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.scan_fixtures import REPO, Zoo, comparable, run_cli

CELL_FIELDS = ["key", "source", "opset", "model_opset", "exporter", "providers", "verdict",
               "blocking", "lowest_working_opset", "placement", "report_html", "report_json",
               "duration_s", "cached", "error"]


def _cells(matrix: dict[str, Any]) -> dict[tuple[Any, ...], dict[str, Any]]:
    return {(c["source"], c["opset"], c["exporter"]): c for c in matrix["cells"]}


def test_matrix_holds_one_cell_per_source_opset_exporter(local_scan) -> None:
    out, matrix = local_scan
    assert matrix["schema"] == "onnx-preflight/scan/1"
    assert {"onnx_schemas", "ort_kernels", "torch_converters"} <= set(matrix["tables"])
    cells = _cells(matrix)
    assert sorted(cells) == sorted([
        ("onnx/light_bvlc_alexnet.onnx", None, None), ("onnx/light_zfnet512.onnx", None, None),
        ("onnx/mystery.onnx", None, None),
        ("mlp", 17, "dynamo"), ("mlp", 17, "torchscript"),
        ("norm", 16, "torchscript"), ("norm", 17, "torchscript"),
        ("aborts", 17, "torchscript")])  # a manifest's file ids: relative to its folder
    assert len(matrix["cells"]) == 8
    for cell in matrix["cells"]:
        assert list(cell) == CELL_FIELDS
        assert cell["cached"] is False
    assert matrix["axes"] == {"opsets": [16, 17], "exporters": ["dynamo", "torchscript"],
                              "providers": ["CPUExecutionProvider"]}
    assert {s["kind"] for s in matrix["sources"]} == {"onnx", "torch"}
    assert all(len(s["content_hash"]) == 64 for s in matrix["sources"])
    assert {tuple(s["tags"]) for s in matrix["sources"]} >= {("onnx-zoo",), ("torch",)}
    assert matrix["summary"]["counts"]["crashed"] == 1
    assert sum(matrix["summary"]["counts"].values()) == 8


def test_onnx_cells_carry_their_own_opset_placement_and_blocking_ops(local_scan) -> None:
    out, matrix = local_scan
    by_name = {Path(c["source"]).name: c for c in matrix["cells"] if c["exporter"] is None}
    alexnet, mystery = by_name["light_bvlc_alexnet.onnx"], by_name["mystery.onnx"]
    assert alexnet["verdict"] == "pass" and alexnet["opset"] is None
    assert alexnet["model_opset"] == 9 and alexnet["lowest_working_opset"] is not None
    cpu = alexnet["placement"]["CPUExecutionProvider"]
    assert cpu["nodes"] > 0 and cpu["own_kernel"] == cpu["nodes"]
    assert mystery["verdict"] == "fail" and mystery["lowest_working_opset"] is None
    assert any(b["op"] == "Mystery" and b["domain"] == "com.example"
               and b["severity"] == "error" for b in mystery["blocking"])
    assert mystery["placement"]["CPUExecutionProvider"]["no_kernel"] == 1
    for cell in (alexnet, mystery):
        report = json.loads((out / cell["report_json"]).read_text())
        assert report["verdict"] == cell["verdict"]
        assert (out / cell["report_html"]).read_text().startswith("<!")


def test_torch_cells_and_a_crashing_factory(local_scan) -> None:
    out, matrix = local_scan
    cells = [c for c in matrix["cells"] if c["exporter"] is not None]
    crashed = [c for c in cells if c["verdict"] == "crashed"]
    assert len(crashed) == 1 and crashed[0]["source"] == "aborts"
    assert "SIGABRT" in crashed[0]["error"] and "\n" not in crashed[0]["error"]
    assert crashed[0]["report_html"] is None
    others = [c for c in cells if c is not crashed[0]]
    assert all(c["verdict"] in ("pass", "warn") for c in others), others
    assert all((out / c["report_html"]).is_file() for c in others)
    # LayerNormalization: torchscript decomposes it below 17, so its lowest opset is below 17
    norm = [c for c in others if c["source"] == "norm"]
    assert {c["lowest_working_opset"] for c in norm} <= set(range(1, 18))


def test_csv_has_a_row_per_cell(local_scan) -> None:
    out, matrix = local_scan
    rows = list(csv.DictReader((out / "matrix.csv").open()))
    assert [r["source"] for r in rows] == [c["source"] for c in matrix["cells"]]
    mystery = next(r for r in rows if r["source"].endswith("mystery.onnx"))
    assert "EP301:Mystery" in mystery["blocking"] and mystery["opset"] == ""
    assert (out / "index.html").is_file()


def _copy(out: Path, dest: Path) -> Path:
    shutil.copytree(out, dest)
    return dest


def test_rerun_is_all_cached_and_gives_the_same_matrix(local_scan, zoo: Zoo, tmp_path,
                                                       monkeypatch) -> None:
    out, matrix = local_scan
    again = _copy(out, tmp_path / "again")
    monkeypatch.chdir(REPO)
    assert run_cli(zoo.args(again)) == 0
    second = json.loads((again / "matrix.json").read_text())
    assert all(c["cached"] for c in second["cells"])
    assert [comparable(c) for c in second["cells"]] == [comparable(c) for c in matrix["cells"]]
    assert second["sources"] == matrix["sources"]


def test_resume_runs_only_the_cells_an_interrupted_scan_left(local_scan, tmp_path,
                                                             monkeypatch) -> None:
    out, matrix = local_scan
    resumed = _copy(out, tmp_path / "resumed")
    # an interrupted scan: two cells never finished, no matrix written yet
    lost = [c["key"] for c in matrix["cells"] if c["source"] in ("norm",)]
    for key in lost:
        shutil.rmtree(resumed / "cache" / key)
    for name in ("matrix.json", "matrix.csv", "index.html"):
        (resumed / name).unlink()
    monkeypatch.chdir(REPO)
    assert run_cli(["scan", "--resume", "-o", str(resumed), "--jobs", "2"]) == 0
    again = json.loads((resumed / "matrix.json").read_text())
    assert {c["key"] for c in again["cells"] if not c["cached"]} == set(lost)
    assert [comparable(c) for c in again["cells"]] == [comparable(c) for c in matrix["cells"]]


def test_fail_on_makes_a_failing_cell_exit_1(local_scan, zoo: Zoo, tmp_path,
                                             monkeypatch) -> None:
    out, _ = local_scan
    again = _copy(out, tmp_path / "again")
    monkeypatch.chdir(REPO)
    assert run_cli(zoo.args(again, "--fail-on", "fail")) == 1
    assert run_cli(zoo.args(again)) == 0


@pytest.mark.parametrize("argv, needle", [
    (["scan", "no/such/model.onnx"], "no such file or directory [SCAN_NO_SOURCES]"),
    (["scan", "nothing-*.onnx"], "no model file matches this pattern [SCAN_NO_SOURCES]"),
    (["scan", "--opsets", "17,x", "a.onnx"], "--opsets"),
    (["scan", "--exporters", "jit", "tests.fixtures.scan_zoo:mlp"], "exporters are dynamo"),
])
def test_bad_input_is_one_line_and_exit_2(argv, needle, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.onnx").write_bytes(b"")
    assert run_cli(argv + ["-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0], err
    assert not (tmp_path / "out" / "matrix.json").exists()


def test_bad_manifest_and_resume_without_a_scan(tmp_path, capsys) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[source]]\nsource = "x.onnx"\nopsets = "17"\n')
    assert run_cli(["scan", "--manifest", str(bad), "-o", str(tmp_path / "o")]) == 2
    assert "opsets must be a non-empty list of positive integers [SCAN_MANIFEST]" in (
        capsys.readouterr().err)
    assert run_cli(["scan", "--resume", "-o", str(tmp_path / "o")]) == 2
    assert "[SCAN_NOT_RESUMABLE]" in capsys.readouterr().err


def test_a_hanging_cell_times_out_and_the_scan_completes(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(REPO)
    out = tmp_path / "out"
    assert run_cli(["scan", "tests.fixtures.scan_zoo:sleeps", "--opsets", "17", "--exporters",
                    "torchscript", "--time-limit", "8", "-o", str(out)]) == 0
    cell = json.loads((out / "matrix.json").read_text())["cells"][0]
    assert cell["verdict"] == "timeout" and "--time-limit" in cell["error"]
    assert 8 <= cell["duration_s"] < 30
