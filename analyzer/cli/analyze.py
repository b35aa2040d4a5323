"""`onnx-preflight analyze`: check a model against the ONNX schemas and ORT's kernels per
execution provider, predict placement and CPU fallbacks, and report.

MODEL is an .onnx file, or a PyTorch model as package.module:factory with --input specs: then
the pre-flight predicts what torch.onnx.export (--exporter, --opset) will do, without exporting.

Batch: several MODELs, a directory (every *.onnx below it) or a glob pattern analyzes each model
in a process pool (--jobs) and prints a summary table (--format json: a list, one entry per
model). One bad model never stops the others: it becomes a row with its error code.

--load-check also creates a real onnxruntime CPU session in a child process with --time-limit
and --memory-limit, so a crash or hang in onnxruntime becomes a finding (EP310), not the end.

Exit status: 0 pass or warn, 1 when the verdict fails (or a warning with --fail-on warning),
2 for bad input or usage. Batch: 2 if any model is bad input (or crashed the worker), else 1 if
any verdict fails, else 0."""

from __future__ import annotations

import argparse
import io
import os
import sys

from analyzer.cli.common import (
    add_output,
    add_providers,
    add_torch_source,
    load_torch_source,
    output_format,
    parse_providers,
    source_options,
    source_output,
    write_atomically,
)
from analyzer.cli.limit_args import add_limits, input_limit_from, limits_from
from analyzer.cli.tf_args import add_tf_source, is_tf_path, run_tf_analyze
from analyzer.error_codes import USAGE
from analyzer.errors import InputError
from analyzer.limits import check_opset
from analyzer.onnx_analysis import collector_paused
from analyzer.report.html import render_html
from analyzer.report.model import NODE_DETAIL_MODES, Report
from analyzer.report.text import build_renderable, render_text
from analyzer.sources.torch_spec import is_torch_spec
from analyzer.workflows import batch
from analyzer.workflows.batch import add_load_check, is_batch
from analyzer.workflows.fix_commands import attach_commands
from analyzer.workflows.onnx_preflight import analyze
from analyzer.workflows.torch_preflight import DYNAMO_BASE_OPSET, analyze_torch

