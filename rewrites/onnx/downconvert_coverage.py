"""Generate opsets/data/downconvert_coverage.json and its section of docs/rewrites.md: for every
default-domain (op, since_version) the torch exporters emit (opsets.generators.exporter_ops), a
realistic one-node model converted to opsets 17, 16, 15, 14, 13, 12, 11 and 9.

Per target the answer is "converts" (onnx.version_converter alone, full checker), "adapter"
(only through this project's rewrite: rewrites.apply(..., target_opset=N), i.e. the node rules,
then onnx:version-convert with its adapters, verified with onnxruntime before/after and the
checker; the rules that applied are named) or "cannot" (the reason the rewrite gives).

The probe is the one opsets.generators.onnx_downconvert builds (inputs typed, shape-like inputs
as int64 initializers), at the lowest opset the pair was seen at, with the attributes written as
the exporters write them (_EXPORTER_FORMS: Reduce*-18 with noop_with_empty_axes=0 and axes as an
initializer, Split-18 with num_outputs, Pad-18 with an axes input, Resize with its opset-18/19
attributes spelled out, ...).

This lives in the rewrites layer (it runs the project's rewrite), not in opsets.generators: run
`python -m rewrites.onnx.downconvert_coverage --write` after a change to an adapter or a bump of
onnx / torch; tests/opsets/test_downconvert_coverage.py checks the data and the docs against a
cheap regeneration.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import onnx
import onnx.checker
import onnx.version_converter

from analyzer.error_codes import VERIFY_INPUT_TYPE
from analyzer.errors import InputError
from analyzer.safe_write import write_atomically
from opsets.downconvert_coverage import COVERAGE_PATH, TARGETS
from opsets.generators.exporter_ops import EmittedPair, emitted_pairs
from opsets.generators.onnx_downconvert import probe_model
from rewrites.contract import Reason
from rewrites.onnx.rule import RewriteModel
from rewrites.onnx.target_check import delivered_opset
from rewrites.onnx.version_convert import VersionConvert
from rewrites.passes import apply

DOCS_PATH = Path(__file__).resolve().parents[2] / "docs" / "rewrites.md"
DOCS_BEGIN = ("<!-- downconvert-coverage:begin (generated: "
              "python -m rewrites.onnx.downconvert_coverage --write) -->")
DOCS_END = "<!-- downconvert-coverage:end -->"

_REDUCE = ("ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax", "ReduceMean",
           "ReduceMin", "ReduceProd", "ReduceSum", "ReduceSumSquare")

#: (op, since) -> probe tweak: the form the exporters write (see opsets.generators.
#: onnx_downconvert._TWEAKS for the keys). Pairs not listed use that module's probe.
_EXPORTER_FORMS: dict[tuple[str, int], dict[str, Any]] = {
    **{(op, 18): {"init": {"axes": [1]}, "attrs": {"keepdims": 1, "noop_with_empty_axes": 0}}
       for op in _REDUCE},
    ("ReduceSum", 13): {"init": {"axes": [1]}, "attrs": {"keepdims": 0,
                                                          "noop_with_empty_axes": 0}},
    **{(op, 20): {"init": {"axes": [1]}, "attrs": {"keepdims": 1, "noop_with_empty_axes": 0}}
       for op in ("ReduceMax", "ReduceMin")},
    ("Split", 18): {"attrs": {"axis": 1, "num_outputs": 2}, "outputs": 2,
                    "shapes": {"input": (2, 4, 4, 5)}},
    ("Pad", 18): {"init": {"pads": [1, 1, 1, 1], "axes": [2, 3]}, "empty": ["constant_value"],
                  "attrs": {"mode": "constant"}},
    ("Pad", 19): {"init": {"pads": [1, 1, 1, 1], "axes": [2, 3]}, "empty": ["constant_value"],
                  "attrs": {"mode": "reflect"}},
    ("Resize", 18): {"init": {"sizes": [2, 3, 8, 10]}, "empty": ["roi", "scales"],
                     "attrs": {"mode": "linear", "antialias": 0,
                               "keep_aspect_ratio_policy": "stretch",
                               "coordinate_transformation_mode": "half_pixel"}},
    ("Resize", 19): {"init": {"sizes": [2, 3, 8, 10]}, "empty": ["roi", "scales"],
                     "attrs": {"mode": "linear", "antialias": 0,
                               "keep_aspect_ratio_policy": "stretch",
                               "coordinate_transformation_mode": "half_pixel"}},
    ("Gelu", 20): {"attrs": {"approximate": "none"}},
    # index inputs as valid constants (random ones would make the before/after check fail)
    ("Gather", 13): {"types": {"indices": "int64"}, "init": {"indices": [1, 0]}},
    ("GatherElements", 13): {"shapes": {"data": (2, 3)}, "init": {"indices": [0, 1, 0, 1, 0, 1]},
                             "init_dims": {"indices": [2, 3]}},
    ("GatherND", 13): {"init": {"indices": [1, 0]}, "init_dims": {"indices": [2, 1]}},
    ("ScatterElements", 18): {"shapes": {"data": (2, 3), "updates": (1, 3)},
                              "init": {"indices": [1, 0, 1]}, "init_dims": {"indices": [1, 3]},
                              "attrs": {"reduction": "none", "axis": 0}},
    ("ScatterND", 18): {"shapes": {"updates": (2, 3, 4, 5)}, "init": {"indices": [1, 0]},
                        "init_dims": {"indices": [2, 1]}, "attrs": {"reduction": "none"}},
    ("SoftmaxCrossEntropyLoss", 13): {"shapes": {"scores": (2, 3)}, "init": {"labels": [0, 2]},
                                      "attrs": {"reduction": "mean"}},
    ("NegativeLogLikelihoodLoss", 13): {"shapes": {"input": (2, 3)}, "init": {"target": [0, 2]},
                                        "attrs": {"reduction": "mean"}},
    ("CumSum", 14): {"init": {"axis": [1]}, "scalar_init": ["axis"]},
    ("GroupNormalization", 18): {"attrs": {"num_groups": 3, "epsilon": 1e-5},
                                 "shapes": {"scale": (3,), "bias": (3,)}},
    ("LayerNormalization", 17): {"shapes": {"Scale": (5,), "B": (5,)}, "attrs": {"axis": -1}},
}


#: Why no exact lower form exists (a judgement, kept here so the table says it): op -> reason.
#: A "cannot" for an op not listed is "no adapter yet".
NO_EXACT_FORM: dict[str, str] = {
    **{op: f"{op} works on integer bits; And / Or / Xor / Not before 18 take only bool"
       for op in ("BitwiseAnd", "BitwiseOr", "BitwiseXor", "BitwiseNot")},
    "BitShift": "no earlier op shifts bits",
    "Bernoulli": "random: no earlier op draws Bernoulli samples (RandomUniformLike + Less "
                 "draws other numbers)",
    "Col2Im": "its ConvTranspose form (one-hot weights, group = C) multiplies every input by 0 "
              "or 1 and sums in another order: different for inf / NaN inputs, not exact",
    "Einsum": "its Transpose / Reshape / MatMul form sums in another order than Einsum's kernel: "
              "equal up to rounding, not exactly",
    "DFT": "a MatMul with a DFT matrix rounds differently: not exact",
    "STFT": "a MatMul with a DFT matrix rounds differently: not exact",
    "GridSample": "no earlier op samples at data-dependent coordinates",
    "Det": "no earlier op computes a determinant",
    "Unique": "no earlier op has a data-dependent output length like Unique's",
    "Round": "no earlier op rounds half to even (Floor(x + 0.5) rounds halves up)",
    "IsInf": "Equal-7 (opset 9) takes no floats, so Abs(x) == inf cannot be written",
    "Equal": "Equal-7 (opset 9) takes no floats",
    "GreaterOrEqual": "its Or(Greater, Equal) form needs Equal on floats, which opset 9 lacks",
    "LessOrEqual": "its Or(Less, Equal) form needs Equal on floats, which opset 9 lacks",
    "Mod": "no integer floor division before Mod-10",
    "CumSum": "no earlier op computes a running sum without a Loop",
    "GatherElements": "no earlier op gathers along an axis per element",
    "GatherND": "no earlier op gathers by index tuples",
    "ScatterND": "no earlier op scatters by index tuples",
    "NegativeLogLikelihoodLoss": "its body gathers per element (GatherElements-11)",
    "SoftmaxCrossEntropyLoss": "its body gathers per element (GatherElements-11)",
    "QuantizeLinear": "rounding half to even needs Round-11",
    "Resize": "Upsample-9 knows only asymmetric coordinates; the exporters write half_pixel, "
              "pytorch_half_pixel or align_corners",
    "Range": "no earlier op makes a sequence of run-time length (a Loop could, not a fixed form)",
    **{op: "sequence / optional types do not exist at that opset"
       for op in ("ConcatFromSequence", "SequenceAt", "SequenceConstruct", "SequenceEmpty",
                  "SequenceErase", "SequenceInsert", "SequenceLength", "SequenceMap",
                  "SplitToSequence", "OptionalGetElement", "OptionalHasElement")},
    **{op: "the window is built with Range-11 and Cos; a folded constant would round "
           "differently" for op in ("BlackmanWindow", "HammingWindow", "HannWindow")},
}


def _tweak(pair: EmittedPair) -> dict[str, Any] | None:
    return _EXPORTER_FORMS.get((pair.op, pair.since))


def _onnx_alone(model: onnx.ModelProto, target: int) -> bool:
    try:
        converted = onnx.version_converter.convert_version(model, target)
        onnx.checker.check_model(converted, full_check=True)
    except Exception:  # noqa: BLE001 - a refusal is the answer
        return False
    return delivered_opset(converted) == target


_WHEEL_PATH = re.compile(r"^.*?Assertion `[^`]*` failed: ")


def _short(text: str) -> str:
    return _WHEEL_PATH.sub("", text.strip().splitlines()[0] if text.strip() else text)


def _with_adapters(model: onnx.ModelProto, target: int) -> dict[str, Any]:
    """The project's rewrite to `target`: "adapter" with the steps that applied, or "cannot"."""
    try:
        result = apply(model, target_opset=target)
    except InputError as exc:
        if exc.code != VERIFY_INPUT_TYPE.code:
            return {"result": "cannot", "reason": _short(exc.one_line())}
        return _unverified(model, target, exc.message)
    out = result.model
    if delivered_opset(out) == target and result.blocked is None:
        try:
            onnx.checker.check_model(out, full_check=True)
        except Exception as exc:  # noqa: BLE001
            return {"result": "cannot", "reason": "converted, but the result is invalid: "
                    + _short(str(exc))}
        steps = sorted({e.rule for e in result.applied})
        notes = sorted({n for e in result.applied if e.rule == "onnx:version-convert"
                        and e.reason for n in e.reason.split(", ") if "adapter" in n})
        return {"result": "adapter", "via": steps + notes}
    reason = (result.blocked.text if result.blocked is not None
              else f"delivered opset {delivered_opset(out)}")
    declined = sorted({f"{e.rule} rolled back: {_short(e.reason or '')}" for e in result.log
                       if e.status == "rolled_back" and e.rule != VersionConvert.id})
    return {"result": "cannot", "reason": "; ".join([_short(reason), *declined])}


