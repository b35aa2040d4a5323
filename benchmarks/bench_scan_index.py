"""How big and how fast a scan's index.html is for a zoo of 1,000 sources x 6 cells.

Builds the matrix as data (tests/fixtures/scan_matrices.large_matrix: 1,000 torch sources x
opsets 13/17/18 x dynamo/torchscript, verdicts cycling, two blocking findings per failing cell),
then times `blocking_summary` and `render_index` (best of --repeat), reports the page size, and,
when chromium is installed, opens the page from disk in headless chromium (DevTools protocol
over a pipe, tests/fixtures/chromium.py) and reads the page's own clock: `data-rendered-ms` is
performance.now() when the heat map is built (parsing the page and its JSON included), plus the
time one filter change takes (untick "pass": every row re-checked).

    python benchmarks/bench_scan_index.py                 # 1,000 x 6
    python benchmarks/bench_scan_index.py --sources 5000 --repeat 5 --json out.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analyzer.report.scan_index import render_index  # noqa: E402
from analyzer.report.scan_summary import blocking_summary  # noqa: E402
from tests.fixtures.chromium import Browser, find_chromium  # noqa: E402
from tests.fixtures.scan_matrices import large_matrix  # noqa: E402

RENDERED = "document.documentElement.getAttribute('data-rendered-ms')"


def _best(fn: Any, repeat: int) -> tuple[float, Any]:
    best, value = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - start)
    return best, value


def measure(n_sources: int, repeat: int) -> dict[str, Any]:
    matrix = large_matrix(n_sources)
    summary_s, summary = _best(lambda: blocking_summary(matrix["cells"]), repeat)
    matrix["summary"] = {"blocking_ops": summary}
    render_s, page = _best(lambda: render_index(matrix), repeat)
    out: dict[str, Any] = {
        "sources": n_sources, "cells": len(matrix["cells"]),
        "blocking_ops": len(summary), "summary_s": round(summary_s, 4),
        "render_s": round(render_s, 4), "page_bytes": len(page.encode()),
        "matrix_json_bytes": len(json.dumps(matrix).encode()),
    }
    if find_chromium() is None:
        out["browser"] = "chromium not installed"
        return out
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "index.html"
        path.write_text(page, encoding="utf-8")
        loads, filters = [], []
        with Browser(Path(tmp) / "profile") as browser:
            for _ in range(repeat):
                wall = browser.open(path.as_uri(), RENDERED)
                loads.append((float(browser.evaluate(RENDERED)) / 1000, wall))
                filters.append(float(browser.evaluate(
                    "(() => { const t = performance.now();"
                    " document.querySelector(\"#legend input[data-verdict='pass']\").click();"
                    " void document.body.offsetHeight;"  # the layout the change causes, too
                    " return performance.now() - t; })()")))
            cells = browser.evaluate("document.querySelectorAll('#heat td.cell').length")
    in_page, wall = min(loads)
    out.update({"browser_cells": cells, "rendered_s": round(in_page, 3),
                "navigate_to_rendered_s": round(wall, 3),
                "filter_ms": round(min(filters), 1)})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sources", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    result = measure(args.sources, args.repeat)
    for key, value in result.items():
        print(f"{key:>24}: {value}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
