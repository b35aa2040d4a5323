"""`onnx-preflight rewrite`: apply rewrite rules to a copy of an ONNX model, verify each rule
numerically (onnxruntime before vs after, onnx.reference when ORT cannot run the original),
roll back any rule whose outputs change, and write the result atomically. The input file is
never modified. With --dry-run, only list what each rule would change and why not.

Rules (docs/rewrites.md): exact rules run by default; approximate ones only when named.

Exit status: 0 written (or dry run), 2 bad input or usage."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("rewrite", help="apply verified rewrite rules to an ONNX model",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", metavar="MODEL.onnx")
    p.add_argument("-o", "--output", metavar="OUT.onnx",
                   help="where to write the rewritten model (required unless --dry-run)")
    p.add_argument("--rules", metavar="ID,...",
                   help="only these rule ids (approximate rules must be named to run)")
    p.add_argument("--dry-run", action="store_true", help="list proposals; write nothing")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import onnx

    from analyzer.cli.common import write_atomically
    from analyzer.errors import InputError
    from analyzer.sources.onnx_loader import load_onnx
    from rewrites import apply

    if not args.dry_run and not args.output:
        raise InputError(None, "USAGE", "give -o OUT.onnx (or --dry-run)")
    if args.output and not args.dry_run:
        from pathlib import Path

        if Path(args.output).resolve() == Path(args.model).resolve():
            raise InputError(args.output, "OUTPUT_PATH", "refusing to overwrite the input model")
    loaded = load_onnx(args.model)
    if loaded.external_data:
        raise InputError(args.model, "USAGE", "rewriting models with external data is not "
                         "supported yet")
    only = [r.strip() for r in args.rules.split(",") if r.strip()] if args.rules else None
    try:
        result = apply(loaded.model, only=only, dry_run=args.dry_run)
    except ValueError as exc:
        raise InputError(None, "USAGE", f"--rules: {exc}") from None
    if not args.dry_run:
        # Serialized first, then renamed into place: never a partial output file.
        data = result.model.SerializeToString()
        onnx.load_model_from_string(data)  # round-trip sanity before touching the disk
        write_atomically(args.output, data)
    log = [dataclasses.asdict(e) for e in result.log]
    if args.format == "json":
        json.dump({"model": args.model, "output": None if args.dry_run else args.output,
                   "dry_run": args.dry_run, "verified_with": result.verified_with,
                   "max_abs_error": result.max_abs_error, "log": log}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for e in result.log:
            change = f" -{'/'.join(e.removed)} +{'/'.join(e.added)}" if e.removed else ""
            error = f" max abs error {e.max_abs_error:.3g}" if e.max_abs_error is not None else ""
            why = f" ({e.reason})" if e.reason else ""
            print(f"{e.status:<12} {e.rule:<18} {e.node}{change}{error}{why}")
        if not result.log:
            print("no rule applies to this model")
        if not args.dry_run:
            print(f"wrote {args.output} ({len(result.applied)} rewrite(s) applied)",
                  file=sys.stderr)
    return 0

