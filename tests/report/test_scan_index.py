"""index.html of a scan, as text: self-contained, escaped, every cell linked to its report,
columns in the axes' order, the blocking-ops tables per opset and per provider.
(tests/report/test_scan_index_browser.py opens it in a browser.)"""

from __future__ import annotations

import json
import re

import pytest

from analyzer.report.scan_index import columns, render_index, report_href, view_data
from analyzer.report.scan_summary import blocking_summary
from tests.fixtures.html_page import PageTags
from tests.fixtures.scan_matrices import (
    HOSTILE_MESSAGE,
    HOSTILE_REPORT,
    HOSTILE_SOURCE,
    large_matrix,
    small_matrix,
)


@pytest.fixture(scope="module")
def matrix() -> dict:
    m = small_matrix()
    m["summary"] = {"blocking_ops": blocking_summary(m["cells"])}
    return m


@pytest.fixture(scope="module")
def page(matrix) -> str:
    return render_index(matrix)


@pytest.fixture(scope="module")
def tags(page) -> PageTags:
    parser = PageTags()
    parser.feed(page)
    parser.close()
    return parser


def _island(tags: PageTags) -> dict:
    scripts = [a for t, a in tags.tags if t == "script"]
    index = next(i for i, a in enumerate(scripts) if a.get("id") == "scan-data")
    return json.loads(tags.scripts[index])


def test_the_page_is_self_contained(page, tags):
    for tag, attrs in tags.tags:
        for key in ("src", "href", "action", "data", "poster", "srcset"):
            value = (attrs.get(key) or "").strip().lower()
            assert not value.startswith(("http:", "https:", "//", "ftp:", "javascript:")), value
        assert tag not in ("link", "iframe", "img", "object", "embed", "base"), tag
        if tag == "script":
            assert "src" not in attrs
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.I)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", page, re.I)
    assert "@import" not in page
    assert "default-src 'none'" in page  # and the page forbids fetching anything


def test_hostile_names_and_messages_are_text(page, tags):
    for raw in (HOSTILE_SOURCE, HOSTILE_MESSAGE, "<b>x</b>"):
        assert raw not in page  # nowhere raw: not in markup, not in the JSON island
    assert page.count("</script>") == 2  # only the page's own two script elements close
    assert [t for t, _ in tags.tags].count("script") == 2  # the island and the page script
    assert [t for t, _ in tags.tags].count("b") == 0
    data = _island(tags)  # the strings survive exactly, for the page to show as text
    assert HOSTILE_SOURCE in [s["id"] for s in data["sources"]]
    assert HOSTILE_MESSAGE in [f[5] for f in data["findings"]]
    assert HOSTILE_MESSAGE in [c.get("e") for c in data["cells"]]
    assert "<b>x</b>" in data["sources"][5]["tags"]
    assert HOSTILE_SOURCE in "".join(tags.text)  # the blocking-ops table names it, escaped


def test_every_cell_links_to_its_report(matrix, tags):
    data = _island(tags)
    by_key = {c["k"]: c for c in data["cells"]}
    assert len(by_key) == len(matrix["cells"]) == 20
    for cell in matrix["cells"]:
        href = by_key[cell["key"]]["h"]
        if cell["report_html"] is None:
            assert href is None
        elif cell["report_html"] == HOSTILE_REPORT:
            assert href == "javascript%3Aalert%283%29"  # a file name beside the page, no scheme
        else:
            assert href == cell["report_html"]
    # each row holds its source's cells, in their columns
    cols = data["columns"]
    for source, row in zip(data["sources"], data["rows"], strict=True):
        for col, ci in zip(cols, row, strict=True):
            if ci < 0:
                continue
            cell = next(c for c in matrix["cells"] if c["key"] == data["cells"][ci]["k"])
            assert cell["source"] == source["id"]
            assert (cell["opset"], cell["exporter"]) == (col["opset"], col["exporter"])


@pytest.mark.parametrize(("path", "href"), [
    ("cells/a/report.html", "cells/a/report.html"),
    ("cells\\a b#1?.html", "cells/a%20b%231%3F.html"),
    ("javascript:alert(1)", "javascript%3Aalert%281%29"),
    ("https://example.com/x", "https%3A//example.com/x"),
    ("//example.com/x", ".//example.com/x"),
    ("/etc/passwd", "./etc/passwd"),
    (None, None), ("", None),
])
def test_report_links_are_always_relative(path, href):
    assert report_href(path) == href


def test_columns_follow_the_axes():
    labels = [c["label"] for c in view_data(small_matrix())["columns"]]
    assert labels == ["as is", "opset 13 · dynamo", "opset 13 · torchscript",
                      "opset 13 · tf2onnx", "opset 17 · dynamo", "opset 17 · torchscript",
                      "opset 17 · tf2onnx"]
    m = small_matrix()  # a manifest's own opset falls in place, not at the end
    extra = dict(m["cells"][2], opset=15, key="bert|15")
    assert (15, "dynamo") in columns(dict(m, cells=[*m["cells"], extra]))
    assert columns(dict(m, cells=[*m["cells"], extra])).index((15, "dynamo")) == 4


def test_the_blocking_ops_tables_per_opset_and_per_provider(page, tags):
    heads = [a for t, a in tags.tags if t == "h3"]
    assert [a.get("data-opset") for a in heads if "data-opset" in a] == ["13"]
    assert [a.get("data-provider") for a in heads if "data-provider" in a] == [
        "CUDAExecutionProvider"]
    section = page[page.index('id="blocking"'):page.index('id="provenance"')]
    rows = re.findall(r"<tr><td><code>(\w+)</code></td><td>([\w.]+)</td><td>(\w+| as is|as is)"
                      r"</td><td class=\"num\">(\d+)</td>", section)
    assert rows == [("LayerNormalization", "ai.onnx", "dynamo", "3"),
                    ("LayerNormalization", "ai.onnx", "torchscript", "2"),
                    ("Frobnicate", "com.example", "as is", "1")]
    assert re.search(r"<code>GroupQueryAttention</code></td><td>com.microsoft</td>"
                     r"<td class=\"num\">2</td><td>13, 17</td>", section)


def test_the_matrix_summary_is_what_the_page_shows(matrix):
    """The page draws matrix["summary"], not its own recount (the scan's is the record)."""
    entry = dict(matrix["summary"]["blocking_ops"][0], op="OnlyInTheSummary", models=99)
    page = render_index(dict(matrix, summary={"blocking_ops": [entry],
                                              "counts": {"pass": 1234}}))
    assert "<code>OnlyInTheSummary</code>" in page and "LayerNormalization</code>" not in page
    assert '<div class="v">1,234</div>' in page


def test_counts_tables_and_tool_are_shown(page):
    assert re.search(r'data-verdict="fail"><div class="k">fail</div><div class="v">8</div>', page)
    assert "onnxruntime" in page and "version=1.20.1" in page and "0.9.0" in page
    assert "2026-12-06T15:00:00Z" in page


def test_an_empty_scan_renders():
    page = render_index({"schema": "onnx-preflight/scan/1", "cells": [], "sources": []})
    assert "No op blocks any model." in page and 'id="scan-data"' in page


def test_a_large_zoo_is_compact():
    """1,000 sources x 6 cells: the page stays a few MB (findings stored once)."""
    m = large_matrix()
    page = render_index(m)
    assert len(m["cells"]) == 6000
    assert len(page.encode()) < 4_000_000
