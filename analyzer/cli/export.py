"""`onnx-preflight export`: pre-flight a PyTorch model, export it with torch.onnx, and analyze
the ONNX file it wrote, in one report.

The export runs only when the pre-flight predicts success (use --force to export anyway). The
file is written atomically; the report fails when the delivered opset is not the requested one.

Exit status: 0 exported (pass or warn), 1 predicted or real failure, 2 bad input or usage."""

from __future__ import annotations

import argparse

from analyzer.cli.common import add_providers, add_torch_source, load_torch_source


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("export", help="pre-flight, export with torch.onnx, then analyze the file",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("source", metavar="SOURCE", help="package.module:factory")
    p.add_argument("-o", "--output", required=True, metavar="OUT.onnx",
                   help="where to write the exported model (atomically)")
    p.add_argument("--opset", type=int, default=18, metavar="N", help="opset (default: 18)")
    add_providers(p)
    p.add_argument("--format", choices=("text", "json", "md"), default="text",
                   help="report format (default: text)")
    p.add_argument("--report", metavar="FILE", help="write the report to FILE instead of stdout")
    p.add_argument("--fail-on", choices=("error", "warning"), default="error")
    p.add_argument("--force", action="store_true",
                   help="export even when the pre-flight predicts failure")
    add_torch_source(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from analyzer.cli.analyze import emit
    from analyzer.errors import InputError
    from analyzer.sources.torch_spec import is_torch_spec
    from analyzer.torch_api import export_torch

    if not is_torch_spec(args.source):
        raise InputError(args.source, "USAGE", "export takes a PyTorch source as "
                         "package.module:factory")
    providers = parse(args.providers)
    module, example = load_torch_source(args.source, args.input)
    report = export_torch(module, example, args.output, opset=args.opset,
                          exporter=args.exporter, providers=providers, force=args.force,
                          name=args.source, thorough=args.thorough)
    emit(report, argparse.Namespace(format=args.format, output=args.report))
    return 1 if report.fails(args.fail_on) else 0


def parse(text: str) -> list[str]:
    from analyzer.cli.common import parse_providers

    return parse_providers(text)
