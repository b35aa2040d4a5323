"""`onnx-preflight verify`: run MODEL on ONNX Runtime and compare every output with a reference
(seeded random inputs unless --inputs or --test-data give them).

Reference (one of): --source package.module:factory (a torch module fed the same inputs) or
--source PATH (a TensorFlow SavedModel folder, Keras .keras/.h5 file loaded with safe_mode, or
.tflite file, run by TensorFlow on the same inputs),
--reference OTHER.onnx (e.g. the model before a rewrite, run on ORT CPU), --test-data DIR
(test_data_set_N/input_K.pb and output_K.pb), --reference-evaluator (onnx.reference; where it
disagrees with unoptimized onnxruntime and any shipped outputs, the evaluator is reported as the
suspect side, RUN504). With none, expected outputs in --inputs DIR are used if present, else
onnxruntime itself: every --providers entry against the CPU provider with graph optimizations
disabled. With a torch --source (and --weights FILE.pt loaded into it), the module's parameters
and buffers are compared with the model's initializers before the outputs (RUN505 when they
differ).

Default tolerances (rtol / atol): float64 1e-7 / 1e-10, float32 1e-5 / 1e-5 when both sides are
ONNX and 1e-4 / 1e-5 against torch or TensorFlow, float16 1e-2 / 1e-3, bfloat16 5e-2 / 1e-2;
integers, bool and strings exact. Every output shows its margin (worst |a-e| / (atol + rtol|e|))
and that element's error in ulps. -o FILE: the suffix (.json, .html) picks the format.

Exit status: 0 every output within tolerance, 1 a parity failure, 2 bad input or usage."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from analyzer.cli.common import add_output, add_providers, output_format, write_atomically
from analyzer.cli.limit_args import add_input_limit, input_limit_from
from analyzer.cli.session_guard import add_session_guard, guard_sessions
from analyzer.error_codes import USAGE, VERIFY_REFERENCE
from analyzer.errors import InputError
from analyzer.report.html import render_html
from analyzer.runtime.tf_reference import tf_source_kind
from analyzer.runtime.verify import EVALUATOR, merge_into_report, render_text, verify
from analyzer.sources.torch_spec import is_torch_spec, load_factory, parse_input
from analyzer.sources.torch_weights import load_weights
from analyzer.workflows.onnx_preflight import analyze

FORMATS = ("text", "json", "html")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "verify",
        help="numerical parity of ONNX Runtime against a reference",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(p)
    p.set_defaults(run=run)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", metavar="MODEL", help="path to an .onnx file")
    ref = p.add_mutually_exclusive_group()
    ref.add_argument("--source", metavar="SPEC",
                     help="source framework reference: package.module:factory returning a "
                     "torch nn.Module, or a SavedModel folder / .keras / .h5 / .tflite file")
    p.add_argument("--weights", metavar="FILE.pt",
                   help="with --source package.module:factory: load this state dict into the "
                   "module (torch.load with weights_only=True, as export does); the module's "
                   "parameters and buffers are compared with the model's initializers first")
    ref.add_argument("--reference", metavar="OTHER.onnx",
                     help="another ONNX model run on ORT CPU (e.g. before a rewrite)")
    ref.add_argument("--test-data", metavar="DIR",
                     help="onnx test-data layout: inputs and expected outputs")
    ref.add_argument("--reference-evaluator", action="store_true",
                     help="compare with onnx.reference.ReferenceEvaluator")
    add_providers(p)

    add_session_guard(p)
    add_input_limit(p)
    p.add_argument("--samples", type=int, default=3, metavar="N",
                   help="random samples (default: 3)")
    p.add_argument("--seed", type=int, default=0, metavar="S",
                   help="seed of sample 0; sample i uses S+i (default: 0)")
    p.add_argument("--inputs", metavar="DATA",
                   help="user data: an .npz keyed by input name, or a test-data folder")
    p.add_argument("--input", action="append", default=[], metavar="NAME:DTYPE[DIMS]",
                   help="shape of a random input, e.g. x:float32[2,3] (repeat)")
    p.add_argument("--dim", action="append", default=[], metavar="SYM=N",
                   help="value of a symbolic dimension (repeat; default 1, printed)")
    p.add_argument("--rtol", type=float, metavar="R", help="relative tolerance (all outputs)")
    p.add_argument("--atol", type=float, metavar="A", help="absolute tolerance (all outputs)")
    p.add_argument("--localize", action="store_true",
                   help="on failure, name the first node whose output diverges")
    add_output(p, FORMATS)


def _dims(items: Sequence[str]) -> dict[str, int]:
    out = {}
    for item in items:
        sym, sep, value = item.partition("=")
        if not sep or not sym or not value.strip().lstrip("-").isdigit() or int(value) < 0:
            raise InputError(None, USAGE, f"--dim {item!r}: expected SYM=N with N >= 0")
        out[sym.strip()] = int(value)
    return out


def run(args: argparse.Namespace) -> int:
    args.format = output_format(args.output, args.format, FORMATS)
    if args.samples < 1:
        raise InputError(None, USAGE, f"--samples must be at least 1, got {args.samples}")
    for name in ("rtol", "atol"):
        value = getattr(args, name)
        if value is not None and not value >= 0:
            raise InputError(None, USAGE, f"--{name} must be >= 0, got {value}")
    shapes, dtypes = {}, {}
    for text in args.input:
        spec = parse_input(text)
        if spec.name is None:
            raise InputError(None, USAGE, f"--input {text!r}: give the input's name")
        shapes[spec.name], dtypes[spec.name] = spec.shape, spec.dtype
    reference: Any = None
    inputs: Any = args.inputs
    if args.weights and not (args.source and is_torch_spec(args.source)):
        raise InputError(args.weights, USAGE, "--weights needs --source package.module:factory "
                         "(the torch module to load them into)")
    if args.source:
        if is_torch_spec(args.source):
            reference, _ = load_factory(args.source)
            if args.weights:
                load_weights(reference, args.weights)
        else:
            from pathlib import Path


            if tf_source_kind(Path(args.source)) is None:
                raise InputError(args.source, VERIFY_REFERENCE, "--source is neither "
                                 "package.module:factory nor a SavedModel folder, Keras or "
                                 "TFLite file")
            reference = args.source
    elif args.reference:
        reference = args.reference
    elif args.test_data:
        reference = "expected"
        if inputs is not None:
            raise InputError(None, USAGE, "--test-data brings its own inputs; drop --inputs")
        inputs = args.test_data
    elif args.reference_evaluator:
        reference = EVALUATOR
    providers = [p.strip() for p in args.providers.split(",") if p.strip()]

    guard_sessions(args, [args.model, args.reference])
    result = verify(args.model, reference=reference, providers=providers, samples=args.samples,
                    seed=args.seed, inputs=inputs, rtol=args.rtol, atol=args.atol,
                    localize=args.localize, dims=_dims(args.dim), shapes=shapes,
                    dtypes=dtypes, max_input_bytes=input_limit_from(args))
    for note in result.notes:
        if note.startswith("dynamic dim"):
            print(f"onnx-preflight: {note}", file=sys.stderr)
    if args.format == "html":
        text = _html(args.model, providers, result)
    else:
        text = result.to_json() + "\n" if args.format == "json" else render_text(result)
    if args.output:
        write_atomically(args.output, text, protect=[args.model])
        print(f"wrote {args.output} (verdict: {'pass' if result.passed else 'fail'})",
              file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0 if result.passed else 1


def _html(model: str, providers: list[str], result: Any) -> str:
    """The analysis of MODEL for the same providers, with the parity block and its findings."""

    report = analyze(model, providers=providers or ("cpu",))
    merge_into_report(report, result)
    return render_html(report)