def _unverified(model: onnx.ModelProto, target: int, why: str) -> dict[str, Any]:
    """onnx:version-convert alone, for a probe the rewrite cannot run (sequence or optional
    inputs: no random feeds): its reason, or "adapter" marked unverified."""
    converted = VersionConvert().convert(RewriteModel(model, target_opset=target), target)
    if isinstance(converted, Reason):
        return {"result": "cannot", "reason": _short(converted.text)}
    try:
        onnx.checker.check_model(converted.model, full_check=True)
    except Exception as exc:  # noqa: BLE001
        return {"result": "cannot", "reason": "converted, but the result is invalid: "
                + _short(str(exc))}
    return {"result": "adapter", "via": [VersionConvert.id, f"unverified: {why}"]}


_BLOCKING_OP = re.compile(r"cannot convert opset \d+ -> \d+ \((\w+)")


def _blocking_op(reason: str) -> str | None:
    found = _BLOCKING_OP.search(reason)
    return found.group(1) if found else None


def measure_pair(pair: EmittedPair, targets: tuple[int, ...] = TARGETS) -> dict[str, Any]:
    """One row: {"op", "since", "opset", "exporters", "targets": {target: answer}} or with
    "probe" (why no probe could be built)."""
    row: dict[str, Any] = {"op": pair.op, "since": pair.since, "opset": pair.opset,
                           "exporters": list(pair.exporters)}
    try:
        model = probe_model(pair.op, pair.opset, _tweak(pair))
    except Exception as exc:  # noqa: BLE001 - recorded: which pairs have no probe, and why
        row["probe"] = _short(f"no valid probe: {exc}")
        return row
    answers: dict[str, Any] = {}
    for target in targets:
        if _onnx_alone(model, target):
            answers[str(target)] = {"result": "converts"}
            continue
        answer = _with_adapters(model, target)
        if answer["result"] == "cannot":
            op = _blocking_op(answer["reason"]) or pair.op
            answer["why"] = (f"no exact lower form: {NO_EXACT_FORM[op]}" if op in NO_EXACT_FORM
                             else "no adapter yet")
        answers[str(target)] = answer
    row["targets"] = answers
    return row


