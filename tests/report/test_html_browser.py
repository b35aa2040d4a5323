"""The HTML report in a real browser: Debian's headless chromium (installed by .ci/run), driven
over the DevTools protocol on a pipe (tests/fixtures/chromium.py), opening the file from disk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import analyzer
from analyzer.report.html import render_html
from tests.fixtures.chromium import Browser
from tests.fixtures.report_models import FALLBACK, HOSTILE, UNSUPPORTED, chain_model, problem_model

RENDERED = "document.documentElement.getAttribute('data-rendered-ms')"


@pytest.fixture(scope="module")
def problem_page(tmp_path_factory, browser) -> Browser:
    path = tmp_path_factory.mktemp("report") / "problems.html"
    report = analyzer.analyze(problem_model(), providers=("cuda", "cpu"))
    path.write_text(render_html(report), encoding="utf-8")
    browser.open(path.as_uri(), RENDERED)
    return browser


def _node(name: str) -> str:
    """A JS expression: the graph's <g class="node"> for the node called `name`."""
    return (f"[...document.querySelectorAll('#graph .node')].find(g => "
            f"g.querySelector('title').textContent === {json.dumps(name)})")


def _fill(browser: Browser, name: str) -> str:
    return browser.evaluate(f"getComputedStyle({_node(name)}.querySelector('rect')).fill")


def _legend(browser: Browser, status: str) -> str:
    return browser.evaluate(
        f"getComputedStyle(document.querySelector('#legend [data-status={status}] .sw'))"
        ".backgroundColor")


def test_the_graph_renders_every_node(problem_page):
    count = problem_page.evaluate("document.querySelectorAll('#graph .node').length")
    assert count == len(problem_model().graph.node)
    assert problem_page.evaluate("document.querySelectorAll('#graph path.edge').length") == 3
    assert problem_page.requested_urls() == [problem_page.evaluate("location.href")]


def test_known_problem_nodes_have_their_status_colors(problem_page):
    assert problem_page.evaluate(f"{_node(UNSUPPORTED)}.dataset.status") == "unsupported"
    assert _fill(problem_page, UNSUPPORTED) == _legend(problem_page, "unsupported")
    assert _fill(problem_page, FALLBACK) == _legend(problem_page, "fallback")
    assert _fill(problem_page, "relu_ok") == _legend(problem_page, "ok")
    assert len({_fill(problem_page, n) for n in (UNSUPPORTED, FALLBACK, "relu_ok")}) == 3


def test_the_hostile_node_name_is_text_not_script(problem_page):
    assert problem_page.evaluate("window.__alerts.length") == 0
    assert problem_page.evaluate(f"!!{_node(HOSTILE)}")  # drawn, with its name as plain text
    assert problem_page.evaluate("document.querySelectorAll('script').length") == 3


def test_a_click_on_a_node_shows_its_details(problem_page, tmp_path):
    problem_page.click(f"#graph .node[data-node='{_index(problem_page, UNSUPPORTED)}']")
    details = problem_page.evaluate("document.getElementById('details').innerText")
    assert UNSUPPORTED in details and "Frobnicate" in details and "com.example" in details
    assert "EP301" in details  # the finding on this node, with its message
    assert problem_page.evaluate("document.getElementById('details').dataset.node") == str(
        _index(problem_page, UNSUPPORTED))
    shot = tmp_path / "problems.png"
    problem_page.screenshot(shot)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000


def test_search_finds_a_node_by_op_name(problem_page):
    problem_page.click("#graph-search")
    problem_page.send("Input.insertText", {"text": "celu"})
    for kind in ("keyDown", "keyUp"):
        problem_page.send("Input.dispatchKeyEvent", {"type": kind, "key": "Enter",
                                                     "code": "Enter",
                                                     "windowsVirtualKeyCode": 13})
    details = problem_page.evaluate("document.getElementById('details').innerText")
    assert FALLBACK in details and "CPUExecutionProvider" in details


def _index(browser: Browser, name: str) -> int:
    return int(browser.evaluate(f"{_node(name)}.dataset.node"))


def test_a_large_graph_opens_grouped_and_expands(tmp_path, browser):
    path = tmp_path / "chain.html"
    path.write_text(render_html(analyzer.analyze(chain_model(1500, scoped=True))),
                    encoding="utf-8")
    browser.open(path.as_uri(), RENDERED)
    nodes = browser.evaluate("document.querySelectorAll('#graph .node').length")
    boxes = browser.evaluate("document.querySelectorAll('#graph .box').length")
    assert nodes < 1500 and boxes > 0  # collapsed groups stand for the rest
    browser.evaluate("document.getElementById('graph').scrollIntoView()")
    group = browser.evaluate(  # a box the reader can see (inside the graph's viewport)
        "(() => { const v = document.getElementById('graph').getBoundingClientRect();"
        " return [...document.querySelectorAll('#graph .box')].find(b => {"
        " const r = b.getBoundingClientRect(), x = r.left + r.width / 2, y = r.top + r.height / 2;"
        " return x > v.left && x < v.right && y > v.top && y < v.bottom; }).dataset.group; })()")
    browser.click(f"#graph .box[data-group='{group}']")
    browser.click("#details button")  # "Expand"
    assert browser.evaluate(f"!document.querySelector('#graph .box[data-group=\"{group}\"]')")
    assert browser.evaluate("document.querySelectorAll('#graph .node').length") > nodes
    browser.screenshot(tmp_path / "chain.png")
    assert Path(tmp_path / "chain.png").stat().st_size > 10_000
