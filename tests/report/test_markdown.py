"""The Markdown report as a CI step summary: verdict and counts first, a table of exactly the
blocking findings (errors and warnings), details collapsed (real analyses of real models)."""

from __future__ import annotations

import onnx.parser

import analyzer
from analyzer.demo_model import build_demo_model


def _blocking_section(md: str) -> str:
    return md.split("## Blocking findings", 1)[1].split("<details>", 1)[0]


def test_blocking_table_holds_the_errors_and_warnings_only() -> None:
    report = analyzer.analyze(build_demo_model(), providers=("cuda", "cpu"))
    md = report.to_markdown()
    head = md.split("## Blocking findings", 1)[0]
    assert f"**Verdict: {report.verdict.upper()}**" in head
    section = _blocking_section(md)
    blocking = [f for f in report.findings if f.severity in ("error", "warning")]
    assert blocking
    rows = [ln for ln in section.splitlines() if ln.startswith("| ") and "`" in ln]
    assert len(rows) == len(blocking)
    for f in blocking:
        assert f"`{f.id}`" in section
    for f in report.findings:
        if f.severity == "info":
            assert f"`{f.id}`" not in section
    assert md.count("<details>") == md.count("</details>") == 3


def test_clean_model_says_nothing_blocks() -> None:
    model = onnx.parser.parse_model("""
        <ir_version: 8, opset_import: ["" : 17]>
        g (float[2, 3] x) => (float[2, 3] y) { y = Relu(x) }
    """)
    md = analyzer.analyze(model).to_markdown()
    assert "**Verdict: PASS**" in md
    assert "None: no error or warning." in _blocking_section(md)
    assert "| Relu |" in md
