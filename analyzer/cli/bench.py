"""`onnx-preflight bench`: latency of an ONNX model on ONNX Runtime, per execution provider.

Session creation, first run, warm-up, then timed runs (min / p50 / p90 / p99 / mean / stdev,
throughput); on CUDA, IO binding with device-resident buffers and the copy cost apart. The
placement ORT really chose is set beside the analyzer's prediction. --compare runs a second
model alternately with the first and reports the p50 ratio (b / a) with a 95% interval.

Exit status: 0 measured, 2 for bad input or usage (including a provider this onnxruntime
build lacks)."""

from __future__ import annotations

import argparse
import sys

from analyzer.cli.common import (
    add_output,
    add_providers,
    output_format,
    parse_providers,
    write_atomically,
)
from analyzer.cli.limit_args import add_input_limit, input_limit_from
from analyzer.cli.session_guard import add_session_guard, guard_sessions
from analyzer.runtime.bench import BenchResult, bench
from analyzer.safe_write import refuse_overwrite

FORMATS = ("text", "json")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "bench",
        help="latency of an ONNX model per execution provider",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model", metavar="MODEL", help="path to an .onnx file")
    add_providers(p)

    add_session_guard(p)
    p.add_argument("--warmup", type=int, default=10, metavar="N",
                   help="untimed runs after the first run (default: 10)")
    count = p.add_mutually_exclusive_group()
    count.add_argument("--iterations", type=int, default=100, metavar="N",
                       help="timed runs per provider (default: 100)")
    count.add_argument("--duration", type=float, metavar="S",
                       help="time runs for S seconds per provider instead of a fixed count")
    p.add_argument("--threads", type=int, metavar="T",
                   help="intra-op threads (default: ORT's, one per physical core)")
    p.add_argument("--compare", metavar="OTHER.onnx",
                   help="run OTHER alternately with MODEL and report p50(OTHER) / p50(MODEL)")
    p.add_argument("--inputs", metavar="DATA.npz",
                   help="input arrays by name (default: seeded random, dynamic dims set to 1)")
    p.add_argument("--seed", type=int, default=0, help="seed of the generated inputs")
    add_input_limit(p)
    p.add_argument("--plot", metavar="PNG", help="write a latency box plot (needs matplotlib)")
    p.add_argument("--no-placement", action="store_true",
                   help="skip the predicted vs actual placement check")
    add_output(p, FORMATS)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    args.format = output_format(args.output, args.format, FORMATS)
    inputs = [p for p in (args.model, args.compare, args.inputs) if p]
    if args.plot:
        refuse_overwrite(args.plot, inputs)

    guard_sessions(args, [args.model, args.compare])
    result = bench(
        args.model,
        providers=parse_providers(args.providers),
        warmup=args.warmup,
        iterations=args.iterations,
        duration=args.duration,
        threads=args.threads,
        compare=args.compare,
        inputs=args.inputs,
        seed=args.seed,
        placement=not args.no_placement,
        plot=args.plot,
        max_input_bytes=input_limit_from(args),
    )
    text = result.to_json() + "\n" if args.format == "json" else render_text(result)
    if args.output:
        write_atomically(args.output, text, protect=inputs)
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    if result.plot_note:
        print(f"onnx-preflight: {result.plot_note}", file=sys.stderr)
    return 0


def render_text(result: object) -> str:
    """A plain table per run, then comparisons, placement and notes."""

    assert isinstance(result, BenchResult)
    env = result.environment
    lines = [f"bench {result.model}: onnxruntime {env.get('onnxruntime')} on "
             f"{env.get('cpu_model') or 'unknown CPU'} ({env.get('cpu_count')} cores)"]
    head = (f"{'provider':<10} {'model':<20} {'create':>9} {'first':>9} {'min':>9} {'p50':>9} "
            f"{'p90':>9} {'p99':>9} {'mean':>9} {'stdev':>9} {'runs/s':>10} {'n':>6}")
    lines += ["", "latency in ms", head]
    for r in result.runs:
        s = r.stats
        lines.append(
            f"{r.provider.replace('ExecutionProvider', ''):<10} {r.model[:20]:<20} "
            f"{r.session_create_ms:9.3f} {r.first_run_ms:9.3f} {s.min_ms:9.4f} {s.p50_ms:9.4f} "
            f"{s.p90_ms:9.4f} {s.p99_ms:9.4f} {s.mean_ms:9.4f} {s.stdev_ms:9.4f} "
            f"{s.throughput_per_s:10.1f} {s.count:6d}")
        t = r.settings
        lines.append(f"{'':<10} threads intra={t.intra_op_threads} inter={t.inter_op_threads} "
                     f"(0 = ORT default), {t.graph_optimization_level}, {t.execution_mode}"
                     + (", IO binding" if t.io_binding else ""))
        if r.copy:
            lines.append(f"{'':<10} copies: host->device {r.copy.host_to_device_ms:.4f} ms "
                         f"({r.copy.input_bytes} B), device->host "
                         f"{r.copy.device_to_host_ms:.4f} ms ({r.copy.output_bytes} B)")
    for c in result.comparisons:
        e = c.p50_ratio
        lines.append(f"\n{c.provider.replace('ExecutionProvider', '')}: p50 {c.model_b} / "
                     f"{c.model_a} = {e.ratio:.3f} (95% CI {e.ci_low:.3f} to {e.ci_high:.3f})"
                     + ("" if c.same_inputs else ", different inputs"))
    if result.placement:
        pl = result.placement
        if pl.error:
            lines.append(f"\nplacement: {pl.error}")
        elif pl.agrees:
            lines.append("\nplacement: actual matches the prediction")
        else:
            lines.append("\nplacement: actual differs from the prediction")
            lines += [f"  {d}" for d in pl.disagreements]
    for note in result.notes:
        lines.append(f"note: {note}")
    if result.plot:
        lines.append(f"plot: {result.plot}")
    return "\n".join(lines) + "\n"
