"""What the real torch.onnx exporters do with the torch corpus, model x exporter x opset.

Every model of tests/fixtures/torch_corpus.py is exported with ``torch.onnx.export(dynamo=True)``
and ``torch.onnx.export(dynamo=False)`` at each opset, each export in a child process with a time
limit (tests/fixtures/torch_export_harness.py), and the file, if one is written, is checked: the
default-domain opset it carries, ``onnx.checker`` (full check) and an onnxruntime CPU session.

    .venv/bin/python benchmarks/torch_export_reality.py [--jobs 2] [--no-cache] [--direct]
        [--models NAME ...] [--exporters dynamo torchscript] [--opsets 9 11 13 14 17 18 20]
        [--json OUT] [--verify-shortcut]

prints one row per model and one cell per (exporter, opset), then totals per exporter and opset,
the failures grouped by model and exporter, and the wall time. Outcomes are cached under
.pytest_cache/onnx-preflight-reality/ (keyed by the torch, onnx, onnxscript and onnxruntime
versions and the corpus and harness sources); ``--no-cache`` measures again. ``--direct`` runs
one ``torch.onnx.export`` per dynamo cell instead of exporting once and converting per opset.
``--verify-shortcut`` also exports every model both ways at every opset <= 18 and compares the
files.
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.fixtures.torch_corpus import CORPUS, CorpusModel  # noqa: E402
from tests.fixtures.torch_export_harness import (  # noqa: E402
    EXPORTERS,
    OPSETS,
    TORCHLIB_OPSET,
    Exporter,
    ExportOutcome,
    cache_path,
    run_all,
    verify_shortcut,
)

SHORT = {
    "unsupported_op": "unsup",
    "needs_opset": "need",
    "data_dependent": "data",
    "dynamic_shapes": "dyn",
    "unsupported_io": "io",
    "torch_export_failed": "export",
    "conversion_failed": "conv",
    "trace_failed": "trace",
    "timeout": "TIME",
    "crashed": "CRASH",
    "other": "other",
}
LEGEND = (
    "cells: ok = a file at the requested opset; >18 = a file, but at opset 18 (version conversion"
    " failed);\n"
    "       unsup = unsupported op, needNN = TorchScript needs opset NN, data = data-dependent,"
    " dyn = dynamic-shape conflict,\n"
    "       io = input/output types or kwargs, export = other torch.export failure,"
    " conv = other ONNX conversion failure,\n"
    "       trace = TorchScript tracing raised, TIME/CRASH = the child timed out/died;"
    " suffix ! = onnxruntime cannot load the file,\n"
    "       ? = onnx.checker (full check) rejects it"
)


def cell(o: ExportOutcome) -> str:
    if o.ok:
        text = "ok"
    elif o.error_class == "version_conversion_failed":
        text = f">{o.delivered_opset}"
    elif o.error_class == "needs_opset":
        text = f"need{o.needs_opset}"
    else:
        text = SHORT.get(o.error_class or "other", "other")
    if o.produced and o.ort_loads is False:
        text += "!"
    if o.produced and o.onnx_checker_ok is False:
        text += "?"
    return text


def print_table(
    models: list[CorpusModel],
    exporters: list[Exporter],
    opsets: list[int],
    outcomes: dict[tuple[str, str, int], ExportOutcome],
) -> None:
    width = max(len(m.name) for m in models) + 1
    cw = 7
    head1 = " " * width + "".join(f"| {e:<{cw * len(opsets) - 1}}" for e in exporters)
    head2 = f"{'model':<{width}}" + "".join(
        "| " + "".join(f"{n:<{cw}}" for n in opsets)[:-1] for _ in exporters
    )
    print(head1)
    print(head2)
    print("-" * len(head2))
    for m in models:
        row = f"{m.name:<{width}}"
        for e in exporters:
            row += "| " + "".join(f"{cell(outcomes[m.name, e, n]):<{cw}}" for n in opsets)[:-1]
        print(row)
    print(LEGEND)


def print_totals(exporters: list[Exporter], opsets: list[int], outs: list[ExportOutcome]) -> None:
    print("\ntotals: ok / cells, then the error classes of the others")
    for e in exporters:
        for n in opsets:
            cell_outs = [o for o in outs if o.exporter == e and o.opset == n]
            ok = sum(o.ok for o in cell_outs)
            classes = collections.Counter(o.error_class for o in cell_outs if not o.ok)
            detail = ", ".join(f"{k} {v}" for k, v in classes.most_common())
            print(f"  {e:<11} opset {n:>2}: {ok:>3} / {len(cell_outs):<3} {detail}")
    for e in exporters:
        eo = [o for o in outs if o.exporter == e]
        produced = sum(o.produced for o in eo)
        ort = sum(bool(o.ort_loads) for o in eo)
        checker = sum(bool(o.onnx_checker_ok) for o in eo)
        tracer = sum(bool(o.tracer_warnings()) for o in eo)
        print(
            f"  {e}: {sum(o.ok for o in eo)} ok of {len(eo)}; {produced} files written, "
            f"{ort} load in onnxruntime, {checker} pass onnx.checker; "
            f"{tracer} with a TracerWarning"
        )


def print_failures(
    models: list[CorpusModel], exporters: list[Exporter], outs: list[ExportOutcome]
) -> None:
    print("\nfailures by model and exporter (opsets; class; first line of the error)")
    by: dict[tuple[str, str], list[ExportOutcome]] = collections.defaultdict(list)
    for o in outs:
        if not o.ok:
            by[o.model, o.exporter].append(o)
    for m in models:
        for e in exporters:
            fails = by.get((m.name, e))
            if not fails:
                continue
            groups: dict[tuple[str | None, str | None], list[int]] = collections.defaultdict(list)
            for o in fails:
                line = o.error_first_line
                if o.error_class == "version_conversion_failed":
                    line = o.version_conversion_error or line
                if o.unsupported_ops:
                    line = f"[{', '.join(o.unsupported_ops)}] {line}"
                # one group for "... to ONNX opset version 9/11/13 is not supported"
                key = re.sub(r"(to ONNX opset version|in opset) \d+", r"\1 N", line or "")
                # "RuntimeError: /project/onnx/...h:66: adapter_lookup: Assertion `...` failed: X"
                key = re.sub(r"^RuntimeError: \S+:\d+: \w+: Assertion `.*?` failed: ", "", key)
                groups[o.error_class, key].append(o.opset)
            for (klass, line), ns in groups.items():
                text = (line or "")[:150]
                print(f"  {m.name:<27} {e:<11} {','.join(map(str, ns)):<20} {klass}: {text}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per export")
    ap.add_argument("--no-cache", action="store_true")
    ap.add_argument("--direct", action="store_true", help="no export-once-then-convert shortcut")
    ap.add_argument("--models", nargs="*", help="corpus model names (default: all)")
    ap.add_argument("--exporters", nargs="*", choices=EXPORTERS, default=list(EXPORTERS))
    ap.add_argument("--opsets", nargs="*", type=int, default=list(OPSETS))
    ap.add_argument("--json", type=Path, help="write every outcome to this JSON file")
    ap.add_argument("--verify-shortcut", action="store_true")
    args = ap.parse_args(argv)

    models = [m for m in CORPUS if not args.models or m.name in args.models]
    if args.models and len(models) != len(set(args.models)):
        known = {m.name for m in CORPUS}
        ap.error(f"unknown models: {sorted(set(args.models) - known)}")
    exporters: list[Exporter] = list(args.exporters)
    opsets: list[int] = list(args.opsets)

    start = time.perf_counter()
    outs = run_all(
        models,
        exporters,
        opsets,
        jobs=args.jobs,
        timeout_s=args.timeout,
        shortcut=not args.direct,
        use_cache=not args.no_cache,
        progress=True,
    )
    wall = time.perf_counter() - start
    outcomes = {(o.model, o.exporter, o.opset): o for o in outs}
    print_table(models, exporters, opsets, outcomes)
    print_totals(exporters, opsets, outs)
    print_failures(models, exporters, outs)
    methods = collections.Counter(o.method for o in outs)
    print(
        f"\n{len(outs)} outcomes ({dict(methods)}) in {wall:.1f} s wall, jobs={args.jobs};"
        f" cache: {cache_path()}"
    )
    if args.json:
        args.json.write_text(json.dumps([o.to_json() for o in outs], indent=1))

    if args.verify_shortcut:
        pairs = [(m, n) for m in models for n in opsets if n <= TORCHLIB_OPSET]
        vstart = time.perf_counter()
        checks = verify_shortcut(pairs, jobs=args.jobs, timeout_s=args.timeout)
        produced = [c for c in checks if c.produced]
        same = sum(c.same_bytes for c in produced)
        same_anon = sum(c.same_but_node_names for c in produced)
        same_outcome = sum(c.same_outcome for c in checks)
        print(
            f"\nshortcut check, {len(checks)} (model, opset) pairs: {same_outcome} have the same"
            f" outcome; of the {len(produced)} that write a file, {same} are byte-identical and"
            f" {same_anon} identical but for node names ({time.perf_counter() - vstart:.1f} s)"
        )
        for c in checks:
            if not (c.same_but_node_names and c.same_outcome):
                print(f"  differs: {c.model} opset {c.opset}: {c.direct} vs {c.shortcut}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
