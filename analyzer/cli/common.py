"""Argument groups shared by the subcommands, and safe output writing."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from analyzer import safe_write
from analyzer.cli.limit_args import add_input_limit
from analyzer.runtime.session import resolve_providers
from analyzer.sources.torch_spec import load_torch_source  # noqa: F401 - used by the subcommands


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


def add_output(parser: argparse.ArgumentParser, formats: tuple[str, ...]) -> None:
    parser.add_argument("--format", choices=formats, default=formats[0],
                        help=f"report format (default: {formats[0]})")
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="write the report to FILE (written atomically) instead of stdout")


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
