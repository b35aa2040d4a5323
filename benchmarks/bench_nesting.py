"""Time and peak memory of `analyzer.analyze` on nested and wide subgraphs (issue 16, item 3).

Each case runs in a fresh Python process (imports excluded from the figures): If, Loop and Scan
nested 5, 10, 20 and 30 deep, 1,000 Ifs side by side and one Loop whose body has 10,000 nodes;
all nodes unnamed, the form that once made the analysis exponential in the depth. The column
us/node is the time per node: flat across the rows when the analysis is linear in nodes.

    python benchmarks/bench_nesting.py                 # every case
    python benchmarks/bench_nesting.py --html          # also build the HTML report
    python benchmarks/bench_nesting.py --cases if:30 side:1000 body:10000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CASES = [f"{kind}:{depth}" for kind in ("if", "loop", "scan") for depth in (5, 10, 20, 30)]
DEFAULT_CASES += ["side:1000", "body:10000"]

_CHILD = r"""
import json, resource, sys, time
import onnx
from analyzer import analyze
from tests.fixtures import nesting_models as nm

kind, size, html = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
build = {"if": nm.nested_if, "loop": nm.nested_loop, "scan": nm.nested_scan,
         "side": nm.side_by_side_if, "body": nm.big_loop_body}[kind]
model = build(size)
stack = [model.graph]
while stack:
    graph = stack.pop()
    for node in graph.node:
        node.ClearField("name")
        stack.extend(a.g for a in node.attribute if a.type == onnx.AttributeProto.GRAPH)
analyze(nm.nested_if(2))  # warm the tables
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
report = analyze(model, providers=("cuda", "cpu"), max_subgraph_depth=64)
if html:
    report.to_html()
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"nodes": report.model.nodes, "seconds": seconds,
                  "peak_mib": (peak - before) / 1024, "verdict": report.verdict}))
"""


def run_case(case: str, html: bool, timeout: float) -> dict[str, object]:
    kind, size = case.split(":")
    try:
        out = subprocess.run([sys.executable, "-c", _CHILD, kind, size, "1" if html else "0"],
                             cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout,
                             env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"})
    except subprocess.TimeoutExpired:
        return {"case": case, "error": f"no answer after {timeout:.0f} s"}
    if out.returncode != 0:
        return {"case": case, "error": out.stderr.strip().splitlines()[-1][:200]}
    return {"case": case, **json.loads(out.stdout.strip().splitlines()[-1])}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="*", default=DEFAULT_CASES,
                        help="kind:size, kind one of if, loop, scan (depth), side (If count), "
                             "body (Loop body nodes)")
    parser.add_argument("--html", action="store_true", help="also render the HTML report")
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()
    print(f"{'case':<12} {'nodes':>7} {'seconds':>8} {'us/node':>8} {'peak MiB':>9}")
    for case in args.cases:
        row = run_case(case, args.html, args.timeout)
        if "error" in row:
            print(f"{case:<12} {row['error']}")
            continue
        nodes, seconds = int(row["nodes"]), float(row["seconds"])  # type: ignore[arg-type]
        print(f"{case:<12} {nodes:>7} {seconds:>8.3f} {seconds / nodes * 1e6:>8.1f} "
              f"{float(row['peak_mib']):>9.1f}")  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    sys.exit(main())
