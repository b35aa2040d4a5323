"""`onnx-preflight scan`: a compatibility matrix for a whole model zoo. Each cell (source x
opset x exporter, analyzed for --providers) is one pre-flight run in its own child process with
--time-limit and --memory-limit: a crash or a hang is that cell's verdict (crashed, timeout),
never the end of the scan.

SOURCE: .onnx files, folders (every model below), glob patterns, PyTorch factories
(package.module:factory with --input / --weights), TensorFlow SavedModel folders, .pb, .meta,
.tflite, .keras and .h5 files; or --manifest FILE.toml (docs/scan.md). An ONNX file is one
cell (its own opset, no exporter); a PyTorch source one per --opsets x --exporters; a
TensorFlow source one per opset (tf2onnx).

Outputs in -o DIR: matrix.json (schema onnx-preflight/scan/1), matrix.csv, index.html, and
each cell's report.html / report.json under cells/<key>/. Results are cached (DIR/cache or
--cache-dir) by source content, tool and table versions, opset, exporter, providers and limits:
a rerun only computes what changed. --resume continues an interrupted scan in DIR with the
plan it saved (no SOURCE needed).

Exit status: 0 when the scan completed, whatever the cells' verdicts; with --fail-on fail, 1
when any cell is fail, error, crashed or timeout; with --fail-on warn, also when any is warn.
2 for bad input or usage (a SOURCE that names no model, a bad manifest), before any cell runs.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as Bar

from analyzer.cli.common import parse_providers
from analyzer.error_codes import SCAN_NOT_RESUMABLE, USAGE
from analyzer.errors import InputError
from analyzer.limits import check_opset
from analyzer.workflows.isolated_export import (
    DEFAULT_EXPORT_MEMORY_LIMIT_MB,
    DEFAULT_EXPORT_TIME_LIMIT,
)
from analyzer.workflows.scan import Progress, ScanOptions, ScanPlan, run_scan
from analyzer.workflows.scan.executors import EXECUTORS, check_executor
from analyzer.workflows.scan.manifest import load_manifest
from analyzer.workflows.scan.plan import (
    DEFAULT_EXPORTERS,
    DEFAULT_OPSETS,
    TORCH_EXPORTERS,
    load_plan,
)
from analyzer.workflows.scan.runner import FAILED
from analyzer.workflows.scan.sources import Source, SourceOptions, dedupe, expand, with_hashes

FAIL_ON = ("never", "fail", "warn")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("scan", help="compatibility matrix of many models x opsets x exporters",
                       description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("sources", metavar="SOURCE", nargs="*",
                   help="model files, folders, globs or package.module:factory specs")
    p.add_argument("--manifest", metavar="FILE.toml",
                   help="sources with their inputs, weights, opsets and tags (docs/scan.md)")
    p.add_argument("--input", action="append", default=[], metavar="NAME:DTYPE[DIMS]",
                   help="example input of the PyTorch factories given as SOURCE (repeat)")
    p.add_argument("--weights", metavar="FILE.pt",
                   help="state dict for the PyTorch factories given as SOURCE")
    p.add_argument("--opsets", metavar="N,N",
                   help=f"opsets of the PyTorch and TensorFlow cells (default: "
                   f"{','.join(map(str, DEFAULT_OPSETS))})")
    p.add_argument("--exporters", metavar="NAME,NAME",
                   help=f"PyTorch exporters, of {', '.join(TORCH_EXPORTERS)} (default: "
                   f"{','.join(DEFAULT_EXPORTERS)})")
    p.add_argument("--providers", metavar="EP,EP",
                   help="execution providers in priority order (default: cpu)")
    p.add_argument("--executor", choices=EXECUTORS, default="local",
                   help="local: a pool on this machine (default); ray: a Ray cluster "
                   "(--address) or a local Ray instance (needs the `scale` extra)")
    p.add_argument("--address", metavar="RAY_ADDRESS",
                   help="--executor ray: the cluster to join (default: start a local instance)")
    p.add_argument("--jobs", type=int, metavar="N",
                   help="cells at a time (default: the number of CPUs)")
    p.add_argument("-o", "--output", metavar="DIR", default="scan",
                   help="output folder (default: ./scan)")
    p.add_argument("--cache-dir", metavar="DIR", help="results cache (default: DIR/cache)")
    p.add_argument("--resume", action="store_true",
                   help="continue the interrupted scan in -o DIR with the plan it saved")
    p.add_argument("--fail-on", choices=FAIL_ON, default="never",
                   help="exit 1 when any cell is fail/error/crashed/timeout (fail) or also warn "
                   "(warn); default never: exit 0 whenever the scan completed")
    p.add_argument("--time-limit", type=float, default=DEFAULT_EXPORT_TIME_LIMIT, metavar="S",
                   help=f"seconds one cell may take (default: {DEFAULT_EXPORT_TIME_LIMIT:.0f})")
    p.add_argument("--memory-limit", type=int, default=DEFAULT_EXPORT_MEMORY_LIMIT_MB,
                   metavar="MB", help="address-space limit of one cell's child in MB "
                   f"(default: {DEFAULT_EXPORT_MEMORY_LIMIT_MB})")
    p.set_defaults(run=run)


def _ints(text: str, flag: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise InputError(None, USAGE, f"{flag} takes opsets such as 13,17,18") from None
    if not values:
        raise InputError(None, USAGE, f"{flag} names no opset")
    for v in values:
        check_opset(v, flag)
    return values


def _names(values: list[str] | str) -> tuple[str, ...]:
    items = values.split(",") if isinstance(values, str) else values
    return tuple(v.strip() for v in items if v.strip())


def _check_exporters(exporters: tuple[str, ...], where: str) -> None:
    bad = [e for e in exporters if e not in TORCH_EXPORTERS]
    if bad or not exporters:
        raise InputError(None, USAGE, f"{where}: exporters are {', '.join(TORCH_EXPORTERS)}, "
                         f"got {', '.join(bad) or 'none'}")


def build_plan(args: argparse.Namespace) -> ScanPlan:
    """The plan from SOURCE arguments and the manifest (command-line axes win over the
    manifest's [defaults])."""
    sources: list[Source] = []
    defaults: dict[str, list[object]] = {}
    if args.manifest:
        manifest = load_manifest(args.manifest)
        sources += manifest.sources
        defaults = manifest.defaults
    options = SourceOptions(inputs=tuple(args.input), weights=args.weights)
    for arg in args.sources:
        sources += expand(arg, options)
    if not sources:
        raise InputError(None, USAGE, "give SOURCE arguments, --manifest FILE.toml or --resume")
    opsets = (_ints(args.opsets, "--opsets") if args.opsets
              else tuple(int(str(v)) for v in defaults.get("opsets", DEFAULT_OPSETS)))
    exporters = _names(args.exporters) if args.exporters else tuple(
        str(v) for v in defaults.get("exporters", DEFAULT_EXPORTERS))
    _check_exporters(exporters, "--exporters")
    for s in sources:
        if s.exporters is not None:
            _check_exporters(s.exporters, f"source {s.id}")
    providers = parse_providers(args.providers or ",".join(
        str(v) for v in defaults.get("providers", ["cpu"])))
    return ScanPlan(tuple(with_hashes(dedupe(sources))), opsets, exporters, tuple(providers),
                    args.time_limit, args.memory_limit)


class _Display:
    """The progress bar on stderr (a terminal only): cells done / failed / cached, time left."""

    def __init__(self, total: int) -> None:
        self.bar = Bar(TextColumn("scan"), BarColumn(), MofNCompleteColumn(),
                       TextColumn("{task.fields[detail]}"), TimeElapsedColumn(),
                       TextColumn("left"), TimeRemainingColumn(),
                       console=Console(stderr=True), transient=False)
        self.task = self.bar.add_task("scan", total=total, detail="")
        self.bar.start()

    def update(self, p: Progress) -> None:
        self.bar.update(self.task, completed=p.done,
                        detail=f"failed {p.failed}  cached {p.cached}")

    def stop(self) -> None:
        self.bar.stop()


def run(args: argparse.Namespace) -> int:
    if args.jobs is not None and args.jobs < 1:
        raise InputError(None, USAGE, f"--jobs must be at least 1, got {args.jobs}")
    if args.time_limit <= 0 or args.memory_limit <= 0:
        raise InputError(None, USAGE, "--time-limit and --memory-limit must be positive")
    if args.address and args.executor != "ray":
        raise InputError(None, USAGE, "--address is for --executor ray")
    out_dir = Path(args.output)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(out_dir, USAGE, "-o must be a folder")
    if args.resume:
        if args.sources or args.manifest:
            raise InputError(out_dir, SCAN_NOT_RESUMABLE, "--resume continues the saved plan; "
                             "give no SOURCE or --manifest with it")
        plan = load_plan(out_dir)
    else:
        plan = build_plan(args)
    check_executor(args.executor)
    options = ScanOptions(args.executor, args.jobs, args.address,
                          Path(args.cache_dir) if args.cache_dir else None)
    display = _Display(0) if sys.stderr.isatty() else None
    start = time.perf_counter()

    def on_cell(p: Progress) -> None:
        if display is not None:
            display.bar.update(display.task, total=p.total)
            display.update(p)

    try:
        matrix = run_scan(plan, out_dir, options, on_cell)
    finally:
        if display is not None:
            display.stop()
    cells = matrix["cells"]
    counts = ", ".join(f"{n} {v}" for v, n in matrix["summary"]["counts"].items() if n)
    cached = sum(1 for c in cells if c["cached"])
    print(f"wrote {out_dir}/matrix.json, matrix.csv, index.html: {len(cells)} cells ({counts}; "
          f"{cached} cached) in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    bad = FAILED + (("warn",) if args.fail_on == "warn" else ())
    if args.fail_on != "never" and any(c["verdict"] in bad for c in cells):
        return 1
    return 0
