"""`onnx-preflight rewrite`: apply rewrite rules to a copy of an ONNX model, verify each rule
numerically (onnxruntime before vs after, onnx.reference when ORT cannot run the original),
roll back any rule whose outputs change, and write the result atomically. The input file is
never modified. With --dry-run, only list what each rule would change and why not.

Rules (docs/rewrites.md): the pass analyzes the model (at --target-opset, for --providers),
applies the exact rules that answer its findings, analyzes again until nothing more is fixable,
then converts to --target-opset. --rules runs only the named rules, on every node they match
(approximate ones run only when named, and report their measured error). The JSON output holds
the RewriteLog and placement and findings before and after.

Exit status: 0 written (or dry run), 2 bad input or usage."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from typing import TYPE_CHECKING

from analyzer.cli.common import (
    add_format,
    add_providers,
    output_format,
    parse_providers,
    refuse_report_suffix,
    write_atomically,
)
from analyzer.error_codes import USAGE
from analyzer.errors import InputError
from analyzer.limits import check_opset
from analyzer.report.html import render_html
from analyzer.report.rewrite_extras import rewrite_block
from analyzer.safe_write import refuse_overwrite
from analyzer.sources.onnx_loader import load_onnx
from analyzer.workflows.onnx_preflight import analyze
from analyzer.workflows.rewrite_pipeline import run_pass

if TYPE_CHECKING:
    import onnx

    from rewrites.passes import RewriteResult


FORMATS = ("text", "json", "html")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("rewrite", help="apply verified rewrite rules to an ONNX model",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", metavar="MODEL.onnx")
    p.add_argument("-o", "--output", metavar="OUT.onnx",
                   help="where to write the rewritten model (required unless --dry-run)")
    p.add_argument("--rules", metavar="ID,...",
                   help="only these rule ids (approximate rules must be named to run)")
    p.add_argument("--dry-run", action="store_true", help="list proposals; write nothing")
    p.add_argument("--target-opset", type=int, metavar="N",
                   help="convert to this ai.onnx opset (up or down), after the rules that "
                   "remove ops it lacks")
    add_format(p, FORMATS, "--report")
    p.add_argument("--report", metavar="FILE",
                   help="write the report (text, json or html: the analysis of the result with "
                   "the rewrite log and the inserted nodes marked in the graph) to FILE instead "
                   "of stdout; its suffix picks the format unless --format says otherwise")
    add_providers(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import onnx


    args.format = output_format(args.report, args.format, FORMATS, "--report")
    refuse_report_suffix(args.output)
    if not args.dry_run and not args.output:
        raise InputError(None, USAGE, "give -o OUT.onnx (or --dry-run)")
    if args.output and not args.dry_run:

        refuse_overwrite(args.output, [args.model])  # also through a symlink or a hard link
    if args.report:
        refuse_overwrite(args.report, [args.model, *([args.output] if args.output else [])])
    loaded = load_onnx(args.model)
    if loaded.external_data:
        raise InputError(args.model, USAGE, "rewriting models with external data is not "
                         "supported yet")
    only = [r.strip() for r in args.rules.split(",") if r.strip()] if args.rules else None
    check_opset(args.target_opset, "--target-opset")
    try:
        passed = run_pass(loaded.model, target_opset=args.target_opset, only=only,
                          dry_run=args.dry_run, providers=parse_providers(args.providers))
    except ValueError as exc:
        raise InputError(None, USAGE, f"--rules: {exc}") from None
    result = passed.result
    if not args.dry_run:
        # Serialized first, then renamed into place: never a partial output file.
        data = result.model.SerializeToString()
        onnx.load_model_from_string(data)  # round-trip sanity before touching the disk
        write_atomically(args.output, data, protect=[args.model])
    log = [dataclasses.asdict(e) for e in result.log]
    if args.format == "html":
        text = _html(args, loaded.model, result)
    elif args.format == "json":
        text = json.dumps({"model": args.model, "output": None if args.dry_run else args.output,
                   "dry_run": args.dry_run, "target_opset": args.target_opset,
                   "verified_with": result.verified_with,
                   "max_abs_error": result.max_abs_error,
                   "output_errors": result.output_errors, "log": log,
                   "rounds": passed.rounds, "placement": passed.placement(),
                   "findings": {"before": [f.to_dict() for f in passed.before.findings],
                                "after": [f.to_dict() for f in passed.after.findings]},
                   "nodes": {"before": passed.before.model.nodes,
                             "after": passed.after.model.nodes}},
                          indent=2) + "\n"
    else:
        lines = []
        for e in result.log:
            change = f" -{'/'.join(e.removed)} +{'/'.join(e.added)}" if e.removed else ""
            error = f" max abs error {e.max_abs_error:.3g}" if e.max_abs_error is not None else ""
            why = f" ({e.reason})" if e.reason else ""
            lines.append(f"{e.status:<12} {e.rule:<18} {e.node}{change}{error}{why}")
        if not result.log:
            lines.append("no rule applies to this model")
        lines += _placement_lines(passed.placement())
        text = "\n".join(lines) + "\n"
    if args.report:
        write_atomically(args.report, text, protect=[args.model])
        print(f"wrote {args.report}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    if not args.dry_run and args.format == "text":
        print(f"wrote {args.output} ({len(result.applied)} rewrite(s) applied)", file=sys.stderr)
    return 0


def _placement_lines(placement: dict[str, dict[str, dict[str, object]]]) -> list[str]:
    """Fallback nodes and partitions per provider, before -> after."""
    lines = []
    for provider, before in placement["before"].items():
        after = placement["after"].get(provider, {})
        fb, fa = list(before.get("fallback_nodes") or ()), list(after.get("fallback_nodes") or ())  # type: ignore[call-overload]
        lines.append(f"placement {provider}: nodes {before.get('predicted_nodes')} -> "
                     f"{after.get('predicted_nodes')}, fallbacks {len(fb)} -> {len(fa)}, "
                     f"partitions {before.get('partitions')} -> {after.get('partitions')}, "
                     f"device copies {before.get('device_copies')} -> "
                     f"{after.get('device_copies')}")
    return lines


def _html(args: argparse.Namespace, original: onnx.ModelProto, result: RewriteResult) -> str:
    """The HTML report of the rewritten model (the input's for --dry-run) with the rewrite log."""

    report = analyze(result.model, providers=parse_providers(args.providers))
    report.model.path = args.model if args.dry_run else args.output
    report.rewrites = rewrite_block(original, result, dry_run=args.dry_run,
                                    output=None if args.dry_run else args.output)
    return render_html(report)
