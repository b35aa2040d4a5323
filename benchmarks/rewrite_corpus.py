"""The torch corpus end to end through `onnx-preflight rewrite`: dynamo export at opset 18 with
its default external data, rewritten to opsets 17, 14, 13 and 11; per (model, target) the exit
status, the opset read back from the written file, whether it kept external data, the full
onnx.checker, an onnxruntime CPU load, and parity against the opset-18 export on the same random
inputs (max abs / max rel error), with the blocking reason when the target is not reached
(tests/fixtures/rewrite_corpus.py does the work; tests/workflows/test_rewrite_corpus.py asserts
the recorded baseline, tests/fixtures/rewrite_corpus_baseline.json).

    python benchmarks/rewrite_corpus.py                       # the whole corpus (a few minutes)
    python benchmarks/rewrite_corpus.py --models mlp hardswish --targets 13
    python benchmarks/rewrite_corpus.py --write-baseline      # record the result as the baseline
    python benchmarks/rewrite_corpus.py --json cells.json --keep /tmp/corpus
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from tests.fixtures import rewrite_corpus as rc  # noqa: E402 - after the path is set


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=list(rc.ALL), metavar="NAME",
                        help="corpus names (default: all; --quick: the quick test's)")
    parser.add_argument("--quick", action="store_true", help=f"only {', '.join(rc.QUICK)}")
    parser.add_argument("--targets", nargs="+", type=int, default=list(rc.TARGETS))
    parser.add_argument("--write-baseline", action="store_true",
                        help=f"merge the cells into {rc.BASELINE.relative_to(REPO_ROOT)}")
    parser.add_argument("--json", metavar="FILE", help="also write every cell as JSON")
    parser.add_argument("--keep", metavar="DIR", help="keep the exports and outputs in DIR")
    parser.add_argument("--markdown", action="store_true",
                        help="only print docs/rewrites.md's tables from the recorded baseline")
    args = parser.parse_args(argv)
    if args.markdown:
        print("\n".join(rc.markdown(rc.load_baseline())))
        return 0
    models = list(rc.QUICK) if args.quick else args.models
    unknown = sorted(set(models) - set(rc.ALL))
    if unknown:
        parser.error(f"not in the corpus: {', '.join(unknown)}")
    start = time.perf_counter()
    folder = Path(args.keep) if args.keep else None
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    cells, exports = rc.run(models, args.targets, folder)
    seconds = time.perf_counter() - start
    print("\n".join(rc.table(cells, exports)))
    print()
    print("\n".join(rc.summary(cells)))
    inline = [e.model for e in exports if e.path is not None and not e.external]
    if inline:
        print(f"exported without external data: {', '.join(inline)}")
    baseline = rc.load_baseline()
    result = rc.compare_to_baseline(cells, baseline)
    for label, lines in (("regressions", result.regressions),
                         ("improvements", result.improvements),
                         ("not in the baseline", result.new)):
        if lines:
            print(f"\n{label} against {rc.BASELINE.name} ({len(lines)}):")
            print("\n".join(f"  {line}" for line in lines))
    print(f"\n{len(cells)} cells, {len(exports)} models in {seconds:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps([c.to_dict() for c in cells], indent=1))
    if args.write_baseline:
        rc.write_baseline(cells, exports)
        print(f"wrote {rc.BASELINE}")
    return 1 if result.regressions and not args.write_baseline else 0


if __name__ == "__main__":
    raise SystemExit(main())
