"""TensorFlow sources in `analyze` and `export`: their options and the calls they make.

Kept apart from analyze.py / export.py so that those stay thin: they detect a TF path
(`is_tf_path`, by path shape, without importing tensorflow) and hand over here.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from analyzer.cli.common import rule_ids
from analyzer.cli.limit_args import limits_from
from analyzer.error_codes import USAGE
from analyzer.errors import InputError
from analyzer.sources.tf_io import is_tf_source
from analyzer.workflows.tf_convert import export_tensorflow
from analyzer.workflows.tf_preflight import analyze_tensorflow

if TYPE_CHECKING:
    from analyzer.report.model import Report


def add_tf_source(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "TensorFlow source (SavedModel folder, frozen .pb, checkpoint .meta, .tflite, .keras/.h5)",
        "converted by tf2onnx; the report lists the input and output tensor names it needs")
    group.add_argument("--signature", metavar="KEY",
                       help="SavedModel signature (default: serving_default, or the only one)")
    group.add_argument("--inputs", metavar="a:0,b:0",
                       help="input tensor names as tf2onnx takes them (GraphDef, checkpoint)")
    group.add_argument("--outputs", metavar="y:0",
                       help="output tensor names as tf2onnx takes them (GraphDef, checkpoint)")
    group.add_argument("--extra-opset", action="append", default=[], metavar="DOMAIN",
                       help="a custom domain tf2onnx may use, e.g. ai.onnx.contrib (repeat)")


def is_tf_path(text: str) -> bool:
    return is_tf_source(text)


def run_tf_analyze(args: argparse.Namespace, providers: list[str]) -> Report:
    """`analyze PATH` for a TF source: the pre-flight report."""

    if getattr(args, "load_check", False):
        raise InputError(args.model, USAGE, "--load-check takes an .onnx file")
    max_file_bytes = max_nodes = None
    if hasattr(args, "max_nodes"):
        found = limits_from(args)
        max_file_bytes, max_nodes = found["max_file_bytes"], found["max_nodes"]
    return analyze_tensorflow(args.model, opset=args.opset, signature=args.signature,
                              inputs=args.inputs, outputs=args.outputs, providers=providers,
                              extra_opsets=tuple(args.extra_opset),
                              max_file_bytes=max_file_bytes, max_nodes=max_nodes)


def run_tf_export(args: argparse.Namespace, providers: list[str]) -> Report:
    """`export PATH -o OUT.onnx` for a TF source: pre-flight, tf2onnx, ONNX analysis."""

    text = getattr(args, "rules", None) or ""
    named = rule_ids(text, "tf") if text.strip() else []
    rewrite = bool(getattr(args, "rewrite", False)) or bool(named)
    return export_tensorflow(args.source, args.output, opset=args.opset,
                             signature=args.signature, inputs=args.inputs,
                             outputs=args.outputs, providers=providers,
                             extra_opsets=tuple(args.extra_opset), force=args.force,
                             rewrite=rewrite, rules=named)
