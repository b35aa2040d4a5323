"""Argument groups shared by the subcommands, and safe output writing."""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from analyzer.errors import InputError


def add_providers(parser: argparse.ArgumentParser, default: str = "cpu") -> None:
    parser.add_argument(
        "--providers",
        default=default,
        help="execution providers in priority order, as ORT takes them: cpu, cuda, dml or full "
        f"names such as CUDAExecutionProvider (default: {default}; ORT appends CPU when absent)",
    )


def parse_providers(text: str) -> list[str]:
    from opsets.tables import normalize_provider

    names = [p.strip() for p in text.split(",") if p.strip()]
    try:
        return [normalize_provider(p) for p in names]
    except ValueError as exc:
        raise InputError(None, "USAGE", f"--providers: {exc}") from None


def add_output(parser: argparse.ArgumentParser, formats: tuple[str, ...]) -> None:
    parser.add_argument("--format", choices=formats, default=formats[0],
                        help=f"report format (default: {formats[0]})")
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="write the report to FILE (written atomically) instead of stdout")


def write_atomically(path: str, text: str) -> None:
    """Write via a temporary file in the same folder and rename: never a partial output file."""
    target = Path(path)
    if target.is_dir():
        raise InputError(path, "OUTPUT_PATH", "output path is a directory")
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(path, "OUTPUT_PATH", f"output folder {folder} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
