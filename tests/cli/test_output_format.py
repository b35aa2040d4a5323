"""Issue 15 item 6: a report file's suffix picks its format in every subcommand (.json, .md,
.html), --format wins only when it agrees, and a contradiction is exit 2 (real CLI runs)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analyzer.cli.common import output_format
from analyzer.cli.main import main
from analyzer.errors import InputError
from tests.fixtures.onnx_models import save_relu


@pytest.fixture
def model(tmp_path: Path) -> Path:
    return save_relu(tmp_path)


def test_the_rule() -> None:
    formats = ("text", "json", "html")
    assert output_format(None, None, formats) == "text"
    assert output_format("r.json", None, formats) == "json"
    assert output_format("r.HTML", None, formats) == "html"
    assert output_format("r.out", "json", formats) == "json"
    assert output_format("r.json", "json", formats) == "json"
    with pytest.raises(InputError, match="--format is text"):
        output_format("r.json", "text", formats)
    with pytest.raises(InputError, match="does not write"):
        output_format("r.md", None, formats)


def test_bench_results_json_writes_json(model: Path, tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    assert main(["bench", str(model), "--iterations", "3", "--warmup", "0", "--no-isolate",
                 "-o", str(out)]) == 0
    assert json.loads(out.read_text())["runs"]


def test_verify_and_analyze_follow_the_suffix(model: Path, tmp_path: Path) -> None:
    assert main(["verify", str(model), "--no-isolate", "--samples", "1",
                 "-o", str(tmp_path / "v.json")]) == 0
    assert json.loads((tmp_path / "v.json").read_text())["verdict"] == "pass"
    assert main(["analyze", str(model), "-o", str(tmp_path / "a.md")]) == 0
    assert (tmp_path / "a.md").read_text().lstrip().startswith("#")
    assert main(["analyze", str(model), "-o", str(tmp_path / "a.json")]) == 0
    json.loads((tmp_path / "a.json").read_text())


@pytest.mark.parametrize("argv", [
    ["bench", "{m}", "-o", "{t}/r.json", "--format", "text"],
    ["bench", "{m}", "-o", "{t}/r.html"],
    ["verify", "{m}", "-o", "{t}/r.md"],
    ["analyze", "{m}", "-o", "{t}/r.html", "--format", "json"],
    ["rewrite", "{m}", "-o", "{t}/out.json"],
    ["rewrite", "{m}", "--dry-run", "--report", "{t}/r.json", "--format", "html"],
])
def test_contradictions_exit_2_and_write_nothing(argv: list[str], model: Path,
                                                 tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    args = [a.format(m=model, t=tmp_path) for a in argv]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "USAGE" in err[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["relu.onnx"]


def test_rewrite_report_file_follows_the_suffix(model: Path, tmp_path: Path) -> None:
    assert main(["rewrite", str(model), "--dry-run", "--report", str(tmp_path / "r.json")]) == 0
    assert json.loads((tmp_path / "r.json").read_text())["dry_run"] is True
