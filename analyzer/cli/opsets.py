"""`onnx-preflight opsets OP`: what the support tables say about one op: its schema versions
(deprecated, function bodies), each provider's kernel version ranges with their types, and
what is missing (versions without a kernel, types the schema allows that a provider lacks).

With no OP, lists the tables and where their data comes from."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from analyzer.error_codes import UNKNOWN_OP
from analyzer.errors import InputError
from analyzer.limits import check_opset
from opsets.query import describe_op, short_type
from opsets.tables import load_kernels, load_schemas, short_provider


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("opsets", help="query the ONNX schema and ORT kernel tables",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("op", nargs="?", metavar="OP", help="operator name, e.g. LayerNormalization")
    p.add_argument("--domain", default="", help="operator domain (default: ai.onnx)")
    p.add_argument("--opset", type=int, metavar="N",
                   help="resolve the op at opset N (default: its newest version)")
    p.add_argument("--provider", action="append", metavar="P",
                   help="only this provider (cpu, cuda, dml; repeatable; default: all)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(run=run)



def _types(tc: dict[str, tuple[str, ...]]) -> str:
    return "; ".join(f"{k}: {', '.join(short_type(t) for t in v)}" for k, v in tc.items()) or "any"


def run(args: argparse.Namespace) -> int:
    check_opset(args.opset, "--opset")
    if args.op is None:
        return _list_tables(load_schemas(), load_kernels(), args.format)
    try:
        info = describe_op(args.op, args.domain, args.opset, args.provider)
    except (LookupError, ValueError) as exc:
        raise InputError(None, UNKNOWN_OP, str(exc).strip("'\"")) from None
    if args.format == "json":
        json.dump(_to_json(info), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    from rich.console import Console
    from rich.table import Table

    console = Console()
    title = f"{info.domain + '.' if info.domain else ''}{info.op}"
    versions = ", ".join(
        f"{v.since_version}{' (deprecated)' if v.deprecated else ''}"
        f"{' (function)' if v.has_function or v.has_context_dependent_function else ''}"
        for v in info.versions
    )
    console.print(f"[bold]{title}[/bold]  since versions: {versions or 'none (kernels only)'}")
    if info.resolved is not None:
        at = f"at opset {info.opset}" if info.opset else "newest"
        console.print(f"resolved ({at}): {info.op}-{info.resolved.since_version}  types: "
                      f"{_types(info.resolved.type_constraints)}")
    if info.note:
        console.print(f"[yellow]{info.note}[/yellow]")
    table = Table(show_edge=False)
    for col in ("provider", "kernel versions", "types", "missing"):
        table.add_column(col)
    for p, s in info.providers.items():
        missing = []
        if s.resolved_has_kernel is False:
            missing.append(f"no kernel for version {info.resolved.since_version}"  # type: ignore[union-attr]
                           )
        if s.missing_types:
            missing.append("types " + _types(s.missing_types))
        if s.versions_without_kernel:
            missing.append("versions " + ", ".join(map(str, s.versions_without_kernel)))
        if not s.ranges:
            expands = info.resolved is not None and (
                info.resolved.has_function or info.resolved.has_context_dependent_function)
            table.add_row(short_provider(p), "[red]none[/red]", "",
                          "no kernel; ORT inlines the function body" if expands
                          else "no kernel at all")
            continue
        for i, r in enumerate(s.ranges):
            table.add_row(short_provider(p) if i == 0 else "", r.range_str(),
                          _types(r.type_constraints), "; ".join(missing) if i == 0 else "")
    console.print(table)
    sources = {f"{short_provider(p)}: {s.provenance.source}" for p, s in info.providers.items()}
    console.print("[dim]" + " | ".join(sorted(sources)) + "[/dim]")
    return 0


def _to_json(info: Any) -> dict[str, Any]:
    return {
        "op": info.op,
        "domain": info.domain,
        "opset": info.opset,
        "resolved": info.resolved.since_version if info.resolved else None,
        "versions": [vars(v) for v in info.versions],
        "note": info.note,
        "providers": {
            p: {
                "source": s.provenance.source,
                "ranges": [{"start": r.start, "end": r.end, "types": r.type_constraints}
                           for r in s.ranges],
                "versions_without_kernel": list(s.versions_without_kernel),
                "resolved_has_kernel": s.resolved_has_kernel,
                "missing_types": s.missing_types,
            }
            for p, s in info.providers.items()
        },
    }


def _list_tables(schemas: Any, kernels: Any, fmt: str) -> int:
    rows = []
    for d in schemas.domains():
        prov = schemas.domain_provenance(d)
        rows.append((f"schemas {d or 'ai.onnx'}", len(schemas.ops(d)),
                     f"{prov.library} {prov.version}" if prov else ""))
    for p in kernels.providers():
        prov = kernels.provenance(p)
        n = sum(len(kernels.ops(p, d)) for d in kernels.domains(p))
        rows.append((f"kernels {short_provider(p)}", n, prov.source))
    if fmt == "json":
        json.dump([{"table": t, "ops": n, "source": s} for t, n, s in rows], sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    for t, n, s in rows:
        print(f"{t:<40} {n:>5} ops  {s}")
    return 0
