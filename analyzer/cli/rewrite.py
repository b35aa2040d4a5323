"""`onnx-preflight rewrite`: apply rewrite rules to a copy of an ONNX model, verify each rule
numerically (onnxruntime before vs after, onnx.reference when ORT cannot run the original),
roll back any rule whose outputs change, and write the result atomically. The input file is
never modified. With --dry-run, only list what each rule would change and why not.

Rules (docs/rewrites.md): the pass analyzes the model (at --target-opset, for --providers),
applies the exact rules that answer its findings, analyzes again until nothing more is fixable,
then converts to --target-opset. --rules runs only the named rules, on every node they match
(approximate ones run only when named, and report their measured error). The JSON output holds
the RewriteLog and placement and findings before and after.

Output: the text report on stdout: the opset before and after, one line per rule (nodes changed,
worst measured error, its most frequent reason), the nodes that block --target-opset, and the
placement per provider before and after; -v adds the log's line per node. -o OUT.onnx is the
rewritten model and --report FILE the report, as in `export` (the suffix picks the format).

--target-opset N is a promise or a failure: when the result is not at N (read back from the
file), no model is written unless --force, and the report names every node that blocks, its op
and version, and why (no lower form exists / no adapter yet / a rule declined).

External data: a model whose weights sit beside it (`model.onnx.data`, what the torch dynamo
exporter writes) is read with the loader's location checks (no traversal, no absolute path, no
symlink or hard link out of the model's folder). --external-data auto (default) keeps the output's
weights external when the input's were or when the model would pass protobuf's 2 GiB limit;
always / never force it. The weights go to OUT.onnx.data beside the output only; model and data
are staged under temporary names, read back (onnx.checker on the path, each external tensor
within its file), then renamed into place: never a partial pair, never over an input file. The
large weights are not held in memory: they stay in the input's data file (onnxruntime reads them
there to verify each step) and are copied from it into OUT.onnx.data a chunk at a time.

Exit status: 0 written at the target opset (or a dry run), 1 the target opset was not reached
(no model written unless --force), 2 bad input or usage."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import onnx
import onnx.defs

from analyzer.cli.common import (
    add_format,
    add_providers,
    output_format,
    parse_providers,
    refuse_report_suffix,
    rule_ids,
    write_atomically,
)
from analyzer.error_codes import USAGE
from analyzer.errors import InputError
from analyzer.limits import check_opset
from analyzer.onnx_weights import EXTERNAL_DATA_MODES, load_with_weights, write_model
from analyzer.report.html import render_html
from analyzer.report.rewrite_extras import rewrite_block
from analyzer.safe_write import refuse_overwrite
from analyzer.workflows.onnx_preflight import analyze
from analyzer.workflows.rewrite_pipeline import PassReport, rule_summaries, run_pass
from rewrites.contract import UnknownRule
from rewrites.onnx.target_check import delivered_opset

if TYPE_CHECKING:
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
    p.add_argument("--force", action="store_true",
                   help="write the model even when --target-opset is not reached (exit 1 still)")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="also list what each rule did to each node")
    p.add_argument("--external-data", choices=EXTERNAL_DATA_MODES, default="auto",
                   help="write the output's weights to OUT.onnx.data: auto (default) when the "
                   "input kept them external or the model passes protobuf's 2 GiB limit, "
                   "always, or never (inline)")
    add_providers(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    args.format = output_format(args.report, args.format, FORMATS, "--report")
    refuse_report_suffix(args.output)
    if not args.dry_run and not args.output:
        raise InputError(None, USAGE, "give -o OUT.onnx (or --dry-run)")
    if args.output and not args.dry_run:
        refuse_overwrite(args.output, [args.model])  # also through a symlink or a hard link
    if args.report:
        refuse_overwrite(args.report, [args.model, *([args.output] if args.output else [])])
    # locations checked before any weight is read; the large ones stay in the input's data file
    # (read when verified, streamed to the output's): docs/rewrites.md#peak-memory-with-external-
    # weights. Dry runs and html reports keep the model whole (nothing is written from it).
    loaded = load_with_weights(args.model, defer_weights=not args.dry_run)
    inputs = [args.model, *loaded.data_files]
    if args.output and not args.dry_run:
        # nor the input's data files, nor (when it may be written) the output's OUT.onnx.data
        refuse_overwrite(args.output, inputs)
        if args.external_data != "never":
            refuse_overwrite(f"{args.output}.data", inputs)
    if args.report:
        refuse_overwrite(args.report, inputs)
    only = rule_ids(args.rules, "onnx") if args.rules else None
    check_opset(args.target_opset, "--target-opset")
    try:
        passed = run_pass(loaded.model, target_opset=args.target_opset, only=only,
                          dry_run=args.dry_run, providers=parse_providers(args.providers),
                          force=True, consume=args.format != "html")  # html shows the input
    except UnknownRule as exc:
        raise InputError(None, USAGE, f"--rules: {exc}") from None
    result = passed.result
    written = None
    data_file = None
    if not args.dry_run and (passed.reached or args.force):
        # staged under temporary names, read back, then renamed: never a partial output pair
        data_file = write_model(result.model, args.output, external_data=args.external_data,
                               input_external=loaded.external, protect=inputs)
        written = args.output
        # what was delivered is read back from the file, never assumed from what was asked
        passed.delivered_opset = delivered_opset(onnx.load(args.output,
                                                           load_external_data=False))
    if args.format == "html":
        text = _html(args, loaded.model, result)
    elif args.format == "json":
        text = json.dumps(_json(args, passed, written, data_file), indent=2) + "\n"
    else:
        text = "\n".join(_text(args, passed)) + "\n"
    if args.report:
        write_atomically(args.report, text, protect=inputs)
        print(f"wrote {args.report}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    if args.dry_run:
        return 0
    if written and args.format == "text":
        changed = len([e for e in result.applied if e.node != "model"])
        weights = f" (weights in {data_file})" if data_file is not None else ""
        print(f"wrote {written}{weights} at opset {passed.delivered_opset} "
              f"({changed} node rewrite(s) applied)", file=sys.stderr)
    if not passed.reached:
        if not written:
            print(f"no model written: target opset {args.target_opset} not reached "
                  f"({len(passed.blockers)} blocker(s)); --force writes it at opset "
                  f"{passed.delivered_opset}", file=sys.stderr)
        return 1
    return 0


def _json(args: argparse.Namespace, passed: PassReport, written: str | None,
          data_file: Path | None) -> dict[str, Any]:
    result = passed.result
    return {"model": args.model, "output": written,
            "external_data": str(data_file) if data_file is not None else None,
            "dry_run": args.dry_run,
            "target_opset": args.target_opset,
            "opset": {"before": passed.opset_before, "after": passed.delivered_opset,
                      "target": args.target_opset, "reached": passed.reached},
            "blockers": [b.to_dict() for b in passed.blockers],
            "rules": [s.to_dict() for s in rule_summaries(result.log)],
            "verified_with": result.verified_with,
            "max_abs_error": result.max_abs_error,
            "output_errors": result.output_errors,
            "log": [dataclasses.asdict(e) for e in result.log],
            "rounds": passed.rounds, "placement": passed.placement(),
            "findings": {"before": [f.to_dict() for f in passed.before.findings],
                         "after": [f.to_dict() for f in passed.after.findings]},
            "nodes": {"before": passed.before.model.nodes,
                      "after": passed.after.model.nodes}}


def _text(args: argparse.Namespace, passed: PassReport) -> list[str]:
    """One line per rule, the opset before and after, the blockers, the placement before and
    after; with -v the log's line per node too."""
    result = passed.result
    target = f" (target {args.target_opset}" + (
        "" if args.dry_run else ", reached" if passed.reached else ", NOT reached") + ")" \
        if args.target_opset is not None else ""
    after = "unchanged (dry run)" if args.dry_run else passed.delivered_opset
    lines = [f"opset {passed.opset_before} -> {after}{target}"]
    for s in rule_summaries(result.log):
        counts = ", ".join(f"{n} {label}" for n, label in (
            (s.applied, "changed"), (s.proposed, "proposed"), (s.skipped, "skipped"),
            (s.rolled_back, "rolled back")) if n)
        if s.change:  # a whole-model pass: what it did, not a node count
            counts = ", ".join(label for n, label in (
                (s.applied, "applied"), (s.proposed, "proposed"), (s.skipped, "skipped"),
                (s.rolled_back, "rolled back")) if n)
        unit = "model" if s.change else "node(s)"
        change = f" [{s.change}]" if s.change else ""
        error = f", worst error abs {s.max_abs_error:.3g}" if s.max_abs_error is not None else ""
        if s.max_rel_error is not None and s.max_abs_error is not None:
            error += f" rel {s.max_rel_error:.3g}"
        why = ""
        if s.reason:
            more = f" ({s.reason_count} node(s))" if s.reason_count > 1 else ""
            why = f"; {s.reason}{more}"
        lines.append(f"{s.rule:<28} {unit} {counts}{change}{error}{why}")
    if not result.log:
        lines.append("no rule applies to this model")
    if passed.blockers:
        lines.append(f"target opset {args.target_opset} not reached: {len(passed.blockers)} "
                     "node(s) block it")
        lines += [f"  {b.line()}" for b in passed.blockers]
    lines += _placement_lines(passed.placement())
    if args.verbose:
        lines.append("nodes:")
        for e in result.log:
            change = f" -{'/'.join(e.removed)} +{'/'.join(e.added)}" if e.removed else ""
            error = f" max abs error {e.max_abs_error:.3g}" if e.max_abs_error is not None else ""
            why = f" ({e.reason})" if e.reason else ""
            lines.append(f"  {e.status:<12} {e.rule:<28} {e.node}{change}{error}{why}")
    return lines


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
