"""`onnx-preflight analyze`: check a model against the ONNX schemas and ORT's kernels per
execution provider, predict placement and CPU fallbacks, and report.

MODEL is an .onnx file, or a PyTorch model as package.module:factory with --input specs: then
the pre-flight predicts what torch.onnx.export (--exporter, --opset) will do, without exporting.

Exit status: 0 pass or warn, 1 when the verdict fails (or a warning with --fail-on warning),
2 for bad input or usage."""

from __future__ import annotations

import argparse
import sys

from analyzer.cli.common import (
    add_output,
    add_providers,
    add_torch_source,
    load_torch_source,
    parse_providers,
    write_atomically,
)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "analyze",
        help="pre-flight report for an ONNX model",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model", metavar="MODEL",
                   help="path to an .onnx file, or package.module:factory for a PyTorch model")
    p.add_argument("--opset", type=int, metavar="N",
                   help="check the default-domain ops as if the model targeted opset N")
    add_providers(p)
    add_output(p, ("text", "json", "md"))
    p.add_argument("--fail-on", choices=("error", "warning"), default="error",
                   help="lowest finding severity that makes the exit status 1 (default: error)")
    p.add_argument("--max-file-size", type=int, metavar="BYTES",
                   help="refuse model files larger than BYTES")
    add_torch_source(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from analyzer.api import analyze
    from analyzer.errors import InputError

    if args.opset is not None and args.opset < 1:
        raise InputError(None, "USAGE",
                         f"--opset must be a positive opset version, got {args.opset}")
    providers = parse_providers(args.providers)
    from analyzer.sources.torch_spec import is_torch_spec

    if is_torch_spec(args.model):
        from analyzer.torch_api import DYNAMO_BASE_OPSET, analyze_torch

        module, example = load_torch_source(args.model, args.input)
        report = analyze_torch(module, example, opset=args.opset or DYNAMO_BASE_OPSET,
                               exporter=args.exporter, name=args.model, thorough=args.thorough,
                               both_exporters=args.both_exporters)
    else:
        report = analyze(args.model, opset=args.opset, providers=providers,
                         max_file_bytes=args.max_file_size)
    emit(report, args)
    return 1 if report.fails(args.fail_on) else 0


def emit(report: object, args: argparse.Namespace) -> None:
    """Render the report in --format to -o FILE (atomically) or the terminal."""
    from analyzer.report.model import Report

    assert isinstance(report, Report)
    if args.format == "json":
        text = report.to_json() + "\n"
    elif args.format == "md":
        text = report.to_markdown()
    else:
        text = ""
    if args.output:
        if args.format == "text":
            from analyzer.report.text import render_text

            text = render_text(report)
        write_atomically(args.output, text)
        print(f"wrote {args.output} (verdict: {report.verdict})", file=sys.stderr)
    elif args.format == "text":
        from rich.console import Console

        from analyzer.report.text import build_renderable

        Console().print(build_renderable(report))
    else:
        sys.stdout.write(text)