FORMATS = ("text", "json", "md", "html")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "analyze",
        help="pre-flight report for an ONNX model, a PyTorch factory or a TensorFlow source",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model", metavar="MODEL", nargs="+",
                   help="path to an .onnx file, or package.module:factory for a PyTorch model; "
                   "several paths, a directory or a glob pattern for a batch")
    p.add_argument("--opset", type=int, metavar="N",
                   help="check the default-domain ops as if the model targeted opset N")
    add_providers(p)
    add_output(p, FORMATS)
    p.add_argument("--fail-on", choices=("error", "warning"), default="error",
                   help="lowest finding severity that makes the exit status 1 (default: error)")
    p.add_argument("--strict", action="store_true",
                   help="ONNX-spec violations that onnxruntime tolerates (onnx.checker "
                   "complaints, declared shapes that differ from inference) are errors, not "
                   "warnings")
    p.add_argument("--nodes", choices=NODE_DETAIL_MODES, default="notable",
                   help="--format json: per-node detail (ops[].nodes) for every node (all), or "
                   "only for nodes a finding names or that are not placed on the first provider "
                   "by their own kernel (notable, the default)")
    add_limits(p)
    p.add_argument("--load-check", action="store_true",
                   help="also create a real onnxruntime CPU session in an isolated child process "
                   "(finding EP310 when it crashes, hangs or fails, EP311 when it loads)")
    p.add_argument("--time-limit", type=float, default=60.0, metavar="S",
                   help="--load-check: seconds the child may take (default: 60)")
    p.add_argument("--memory-limit", type=int, default=4096, metavar="MB",
                   help="--load-check: address-space limit of the child in MB (default: 4096)")
    p.add_argument("--jobs", type=int, metavar="N",
                   help="batch: worker processes (default: the number of CPUs)")
    add_torch_source(p)

    add_tf_source(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    args.format = output_format(args.output, args.format, FORMATS)
    models: list[str] = args.model
    args.model = models[0] if len(models) == 1 else " ".join(models)
    args.protect = list(models)  # -o must never land on an input model
    check_opset(args.opset, "--opset")
    if args.time_limit <= 0 or args.memory_limit <= 0:
        raise InputError(None, USAGE, "--time-limit and --memory-limit must be positive")
    if args.jobs is not None and args.jobs < 1:
        raise InputError(None, USAGE, f"--jobs must be at least 1, got {args.jobs}")
    providers = parse_providers(args.providers)

    if len(models) == 1 and is_tf_path(models[0]):
        tf_report = run_tf_analyze(args, providers)
        attach_commands(tf_report.findings, source=models[0], output=source_output(models[0]),
                        options=["--opset", str(args.opset)] if args.opset else [])
        emit(tf_report, args)
        return 1 if tf_report.fails(args.fail_on) else 0
    if is_batch(models):
        return run_batch(models, providers, args)
    if is_torch_spec(args.model):
        if args.load_check:
            raise InputError(args.model, USAGE, "--load-check takes an .onnx file")

        module, example = load_torch_source(args.model, args.input, args.weights,
                                            input_limit_from(args))
        report = analyze_torch(module, example, opset=args.opset or DYNAMO_BASE_OPSET,
                               exporter=args.exporter, name=args.model, thorough=args.thorough,
                               both_exporters=args.both_exporters)
        attach_commands(report.findings, source=args.model, output=source_output(args.model),
                        options=source_options(args, args.opset or DYNAMO_BASE_OPSET))
    else:
        # The analysis and its rendering build millions of acyclic objects; re-enabled between
        # them, the cyclic collector would rescan all of them once for nothing (0.15 s of 3.3 s
        # on 100k nodes), so it stays paused until the report is written.
        with collector_paused():
            report = analyze(args.model, opset=args.opset, providers=providers,
                             strict=args.strict, graph_source=args.format == "html",
                             **limits_from(args))
            if args.load_check:
                add_load_check(report, args.model, args.time_limit, args.memory_limit)
            emit(report, args)
        return 1 if report.fails(args.fail_on) else 0
    emit(report, args)
    return 1 if report.fails(args.fail_on) else 0


def emit(report: Report, args: argparse.Namespace) -> None:
    """Render the report in --format to -o FILE (atomically) or the terminal."""
    if args.format == "json":
        text = report.to_json(nodes=getattr(args, "nodes", "notable")) + "\n"
    elif args.format == "md":
        text = report.to_markdown()
    elif args.format == "html":
        text = render_html(report)
    else:
        text = ""
    if args.output:
        if args.format == "text":
            text = render_text(report)
        write_atomically(args.output, text, protect=getattr(args, "protect", ()))
        print(f"wrote {args.output} (verdict: {report.verdict})", file=sys.stderr)
    elif args.format == "text":
        from rich.console import Console


        Console().print(build_renderable(report), crop=False)  # fix commands are never cut
    else:
        sys.stdout.write(text)


def run_batch(models: list[str], providers: list[str], args: argparse.Namespace) -> int:
    """Analyze each model in a process pool; print the summary table (or the JSON list)."""
    import json


    if args.format == "html":
        raise InputError(None, USAGE, "--format html is for one model; use json or md for a "
                         "batch")
    torch_specs = [m for m in models if is_torch_spec(m) and not batch.is_glob(m)]
    if torch_specs:
        raise InputError(torch_specs[0], USAGE,
                         "PyTorch sources are analyzed one at a time, not in a batch")
    limits = limits_from(args)  # each worker applies them to its own model
    options = batch.Options(args.opset, tuple(providers), limits["max_file_bytes"],
                            args.load_check, args.time_limit, args.memory_limit,
                            limits["max_nodes"], limits["max_subgraph_depth"], args.strict,
                            args.nodes)
    rows = batch.run_batch(models, options, jobs=args.jobs)
    if args.format == "json":
        text = json.dumps([r.to_dict() for r in rows], indent=2) + "\n"
    elif args.format == "md":
        text = batch.to_markdown(rows)
    else:
        text = ""
    status = batch.exit_status(rows, args.fail_on)
    if args.format == "text":
        from rich.console import Console
        from rich.table import Table

        base = batch.common_folder([r.path for r in rows])
        table = Table(title=f"onnx-preflight: {len(rows)} models" + (f" in {base}" if base else ""))
        for header in batch.HEADERS:
            table.add_column(header, justify="right" if header in
                             ("errors", "warnings", "nodes", "seconds") else "left",
                             overflow="fold")
        styles = {"pass": "green", "warn": "yellow", "fail": "red"}
        for row, cells in zip(rows, batch.table_rows(rows), strict=True):
            style = styles.get(row.verdict, "bold red")
            name = os.path.relpath(cells[0], base) if base else cells[0]
            table.add_row(name, f"[{style}]{cells[1]}[/{style}]", *cells[2:])
        if args.output:
            console = Console(record=True, width=160, file=io.StringIO())
            console.print(table)
            text = console.export_text()
        else:
            Console().print(table)
    if args.output:
        write_atomically(args.output, text, protect=models + [r.path for r in rows])
        print(f"wrote {args.output} ({len(rows)} models)", file=sys.stderr)
    elif args.format != "text":
        sys.stdout.write(text)
    return status
