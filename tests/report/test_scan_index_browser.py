"""index.html of a scan in a real browser (Debian's headless chromium over the DevTools
protocol, tests/fixtures/chromium.py), opened from disk: the heat map's cells and colours, the
filters, the details of a cell, no script from the data, no network request."""

from __future__ import annotations

import json

import pytest

from analyzer.report.scan_index import render_index
from analyzer.report.scan_summary import VERDICTS, verdict_counts
from tests.fixtures.chromium import Browser
from tests.fixtures.scan_matrices import HOSTILE_MESSAGE, HOSTILE_SOURCE, large_matrix, small_matrix

RENDERED = "document.documentElement.getAttribute('data-rendered-ms')"
SHOWN = "[...document.querySelectorAll('#heat tbody tr')].filter(r => !r.hidden).length"


@pytest.fixture(scope="module")
def page(tmp_path_factory, browser) -> Browser:
    path = tmp_path_factory.mktemp("scan") / "index.html"
    path.write_text(render_index(small_matrix()), encoding="utf-8")
    browser.open(path.as_uri(), RENDERED)
    return browser


def _hover(browser: Browser, selector: str) -> None:
    """The mouse moved onto the middle of the element (no click: a click would follow a link)."""
    x, y = browser.evaluate(
        f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
        " e.scrollIntoView({block: 'center', inline: 'center'});"
        " const r = e.getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2];"
        " })()")
    browser.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x, "y": y})


def _cell(source: str, column: str) -> str:
    """A JS expression: the index of the data cell of `source` in the column labelled so."""
    return (f"(() => {{ const D = JSON.parse(document.getElementById('scan-data').textContent);"
            f" const r = D.sources.findIndex(s => s.id === {json.dumps(source)});"
            f" const c = D.columns.findIndex(c => c.label === {json.dumps(column)});"
            " return D.rows[r][c]; })()")


def test_the_heat_map_has_every_cell_with_its_verdict_colour(page):
    m = small_matrix()
    assert page.evaluate("document.querySelectorAll('#heat tbody tr').length") == 7
    assert page.evaluate("document.querySelectorAll('#heat td.cell').length") == 20
    counts = verdict_counts(m["cells"])
    for verdict in VERDICTS:
        shown = page.evaluate(f"document.querySelectorAll('#heat td.cell.v-{verdict}').length")
        assert shown == counts[verdict], verdict
        if shown:  # the cell has the legend's colour, and each verdict its own
            cell = page.evaluate(f"getComputedStyle(document.querySelector("
                                 f"'#heat td.cell.v-{verdict}')).backgroundColor")
            legend = page.evaluate(f"getComputedStyle(document.querySelector("
                                   f"'#legend .sw.v-{verdict}')).backgroundColor")
            assert cell == legend
    colours = page.evaluate("[...new Set([...document.querySelectorAll('#legend .sw')]"
                            ".map(e => getComputedStyle(e).backgroundColor))].length")
    assert colours == len(VERDICTS)
    # an ONNX file has one cell, "as is", showing its own opset; empty columns show a dash
    row = page.evaluate("[...document.querySelectorAll('#heat tbody tr')][1].innerText")
    assert "bad.onnx" in row and "fail · 13" in row
    assert page.evaluate("document.querySelectorAll('#heat td.none').length") == 7 * 7 - 20


def test_every_cell_links_to_its_report(page):
    links = page.evaluate("[...document.querySelectorAll('#heat td.cell a')].map(a => a.href)")
    base = page.evaluate("location.href").rsplit("/", 1)[0] + "/"
    expected = sorted(base + c["report_html"].replace(":", "%3A").replace("(", "%28")
                      .replace(")", "%29") for c in small_matrix()["cells"] if c["report_html"])
    assert sorted(links) == expected and len(links) == 19
    # the crashed cell has no report: it is a focusable span, not a link
    assert page.evaluate("document.querySelectorAll('#heat td.cell span[data-cell]').length") == 1


def test_the_hostile_source_and_message_are_text(page):
    assert page.evaluate("window.__alerts.length") == 0
    assert page.evaluate("document.querySelectorAll('script').length") == 2
    names = page.evaluate("[...document.querySelectorAll('#heat th.src')].map(t => "
                          "t.firstChild.textContent)")
    assert HOSTILE_SOURCE in names
    ci = page.evaluate(_cell(HOSTILE_SOURCE, "opset 13 · dynamo"))
    _hover(page, f"#heat [data-cell='{ci}']")
    details = page.evaluate("document.getElementById('cell-details').innerText")
    assert HOSTILE_SOURCE in details and HOSTILE_MESSAGE in details and "EXP101" in details
    assert page.evaluate("window.__alerts.length") == 0


def test_hover_and_click_show_a_cells_blocking_findings(page):
    ci = page.evaluate(_cell("zoo.models:gpt", "opset 13 · dynamo"))
    _hover(page, f"#heat [data-cell='{ci}']")
    details = page.evaluate("document.getElementById('cell-details').innerText")
    assert "Blocking findings (2)" in details
    assert "LayerNormalization needs opset 17" in details and "no CUDA kernel" in details
    assert "CUDAExecutionProvider" in details  # the finding's provider and the placement table
    crashed = page.evaluate(_cell("zoo.models:gpt", "opset 17 · torchscript"))
    page.click(f"#heat [data-cell='{crashed}']")  # a span: no report to follow
    assert page.evaluate("document.getElementById('cell-details').dataset.cell") == str(crashed)
    assert "signal 11" in page.evaluate("document.getElementById('cell-details').innerText")


def test_filters_hide_rows(page):
    assert page.evaluate(SHOWN) == 7
    page.click("#legend input[data-verdict='pass']")  # rows whose cells all pass go
    assert page.evaluate(SHOWN) == 4
    assert page.evaluate("document.getElementById('scan-shown').textContent") == (
        "4 of 7 sources shown")
    page.click("#legend input[data-verdict='pass']")
    page.click("#scan-search")
    page.send("Input.insertText", {"text": "GPT"})
    assert page.evaluate(SHOWN) == 1
    page.evaluate("(() => { const s = document.getElementById('scan-search'); s.value = '';"
                  " s.dispatchEvent(new Event('input')); })()")
    for select, value, shown in (("scan-kind", "keras", 1), ("scan-kind", "onnx", 2),
                                 ("scan-kind", "", 7), ("scan-tag", "vision", 3),
                                 ("scan-tag", "<b>x</b>", 1), ("scan-tag", "", 7)):
        page.evaluate(f"(() => {{ const s = document.getElementById({json.dumps(select)});"
                      f" s.value = {json.dumps(value)}; s.dispatchEvent(new Event('change'));"
                      " })()")
        assert page.evaluate(SHOWN) == shown, (select, value)


def test_no_network_request(page):
    assert page.requested_urls() == [page.evaluate("location.href")]


def test_a_thousand_sources_render(tmp_path, browser):
    path = tmp_path / "index.html"
    path.write_text(render_index(large_matrix()), encoding="utf-8")
    browser.open(path.as_uri(), RENDERED)
    assert browser.evaluate("document.querySelectorAll('#heat td.cell').length") == 6000
    assert browser.evaluate("document.querySelectorAll('#heat tbody tr').length") == 1000
    browser.click("#legend input[data-verdict='pass']")
    shown = browser.evaluate(SHOWN)
    assert 0 < shown <= 1000
    assert browser.requested_urls()[-1] == browser.evaluate("location.href")
