"""The browser the HTML pages' tests share (test_html_browser.py, test_scan_index_browser.py):
one headless chromium per test module, with alert() recorded instead of shown, so a test can
check that no script from the data ran; a test that needs it is skipped where no chromium is
installed."""

from __future__ import annotations

import pytest

from tests.fixtures.chromium import Browser, find_chromium


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if find_chromium() is None:
        pytest.skip("chromium is not installed (.ci/run installs it with apt-get install "
                    "chromium)")
    with Browser(tmp_path_factory.mktemp("chromium-profile")) as b:
        # Any alert() the page runs (an injected script would) is recorded, not shown.
        b.send("Page.addScriptToEvaluateOnNewDocument",
               {"source": "window.__alerts = []; window.alert = (m) => window.__alerts.push(m);"})
        yield b
