"""The command line that applies each rewrite fix of a report, so that a fix runs as printed.

A finding that says "apply rewrite torch:decompose-hardswish" is only useful if the user can tell
which command applies it: ONNX graph rules run in `onnx-preflight rewrite MODEL.onnx --rules ID
-o OUT.onnx`, PyTorch source rules and TensorFlow conversion rules in `onnx-preflight export
SOURCE -o OUT.onnx --rewrite --rules ID`. The family comes from the one rule namespace
(rewrites.registry.family_of), the paths and options from what the report was made from.
"""

from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Iterable, Sequence
from pathlib import Path

from analyzer.findings import Finding
from rewrites.registry import family_of

__all__ = ["attach_commands", "export_command", "rewrite_command", "rewritten_name"]


def rewritten_name(model: str) -> str:
    """Where a suggested rewrite writes: `<stem>.rewritten.onnx` beside the model."""
    path = Path(model)
    return str(path.with_name(f"{path.stem}.rewritten.onnx"))


def rewrite_command(model: str, rules: Sequence[str], *, target_opset: int | None = None,
                    providers: Sequence[str] = ()) -> str:
    """`onnx-preflight rewrite MODEL --rules IDS -o OUT` (with the analysis's target opset and
    providers, which decide what the rules do)."""
    argv = ["onnx-preflight", "rewrite", model, "--rules", ",".join(rules),
            "-o", rewritten_name(model)]
    if target_opset is not None:
        argv += ["--target-opset", str(target_opset)]
    if providers and list(providers) != ["CPUExecutionProvider"]:
        argv += ["--providers", ",".join(providers)]
    return shlex.join(argv)


def export_command(source: str, rules: Sequence[str], *, output: str,
                   options: Sequence[str] = ()) -> str:
    """`onnx-preflight export SOURCE -o OUT --rewrite --rules IDS` plus the options the source
    needs (--opset, --exporter, --input, --weights, ...), as given."""
    argv = ["onnx-preflight", "export", source, "-o", output, *options, "--rewrite",
            "--rules", ",".join(rules)]
    return shlex.join(argv)


def attach_commands(findings: Iterable[Finding], *, onnx_model: str | None = None,
                    target_opset: int | None = None, providers: Sequence[str] = (),
                    source: str | None = None, output: str | None = None,
                    options: Sequence[str] = ()) -> None:
    """Give every rewrite fix its command, in place: ONNX rules on `onnx_model`, PyTorch and
    TensorFlow rules on `source` (exported to `output`). A fix whose model or source is not
    known keeps no command."""
    for finding in findings:
        for i, fix in enumerate(finding.fixes):
            if fix.kind != "rewrite" or not fix.rule:
                continue
            family = family_of(fix.rule)
            command = None
            if family == "onnx" and onnx_model:
                command = rewrite_command(onnx_model, [fix.rule], target_opset=target_opset,
                                          providers=providers)
            elif family in ("torch", "tf") and source and output:
                command = export_command(source, [fix.rule], output=output, options=options)
            if command is not None:
                finding.fixes[i] = dataclasses.replace(fix, command=command)
