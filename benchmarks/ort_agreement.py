"""How often does the placement prediction agree with a real onnxruntime CPU session?

One-node models are generated from the operator schemas (tests/fixtures/ort_cases.py: onnx's for
the default and ai.onnx.ml domains, onnxruntime's for com.microsoft, each op version at every
model opset where it is current, each type of its primary type constraint) and each is compared
with a real `onnxruntime.InferenceSession` (tests/fixtures/ort_agreement.py): CPU loadability,
the op types that run on CPU and, for a model that fails, the node that fails. Models that onnx
itself rejects are compared too (the analyzer's verdict rule says whether onnxruntime refuses
them as well); sessions that fail for reasons the analyzer does not model are listed apart, each
op with its cause in NOT_MODELED.

    python -m benchmarks.ort_agreement [--verbose] [--optimized] [--workers N]

prints the counts, the agreement rates and the disagreements grouped by cause; --optimized also
creates an ORT_ENABLE_ALL session per case and counts where it places differently.
tests/analyzer/test_ort_agreement.py asserts the rates and that every disagreement is documented.
"""

from __future__ import annotations

import argparse
import collections
from collections import Counter

from tests.fixtures.ort_agreement import Outcome, Report, known_cause, run_agreement
from tests.fixtures.ort_cases import qualified


def _grouped(outcomes: list[Outcome]) -> dict[str, list[Outcome]]:
    groups: dict[str, list[Outcome]] = collections.defaultdict(list)
    for o in outcomes:
        groups[known_cause(o) or f"UNEXPLAINED {o.kind}"].append(o)
    return dict(sorted(groups.items(), key=lambda kv: -len(kv[1])))


def print_report(report: Report, verbose: bool = False) -> None:
    rejected = [o for o in report.compared if o.onnx_rejects]
    rows = [
        ("cases", f"{len(report.outcomes)}"),
        ("compared", f"{len(report.compared)}"),
        ("onnx rejects the model (compared)", f"{len(rejected)}"),
        ("... of which ORT loads", f"{sum(bool(o.actual_loadable) for o in rejected)}"),
        ("ORT rejects, not modeled", f"{len(report.by_kind('ort_rejected'))}"),
        ("ORT crashes, not modeled", f"{len(report.by_kind('ort_crashed'))}"),
        ("skipped op versions", f"{len(report.skipped)}"),
        ("agreement: loadability", f"{report.loadability_rate:.2%}"),
        ("agreement: placement (loadable)", f"{report.placement_rate:.2%}"),
        ("agreement: failing node", f"{report.failing_node_rate:.2%}"),
        ("agreement: overall", f"{report.agreement_rate:.2%}"),
        ("seconds", f"{report.seconds:.1f}"),
    ]
    checked = [o for o in report.outcomes if o.optimized_differs is not None]
    if checked:
        differs = [o for o in checked if o.optimized_differs]
        rows.append(("ORT_ENABLE_ALL differs", f"{len(differs)} of {len(checked)}"))
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v:>12}")
    sections = [
        ("disagreements", report.disagreements),
        (
            "ORT rejections not modeled",
            report.by_kind("ort_rejected") + report.by_kind("ort_crashed"),
        ),
    ]
    for title, outcomes in sections:
        print(f"\n{title}: {len(outcomes)}")
        for cause, group in _grouped(outcomes).items():
            ops = sorted({o.case.qualified_op for o in group})
            print(f"  {len(group):5}  {cause}  [{', '.join(ops)}]")
            if verbose:
                for o in group:
                    print(f"         {o.kind} {o.case.key}: {o.detail[:160]}")
    if checked and any(o.optimized_differs for o in checked):
        ops = sorted({o.case.qualified_op for o in checked if o.optimized_differs})
        print(f"\nORT_ENABLE_ALL places differently: {', '.join(ops)}")
    reasons = Counter(s.reason for s in report.skipped)
    print(f"\nskipped op versions: {len(report.skipped)}")
    for reason, n in reasons.most_common():
        ops = sorted({qualified(s.domain, s.op) for s in report.skipped if s.reason == reason})
        print(f"  {n:5}  {reason}  [{', '.join(ops)}]")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ort_agreement", description=__doc__)
    parser.add_argument("--verbose", action="store_true", help="list every case of each group")
    parser.add_argument(
        "--optimized", action="store_true", help="also compare with ORT_ENABLE_ALL sessions"
    )
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    report = run_agreement(workers=args.workers, check_optimized=args.optimized)
    print_report(report, args.verbose)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
