"""`onnx-preflight export`: pre-flight a PyTorch model (export with torch.onnx) or a TensorFlow
source (convert with tf2onnx), then analyze the ONNX file it wrote, in one report.

The export runs only when the pre-flight predicts success (use --force to export anyway). The
file is written atomically; the report fails when the delivered opset is not the requested one.

Exit status: 0 exported (pass or warn), 1 predicted or real failure, 2 bad input or usage."""

from __future__ import annotations

import argparse

from analyzer.cli.analyze import emit
from analyzer.cli.common import (
    add_format,
    add_providers,
    add_torch_source,
    load_torch_source,
    output_format,
    parse_providers,
    refuse_report_suffix,
    rule_ids,
    source_options,
)
from analyzer.cli.isolate_args import add_isolation, isolation_from
from analyzer.cli.limit_args import input_limit_from
from analyzer.cli.tf_args import add_tf_source, is_tf_path, run_tf_export
from analyzer.error_codes import USAGE
from analyzer.errors import InputError
from analyzer.limits import check_opset
from analyzer.safe_write import refuse_overwrite
from analyzer.sources.torch_spec import is_torch_spec
from analyzer.workflows.fix_commands import attach_commands
from analyzer.workflows.torch_export import export_torch

FORMATS = ("text", "json", "md", "html")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("export",
                       help="pre-flight, export (torch.onnx / tf2onnx), then analyze the file",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("source", metavar="SOURCE", help="package.module:factory, or a TensorFlow "
                   "source: SavedModel folder, .pb, .meta, .tflite, .keras, .h5")
    p.add_argument("-o", "--output", required=True, metavar="OUT.onnx",
                   help="where to write the exported model (atomically)")
    p.add_argument("--opset", type=int, default=18, metavar="N", help="opset (default: 18)")
    add_providers(p)
    add_format(p, FORMATS, "--report")
    p.add_argument("--report", metavar="FILE", help="write the report to FILE instead of stdout; "
                   "its suffix (.json, .md, .html) picks the format unless --format says "
                   "otherwise")
    p.add_argument("--fail-on", choices=("error", "warning"), default="error")
    p.add_argument("--force", action="store_true",
                   help="export even when the pre-flight predicts failure")
    p.add_argument("--rewrite", action="store_true",
                   help="apply the rules the pre-flight proposes during the export, then verify "
                   "the file against the source on onnxruntime CPU. PyTorch: module swaps, "
                   "function overrides, translations (in the isolated child too); "
                   "TensorFlow: extra tf2onnx handlers and GraphDef rewrites (docs/tf_rescue.md)")
    p.add_argument("--rules", metavar="ID,...",
                   help="PyTorch: apply these source rules instead of the proposed ones; "
                   "TensorFlow: also apply these approximate rules (e.g. tf:erfinv); "
                   "implies --rewrite")
    add_torch_source(p)
    add_isolation(p)

    add_tf_source(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    args.format = output_format(args.report, args.format, FORMATS, "--report")
    refuse_report_suffix(args.output)
    check_opset(args.opset, "--opset")
    if is_tf_path(args.source):
        tf_report = run_tf_export(args, parse(args.providers))
        attach_commands(tf_report.findings, source=args.source, output=args.output,
                        options=["--opset", str(args.opset)])
        emit(tf_report, argparse.Namespace(format=args.format, output=args.report))
        return 1 if tf_report.fails(args.fail_on) else 0
    if not is_torch_spec(args.source):
        raise InputError(args.source, USAGE, "export takes a PyTorch source as "
                         "package.module:factory, or a TensorFlow source (SavedModel folder, "
                         ".pb, .meta, .tflite, .keras, .h5)")
    providers = parse(args.providers)

    inputs = [args.weights] if args.weights else []
    refuse_overwrite(args.output, inputs)
    if args.report:
        refuse_overwrite(args.report, [*inputs, args.output])
    rules = rule_ids(args.rules, "torch") if args.rules else None
    module, example = load_torch_source(args.source, args.input, args.weights,
                                        input_limit_from(args))
    report = export_torch(module, example, args.output, opset=args.opset,
                          exporter=args.exporter, providers=providers, force=args.force,
                          name=args.source, thorough=args.thorough,
                          isolate=isolation_from(args, args.source), rewrite=args.rewrite,
                          rules=rules)
    attach_commands(report.findings, source=args.source, output=args.output,
                    options=source_options(args, args.opset),
                    onnx_model=args.output if report.extras.get("exported") else None,
                    providers=providers)
    emit(report, argparse.Namespace(format=args.format, output=args.report))
    return 1 if report.fails(args.fail_on) else 0


def parse(text: str) -> list[str]:
    return parse_providers(text)
