"""Whole-process `onnx-preflight analyze` against listing the layers, on the same large chain.

Builds the 100,000-node residual chain of benchmarks/bench_analyze.py (`build_model`), then
runs, interleaved and each in a fresh process (wall time of the whole process, imports and exit
included; peak RSS = the child's ru_maxrss from os.wait4):

  base   `polygraphy inspect model chain.onnx --show layers` when polygraphy is installed, else
         `python -c "import onnx; m = onnx.load(p); [print(n.op_type, n.name) for n in ...]"`
  text   `onnx-preflight analyze chain.onnx --providers cuda,cpu`            (rich text, stdout)
  json   `... --format json -o report.json`                   (default per-node detail: notable)
  all    `... --format json -o report.json --nodes all`       (every node's detail; reference)

and prints best and median seconds, peak MiB and the JSON size, with each case's ratio to the
baseline (goals: time < 1.0x and peak memory <= 2.0x for text and json).

    python benchmarks/bench_vs_polygraphy.py                    # 100k nodes, 3 rounds
    python benchmarks/bench_vs_polygraphy.py --nodes 20000 --repeat 5 --json out.json
    python benchmarks/bench_vs_polygraphy.py --baseline onnx    # force the onnx-listing baseline
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCH_ANALYZE = REPO_ROOT / "benchmarks" / "bench_analyze.py"

GOAL_TIME_RATIO = 1.0  # strictly faster than the baseline
GOAL_MEMORY_RATIO = 2.0  # at most twice its peak RSS
GOALS_FOR = ("text", "json")

ONNX_LISTING = ("import onnx, sys; m = onnx.load(sys.argv[1]); "
                "[print(n.op_type, n.name) for n in m.graph.node]")


def polygraphy_command() -> list[str] | None:
    """The polygraphy CLI beside this interpreter (or on PATH), if installed."""
    beside = Path(sys.executable).parent / "polygraphy"
    found = str(beside) if beside.exists() else shutil.which("polygraphy")
    return [found] if found else None


def commands(model: Path, report: Path, baseline: str) -> tuple[str, dict[str, list[str]]]:
    """The baseline's description and every case's command line."""
    poly = polygraphy_command() if baseline in ("auto", "polygraphy") else None
    if baseline == "polygraphy" and poly is None:
        raise SystemExit("polygraphy is not installed (pip install polygraphy)")
    if poly is not None:
        what = "polygraphy inspect model --show layers"
        base = [*poly, "inspect", "model", str(model), "--show", "layers"]
    else:
        what = "python -c 'onnx.load + print each node's op_type, name'"
        base = [sys.executable, "-c", ONNX_LISTING, str(model)]
    cli = [sys.executable, "-m", "analyzer.cli.main", "analyze", str(model),
           "--providers", "cuda,cpu"]
    json_cli = [*cli, "--format", "json", "-o", str(report)]
    return what, {"base": base, "text": cli, "json": json_cli,
                  "all": [*json_cli, "--nodes", "all"]}


def run_once(command: list[str]) -> dict[str, float]:
    """Run `command` to completion; its wall seconds and peak RSS in MiB (ru_maxrss, KiB on
    Linux). stdout goes to a file, as a CI log would take it."""
    with tempfile.TemporaryFile() as sink:
        start = time.perf_counter()
        proc = subprocess.Popen(command, stdout=sink, stderr=subprocess.PIPE, cwd=REPO_ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        if proc.stderr:
            proc.stderr.close()
    if proc.returncode not in (0, 1):  # analyze exits 1 on a failing verdict: still measured
        raise SystemExit(f"{' '.join(command)} exited {proc.returncode}:\n{err[-2000:]}")
    peak = usage.ru_maxrss / (2**20 if sys.platform == "darwin" else 1024)
    return {"seconds": seconds, "peak_mib": peak}


def measure(cases: dict[str, list[str]], report: Path, repeat: int) -> dict[str, Any]:
    """Every case `repeat` times, interleaved (one round runs each case once), so that a busy
    machine slows all of them alike."""
    runs: dict[str, list[dict[str, float]]] = {k: [] for k in cases}
    sizes: dict[str, int] = {}
    for _ in range(repeat):
        for name, command in cases.items():
            runs[name].append(run_once(command))
            if name in ("json", "all"):
                sizes[name] = report.stat().st_size
    out: dict[str, Any] = {}
    for name, rs in runs.items():
        secs = [r["seconds"] for r in rs]
        mibs = [r["peak_mib"] for r in rs]
        out[name] = {"best_s": min(secs), "median_s": statistics.median(secs), "runs_s": secs,
                     "peak_mib": max(mibs), "peak_mib_min": min(mibs)}
        if name in sizes:
            out[name]["file_mib"] = sizes[name] / 2**20
    return out


def print_table(what: str, results: dict[str, Any], repeat: int) -> dict[str, Any]:
    base = results["base"]
    print(f"\nbaseline: {what}")
    print(f"seconds: whole process, best of {repeat} (median); MiB: peak RSS (max over runs)")
    head = (f"{'case':<6} {'best s':>7} {'median s':>9} {'peak MiB':>9} {'file MiB':>9} "
            f"{'time x':>7} {'(med)':>6} {'mem x':>6}  goal")
    print(head)
    print("-" * len(head))
    verdicts: dict[str, Any] = {}
    for name, r in results.items():
        t_ratio = r["best_s"] / base["best_s"]
        t_med = r["median_s"] / base["median_s"]
        m_ratio = r["peak_mib"] / base["peak_mib"]
        goal = ""
        if name in GOALS_FOR:
            met = t_ratio < GOAL_TIME_RATIO and m_ratio <= GOAL_MEMORY_RATIO
            goal = "met" if met else "MISSED"
            verdicts[name] = {"time_ratio": t_ratio, "time_ratio_median": t_med,
                              "memory_ratio": m_ratio, "met": met}
        size = f"{r['file_mib']:9.2f}" if "file_mib" in r else f"{'':>9}"
        print(f"{name:<6} {r['best_s']:7.2f} {r['median_s']:9.2f} {r['peak_mib']:9.0f} {size} "
              f"{t_ratio:7.2f} {t_med:6.2f} {m_ratio:6.2f}  {goal}")
    print(f"goals for {', '.join(GOALS_FOR)}: time x < {GOAL_TIME_RATIO}, "
          f"mem x <= {GOAL_MEMORY_RATIO}")
    return verdicts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=100_000, help="chain size (default 100000)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds (default 3)")
    parser.add_argument("--baseline", choices=("auto", "polygraphy", "onnx"), default="auto",
                        help="auto: polygraphy when installed, else the onnx listing")
    parser.add_argument("--model", metavar="PATH",
                        help="measure this .onnx instead of building the chain")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench_vs_polygraphy_") as tmp:
        folder = Path(tmp)
        if args.model:
            model = Path(args.model).resolve()
            facts: dict[str, Any] = {"file_mib": round(model.stat().st_size / 2**20, 2)}
        else:
            model = folder / f"chain_{args.nodes}.onnx"
            proc = subprocess.run(
                [sys.executable, str(BENCH_ANALYZE), "--_build", str(args.nodes), str(model),
                 "--no-verify"], capture_output=True, text=True, cwd=REPO_ROOT)
            if proc.returncode != 0:
                raise SystemExit(f"building the chain failed:\n{proc.stderr}")
            facts = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} "
              f"CPUs; model {model.name}: {facts.get('file_mib')} MiB")
        what, cases = commands(model, folder / "report.json", args.baseline)
        results = measure(cases, folder / "report.json", args.repeat)
    verdicts = print_table(what, results, args.repeat)
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"benchmark": "bench_vs_polygraphy", "nodes": args.nodes, "baseline": what,
             "repeat": args.repeat, "results": results, "goals": verdicts}, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
