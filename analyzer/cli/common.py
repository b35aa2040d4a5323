"""Argument groups shared by the subcommands, the report-file format rule, and safe output
writing."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from analyzer import safe_write
from analyzer.cli.limit_args import add_input_limit
from analyzer.error_codes import USAGE
from analyzer.errors import InputError
from analyzer.runtime.session import resolve_providers
from analyzer.sources.torch_spec import load_torch_source  # noqa: F401 - used by the subcommands
from rewrites.contract import Family, UnknownRule
from rewrites.registry import canonical, named


def source_options(args: argparse.Namespace, opset: int | None) -> list[str]:
    """The export options a suggested `export ... --rewrite` command repeats from this run:
    --opset, and for a PyTorch source --exporter, --input and --weights as given."""
    out = ["--opset", str(opset)] if opset is not None else []
    if getattr(args, "exporter", None):
        out += ["--exporter", args.exporter]
    for spec in getattr(args, "input", None) or []:
        out += ["--input", spec]
    if getattr(args, "weights", None):
        out += ["--weights", args.weights]
    return out


def source_output(source: str) -> str:
    """The -o of a suggested export of `source`: `<factory>.onnx` for package.module:factory,
    `<name>.onnx` for a TensorFlow file or folder, in the current folder."""
    name = source.rsplit(":", 1)[-1] if ":" in source else Path(source.rstrip("/")).stem
    return f"{name or 'model'}.onnx"


def rule_ids(text: str, family: Family) -> list[str]:
    """--rules ID,...: the rules' current ids, checked against `family` before any model is
    loaded (USAGE names the unknown ones, and the command that applies an id of another
    family). An old id is accepted and the new one printed, so that scripts keep working."""
    given = [r.strip() for r in text.split(",") if r.strip()]
    try:
        named(given, family)
    except UnknownRule as exc:
        raise InputError(None, USAGE, f"--rules: {exc}") from None
    ids = [canonical(r) for r in given]
    for old, new in zip(given, ids, strict=True):
        if old != new:
            print(f"note: rule {old} is now {new}", file=sys.stderr)
    return ids


def add_providers(parser: argparse.ArgumentParser, default: str = "cpu") -> None:
    parser.add_argument(
        "--providers",
        default=default,
        help="execution providers in priority order, as ORT takes them: cpu, cuda, dml or full "
        f"names such as CUDAExecutionProvider (default: {default}; ORT appends CPU when absent)",
    )


def parse_providers(text: str) -> list[str]:
    """Full names; USAGE for an unknown one (whether ORT has it is the run's concern)."""
    names = [p.strip() for p in text.split(",") if p.strip()]
    return resolve_providers(names, available=False)


#: report formats a file name implies, for every subcommand's report file
SUFFIX_FORMATS = {".json": "json", ".md": "md", ".markdown": "md", ".html": "html",
                  ".htm": "html", ".txt": "text"}


def add_format(parser: argparse.ArgumentParser, formats: tuple[str, ...],
               file_flag: str = "-o") -> None:
    """--format with no default: `output_format` decides (the report file's suffix, else
    the first format)."""
    parser.add_argument("--format", choices=formats, default=None,
                        help=f"report format (default: from the suffix of {file_flag} FILE, "
                        f".json .md .html, else {formats[0]})")


def add_output(parser: argparse.ArgumentParser, formats: tuple[str, ...]) -> None:
    add_format(parser, formats)
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="write the report to FILE (written atomically) instead of stdout; "
                        "FILE's suffix (.json, .md, .html) picks the format unless --format "
                        "says otherwise")


def output_format(path: str | None, given: str | None, formats: Sequence[str],
                  flag: str = "-o") -> str:
    """The one rule for every subcommand's report file: --format when given; else what FILE's
    suffix says (.json, .md, .html, .txt); else the first of `formats`. A suffix that names
    another format than --format, or one this subcommand cannot write, is USAGE (exit 2):
    `bench m.onnx -o results.json` writes JSON, never a text report named .json."""
    implied = SUFFIX_FORMATS.get(Path(path).suffix.lower()) if path else None
    if implied is not None and implied not in formats:
        raise InputError(None, USAGE, f"{flag} {path}: a .{Path(path or '').suffix[1:]} file "
                         f"means {implied}, which this subcommand does not write (formats: "
                         f"{', '.join(formats)})")
    if given is not None and implied is not None and given != implied:
        raise InputError(None, USAGE, f"{flag} {path} names a {implied} file but --format is "
                         f"{given}; drop one or make them agree")
    return given or implied or formats[0]


def refuse_report_suffix(path: str | None, flag: str = "-o",
                         report_flag: str = "--report") -> None:
    """For subcommands whose -o is the model they write (export, rewrite): a report suffix
    there is a mistake, not a request for a report (USAGE)."""
    implied = SUFFIX_FORMATS.get(Path(path).suffix.lower()) if path else None
    if implied is not None:
        raise InputError(None, USAGE, f"{flag} {path} is where the ONNX model is written, but "
                         f"its suffix names a {implied} report; write the report with "
                         f"{report_flag} FILE")


def write_atomically(path: str, text: str | bytes, protect: Sequence[str] = ()) -> None:
    """Write via a temporary file in the same folder and rename: never a partial output file;
    never onto one of the `protect` files (the command's inputs). See analyzer.safe_write."""

    safe_write.write_atomically(path, text, protect=protect)


def add_torch_source(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "PyTorch source (MODEL given as package.module:factory)",
        "the factory is imported and called with no arguments; it returns an nn.Module or a "
        "(module, example_inputs) pair",
    )
    group.add_argument("--input", action="append", default=[], metavar="NAME:DTYPE[DIMS]",
                       help="an example input, e.g. x:float32[1,3,224,224] (repeat, in forward "
                       "order); seeded random data")
    group.add_argument("--weights", metavar="FILE.pt",
                       help="load this state dict into the module (torch.load with "
                       "weights_only=True: a checkpoint that holds code is refused, never run)")
    group.add_argument("--exporter", choices=("dynamo", "torchscript"), default="dynamo",
                       help="torch.onnx exporter to check (default: dynamo)")
    group.add_argument("--both-exporters", action="store_true",
                       help="also report the lowest opset that works with the other exporter")
    group.add_argument("--thorough", action="store_true",
                       help="dynamo: also run the exporter's own decomposition, translation and "
                       "down-conversion (sees translation-time errors; costs about an export)")
    add_input_limit(group)
