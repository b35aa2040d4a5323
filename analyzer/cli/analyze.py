"""`onnx-preflight analyze`: check a model against the ONNX schemas and ORT's kernels per
execution provider, predict placement and CPU fallbacks, and report.

Exit status: 0 pass or warn, 1 when the verdict fails (or a warning with --fail-on warning),
2 for bad input or usage."""

from __future__ import annotations

import argparse
import sys

from analyzer.cli.common import add_output, add_providers, parse_providers, write_atomically


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "analyze",
        help="pre-flight report for an ONNX model",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model", metavar="MODEL", help="path to an .onnx file")
    p.add_argument("--opset", type=int, metavar="N",
                   help="check the default-domain ops as if the model targeted opset N")
    add_providers(p)
    add_output(p, ("text", "json", "md"))
    p.add_argument("--fail-on", choices=("error", "warning"), default="error",
                   help="lowest finding severity that makes the exit status 1 (default: error)")
    p.add_argument("--max-file-size", type=int, metavar="BYTES",
                   help="refuse model files larger than BYTES")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from analyzer.api import analyze
    from analyzer.errors import InputError

    if args.opset is not None and args.opset < 1:
        raise InputError(None, "USAGE",
                         f"--opset must be a positive opset version, got {args.opset}")
    providers = parse_providers(args.providers)
    report = analyze(args.model, opset=args.opset, providers=providers,
                     max_file_bytes=args.max_file_size)
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
    return 1 if report.fails(args.fail_on) else 0