def build_coverage(targets: tuple[int, ...] = TARGETS) -> dict[str, Any]:
    rows = [measure_pair(p, targets) for p in emitted_pairs()]
    return {
        "provenance": {
            "library": "onnx",
            "version": onnx.__version__,
            "source": ("probe: a one-node model per (op, since_version) the torch exporters emit "
                       "(opsets.generators.exporter_ops), converted by onnx.version_converter "
                       "alone, else by rewrites.apply(target_opset=N)"),
            "targets": list(targets),
        },
        "pairs": {f"{r['op']}-{r['since']}": r for r in rows},
    }


def counts(table: dict[str, Any]) -> dict[int, Counter[str]]:
    out: dict[int, Counter[str]] = {t: Counter() for t in table["provenance"]["targets"]}
    for row in table["pairs"].values():
        for t in out:
            answer = row.get("targets", {}).get(str(t))
            out[t][answer["result"] if answer else "no probe"] += 1
    return out


def render_docs(table: dict[str, Any]) -> str:
    """The generated section of docs/rewrites.md (between DOCS_BEGIN and DOCS_END)."""
    targets = table["provenance"]["targets"]
    lines = [
        f"Measured with onnx {table['provenance']['version']} over "
        f"{len(table['pairs'])} (op, since_version) pairs the torch exporters emit. "
        "C = converts with onnx.version_converter alone; A = converts only with this project's "
        "adapters / node rules (`onnx-preflight rewrite --target-opset N`); "
        "X = cannot (reason in opsets/data/downconvert_coverage.json).",
        "",
        "| target | converts | adapter | cannot | no probe |",
        "|---|---|---|---|---|",
    ]
    for t, c in counts(table).items():
        lines.append(f"| {t} | {c['converts']} | {c['adapter']} | {c['cannot']} | "
                     f"{c['no probe']} |")
    lines += ["", "| op-since | " + " | ".join(str(t) for t in targets) + " |",
              "|---" * (len(targets) + 1) + "|"]
    mark = {"converts": "C", "adapter": "A", "cannot": "X"}
    for key, row in table["pairs"].items():
        answers = row.get("targets")
        if answers is None:
            lines.append(f"| {key} | " + " | ".join("-" for _ in targets) + " |")
            continue
        if all(answers[str(t)]["result"] == "converts" for t in targets):
            continue
        lines.append(f"| {key} | " + " | ".join(mark[answers[str(t)]["result"]]
                                                for t in targets) + " |")
    lines.append("")
    lines.append("Pairs not listed convert with onnx alone to every target; `-` marks a pair "
                 "without a valid one-node probe (the data file says why).")
    lines += ["", "Why the X cells cannot convert (per pair, the targets in brackets):", ""]
    for key, row in table["pairs"].items():
        whys: dict[str, list[str]] = {}
        for t in targets:
            answer = row.get("targets", {}).get(str(t), {})
            if answer.get("result") == "cannot":
                whys.setdefault(answer["why"], []).append(str(t))
        for why, ts in whys.items():
            lines.append(f"- {key} ({', '.join(ts)}): {why}")
    return "\n".join(lines)


def docs_with_section(docs: str, section: str) -> str:
    begin, end = docs.index(DOCS_BEGIN), docs.index(DOCS_END)
    return docs[:begin + len(DOCS_BEGIN)] + "\n" + section + "\n" + docs[end:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rewrites.onnx.downconvert_coverage",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="write the data file and docs")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    table = build_coverage()
    for t, c in counts(table).items():
        print(f"opset {t}: " + ", ".join(f"{k} {v}" for k, v in sorted(c.items())))
    print(f"({time.perf_counter() - start:.0f} s)", file=sys.stderr)
    if args.write:
        write_atomically(COVERAGE_PATH, json.dumps(table, indent=1, sort_keys=True) + "\n")
        docs = DOCS_PATH.read_text(encoding="utf-8")
        write_atomically(DOCS_PATH, docs_with_section(docs, render_docs(table)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
