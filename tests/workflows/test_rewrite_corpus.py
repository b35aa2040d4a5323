"""The torch corpus end to end through `onnx-preflight rewrite` (dynamo export at opset 18 with
external data, rewritten to 17, 14, 13 and 11), against the recorded baseline
tests/fixtures/rewrite_corpus_baseline.json: a cell that reached its target, kept its external
data, passed the full checker, loaded in onnxruntime or was in parity before and no longer does
fails the test; improvements are printed (rerecord with
`python benchmarks/rewrite_corpus.py --write-baseline`)."""

from __future__ import annotations

import pytest

from tests.fixtures import rewrite_corpus as rc

pytest.importorskip("torch")


def _check(names: tuple[str, ...]) -> None:
    baseline = rc.load_baseline()
    unexported = rc.export_failures()  # recorded as failing to export: no cells to compare
    missing = [f"{n}@{t}" for n in names if n not in unexported for t in rc.TARGETS
               if f"{n}@{t}" not in baseline]
    assert not missing, f"not in the baseline (rerecord it): {missing}"
    cells, exports = rc.run(names)
    failed = [e.model for e in exports if e.error and e.model in names]
    result = rc.compare_to_baseline(cells, baseline)
    print("\n".join(rc.table(cells, exports)))
    if result.new:
        print("cells not in the baseline (a model that exports now):", result.new)
    if result.improvements:
        print("improvements (rerecord the baseline to keep them):\n  "
              + "\n  ".join(result.improvements))
    assert not result.regressions, "\n".join(result.regressions)
    # a model the baseline has cells for must still export
    assert not [m for m in failed if any(k.startswith(f"{m}@") for k in baseline)], failed


def test_quick_subset_has_no_regression() -> None:
    """mlp, HardSwish, LayerNorm and a transformer encoder layer: every cell of the baseline
    still holds (about 10 s)."""
    _check(rc.QUICK)


def test_quick_subset_reaches_every_target_with_parity() -> None:
    """What the baseline records for the quick subset, stated: these four reach 17, 14, 13 and
    11 with external data kept, the full checker, an ORT load and parity."""
    baseline = rc.load_baseline()
    for name in rc.QUICK:
        for target in rc.TARGETS:
            cell = baseline[f"{name}@{target}"]
            assert cell["delivered"] == target and cell["exit"] == 0, (name, target, cell)
            assert all(cell[f] for f in rc.FLAGS), (name, target, cell)


@pytest.mark.slow
def test_whole_corpus_has_no_regression() -> None:
    """Every model of the corpus (about 40 s on 2 idle cores)."""
    _check(rc.ALL)


def test_a_lost_flag_is_a_regression_and_a_gained_one_is_not() -> None:
    """compare_to_baseline on cells made by hand: the judgment itself."""
    baseline = {"m@13": {"reached": True, "external": True, "checker": True, "loads": True,
                         "parity": False}}
    worse = rc.Cell("m", 13, exit=1, delivered=18, reached=False, external=True, checker=True,
                    loads=True, parity=True, reason="ReduceMean-18 (no-adapter: ...)")
    result = rc.compare_to_baseline([worse], baseline)
    assert len(result.regressions) == 1 and "reached" in result.regressions[0]
    assert "ReduceMean-18" in result.regressions[0]
    assert result.improvements == ["m@13: parity now true"]
    assert rc.compare_to_baseline([rc.Cell("n", 11)], baseline).new == ["n@11"]


def test_a_reason_keeps_its_whole_first_sentence() -> None:
    """The recorded reason is the blocker's first sentence, never cut inside a word."""
    long = ("onnx.version_converter cannot convert opset 18 -> 17: No initializer or constant "
            "input to node found; its axes come from a graph input, so no attribute form "
            "exists. A second sentence.")
    reason = rc.blocker_reason([{"op": "ReduceMean", "version": 18, "cause": "no-adapter",
                                 "reason": long}])
    assert reason == ("ReduceMean-18 (no-adapter: " + long.split(". A second")[0] + ")")
    assert rc.first_sentence("rolled back: outputs differ beyond rtol 1e-05 (max abs 2.7)") \
        == "rolled back: outputs differ beyond rtol 1e-05 (max abs 2.7)"
    cut = rc.first_sentence("word " * 200, limit=50)
    assert cut.endswith(" ...") and all(w == "word" for w in cut[:-4].split())
