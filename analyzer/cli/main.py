"""The `onnx-preflight` command: one subcommand per module; each parses, calls the API, renders.

Nothing here imports torch or tensorflow; subcommands import what they need when they run."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from analyzer.cli import analyze, bench, demo, export, opsets, rewrite, scan, verify
from analyzer.environment import tool_version
from analyzer.errors import InputError

DESCRIPTION = """\
Pre-flight checks for models going to ONNX: PyTorch and TensorFlow / TFLite / Keras sources
against the exporters' and tf2onnx's coverage per opset; ONNX models against the operator
schemas and ONNX Runtime's kernels per execution provider (CPU, CUDA), with predicted placement
and CPU fallbacks; verified rewrites, parity and latency.

examples:
  onnx-preflight analyze model.onnx --providers cuda,cpu
  onnx-preflight analyze model.onnx --format json -o report.json --fail-on warning
  onnx-preflight analyze models/ --jobs 4 --load-check          (batch: a folder or a glob)
  onnx-preflight analyze mypkg.models:build --input x:float32[1,3,224,224] --opset 13
  onnx-preflight analyze saved_model_dir/ --opset 13             (also .pb .meta .tflite .keras)
  onnx-preflight export mypkg.models:build --input x:float32[1,3,224,224] -o model.onnx
  onnx-preflight export model.keras -o model.onnx --opset 11 --rewrite
  onnx-preflight rewrite model.onnx -o lowered.onnx --target-opset 13 --providers cuda,cpu
  onnx-preflight rewrite model.onnx -o rewritten.onnx --dry-run
  onnx-preflight verify model.onnx --source mypkg.models:build --localize
  onnx-preflight analyze model.onnx --format html -o report.html
  onnx-preflight bench model.onnx --providers cuda,cpu --compare rewritten.onnx
  onnx-preflight opsets LayerNormalization --opset 17 --provider cuda
  onnx-preflight scan models/ mypkg.models:build --input x:float32[1,3,224,224] \
      --opsets 13,17,18 --exporters dynamo,torchscript -o scan/   (a zoo's matrix)
  onnx-preflight demo

exit status: 0 pass/warn, 1 verdict fail, 2 bad input or usage, 3 internal error"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="onnx-preflight", description=DESCRIPTION,
                     formatter_class=argparse.RawDescriptionHelpFormatter)

    parser.add_argument("--version", action="version", version=f"%(prog)s {tool_version()}")
    parser.add_argument("--debug", action="store_true",
                        help="show the Python traceback of internal errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    analyze.register(sub)
    export.register(sub)
    rewrite.register(sub)
    verify.register(sub)
    bench.register(sub)
    opsets.register(sub)
    scan.register(sub)
    demo.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    try:
        return int(args.run(args))
    except InputError as exc:
        print(f"onnx-preflight: error: {exc.one_line()}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("onnx-preflight: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - one line, never a traceback, unless --debug
        if args.debug:
            raise
        target = getattr(args, "model", None) or getattr(args, "op", None) or ""
        where = f" on {target}" if target else ""
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        print(f"onnx-preflight: internal error{where}: {type(exc).__name__}: {first} "
              "(rerun with --debug for the traceback)", file=sys.stderr)
        return 3


if __name__ == "__main__":
    raise SystemExit(main())
