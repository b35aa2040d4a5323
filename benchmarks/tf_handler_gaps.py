"""Measure which TensorFlow ops tf2onnx cannot convert, on the ops common Keras layers and
keras.applications architectures lower to (built in code, weights=None: nothing downloaded),
at opsets 9..18, and which rule of rewrites/tensorflow covers each gap.

Two measurements per model, because they differ:
- the handler table: each op of the frozen graph (main graph + function library) against
  tf2onnx's handler registry (`tf_op.get_opsets()`), giving the lowest opset with a handler;
- reality: the real conversion (tf2onnx.convert.from_keras) at each opset, without and with the
  rules rewrites.tensorflow.plan chooses: tf2onnx's own 'Unsupported ops' counter, and whether
  onnxruntime loads what tf2onnx returned.
  (Control-flow ops of while loops have no handler but are converted by tf2onnx's rewriters.)

    PYTHONPATH=. .venv/bin/python benchmarks/tf_handler_gaps.py [--opsets 9,11,13,18]
        [--markdown docs/tf_gaps.md] [--quick]
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

_COUNTER = re.compile(r"Unsupported ops: Counter\((\{.*\})\)")
_TRIVIAL = {"Placeholder", "Const", "Identity", "IdentityN", "NoOp", "StatefulPartitionedCall",
            "PartitionedCall"}


def models(quick: bool) -> list[tuple[str, Callable[[], Any]]]:
    import keras
    import tensorflow as tf

    L = keras.layers

    def fn(build: Callable[[Any], Any], shape: tuple[int, ...]) -> Callable[[], Any]:
        def make() -> Any:
            keras.utils.set_random_seed(0)
            inp = keras.Input(shape)
            return keras.Model(inp, build(inp))
        return make

    def act(name: Any) -> Callable[[Any], Any]:
        return lambda x: L.Activation(name)(L.Dense(8)(x))

    class FFT(L.Layer):
        def call(self, x: Any) -> Any:
            return tf.math.real(tf.signal.rfft(x))

    layers: list[tuple[str, Callable[[], Any]]] = [
        (f"activation {a}", fn(act(a), (6,))) for a in (
            "gelu", "swish", "hard_swish", "hard_sigmoid", "mish", "selu", "elu", "celu",
            "softplus", "softsign", "log_softmax", "relu6", "glu", "hard_tanh", "sparse_plus",
            "squareplus", "soft_shrink", "tanh_shrink", "log_sigmoid", "sparsemax")]
    layers += [
        ("gelu tanh", fn(lambda x: L.Activation(
            lambda t: keras.activations.gelu(t, approximate=True))(x), (6,))),
        ("LayerNormalization", fn(lambda x: L.LayerNormalization()(x), (6,))),
        ("GroupNormalization", fn(lambda x: L.GroupNormalization(2)(x), (8, 8, 4))),
        ("BatchNormalization", fn(lambda x: L.BatchNormalization()(x), (8, 8, 4))),
        ("UnitNormalization", fn(lambda x: L.UnitNormalization()(x), (6,))),
        ("MultiHeadAttention", fn(lambda x: L.MultiHeadAttention(2, 4)(x, x), (5, 8))),
        ("EinsumDense", fn(lambda x: L.EinsumDense("abc,cd->abd", (5, 6))(x), (5, 4))),
        ("LSTM", fn(lambda x: L.LSTM(8)(x), (5, 4))),
        ("GRU", fn(lambda x: L.GRU(8)(x), (5, 4))),
        ("Bidirectional LSTM", fn(lambda x: L.Bidirectional(L.LSTM(4))(x), (5, 4))),
        ("Conv1D causal dilated", fn(lambda x: L.Conv1D(4, 3, padding="causal",
                                                        dilation_rate=2)(x), (10, 4))),
        ("Conv2DTranspose", fn(lambda x: L.Conv2DTranspose(4, 3, strides=2)(x), (8, 8, 4))),
        ("SeparableConv2D", fn(lambda x: L.SeparableConv2D(4, 3)(x), (8, 8, 4))),
        ("UpSampling2D bilinear", fn(lambda x: L.UpSampling2D(interpolation="bilinear")(x),
                                     (8, 8, 4))),
        ("Resizing bicubic", fn(lambda x: L.Resizing(12, 12, interpolation="bicubic")(x),
                                (8, 8, 4))),
        ("Resizing area", fn(lambda x: L.Resizing(12, 12, interpolation="area")(x), (8, 8, 4))),
        ("Resizing lanczos3", fn(lambda x: L.Resizing(12, 12, interpolation="lanczos3")(x),
                                 (8, 8, 4))),
        ("Embedding", fn(lambda x: L.Embedding(10, 4)(x), (5,))),
        ("ops.cumsum", fn(lambda x: keras.ops.cumsum(x, axis=1), (5,))),
        ("ops.erfinv", fn(lambda x: keras.ops.erfinv(keras.ops.tanh(x)), (5,))),
        ("ops.logsumexp", fn(lambda x: keras.ops.logsumexp(x, axis=-1), (5,))),
        ("ops.top_k", fn(lambda x: keras.ops.top_k(x, 2)[0], (5,))),
        ("ops.argsort", fn(lambda x: keras.ops.argsort(x), (5,))),
        ("ops.arctan2", fn(lambda x: keras.ops.arctan2(x, x + 1), (5,))),
        ("ops.rms_normalization", fn(lambda x: keras.ops.rms_normalization(x), (5,))),
        ("rfft", fn(lambda x: FFT()(x), (8,))),
    ]
    if quick:
        return layers
    apps = keras.applications
    layers += [
        ("MobileNetV3Small", lambda: apps.MobileNetV3Small(input_shape=(64, 64, 3),
                                                           weights=None, minimalistic=False)),
        ("EfficientNetB0", lambda: apps.EfficientNetB0(input_shape=(64, 64, 3), weights=None)),
        ("ConvNeXtTiny", lambda: apps.ConvNeXtTiny(input_shape=(64, 64, 3), weights=None)),
        ("ResNet50", lambda: apps.ResNet50(input_shape=(64, 64, 3), weights=None)),
        ("DenseNet121", lambda: apps.DenseNet121(input_shape=(64, 64, 3), weights=None)),
    ]
    return layers


def frozen_graph_def(model: Any) -> Any:
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    spec = [tf.TensorSpec([1, *t.shape[1:]], t.dtype) for t in model.inputs]
    concrete = tf.function(lambda *a: model(list(a) if len(a) > 1 else a[0])
                           ).get_concrete_function(*spec)
    return convert_variables_to_constants_v2(concrete).graph.as_graph_def()


def convert(model: Any, opset: int, rules: list[Any]) -> Counter[str]:
    """Ops tf2onnx left unconverted (or whose handler failed) converting `model` at `opset`
    with `rules`, through the project's own conversion (what `export --rewrite` runs); a
    model tf2onnx is content with but onnxruntime refuses counts as a failure too."""
    from rewrites.tensorflow.convert import convert_tensorflow

    result = convert_tensorflow(model, "keras", opset, rules=[r.id for r in rules])
    failed: Counter[str] = Counter(result.unsupported)
    failed.update(op for _, op, _ in result.failed)
    if result.error:
        failed[f"<raised: {result.error[:60]}>"] += 1
    if not failed and result.model is not None:
        import onnxruntime as ort

        try:
            ort.InferenceSession(result.model, providers=["CPUExecutionProvider"])
        except Exception:  # noqa: BLE001 - a refusal is the measurement
            failed["<onnxruntime refuses the model>"] += 1
    return failed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--opsets", default="9,10,11,12,13,15,18")
    ap.add_argument("--markdown", type=Path, help="write the gap table here")
    ap.add_argument("--quick", action="store_true", help="layers only, no applications")
    args = ap.parse_args(argv)
    opsets = [int(x) for x in args.opsets.split(",")]

    import tf2onnx
    import tf2onnx.onnx_opset  # noqa: F401
    from tf2onnx.handler import tf_op

    from rewrites.tensorflow.plan import nodes_from_graph_def, plan

    logging.getLogger("tf2onnx").setLevel(logging.ERROR)
    table = tf_op.get_opsets()[""]

    def min_opset(op: str) -> int | None:
        found = [i for i, d in enumerate(table) if op in d]
        return min(found) if found else None

    rows: list[dict[str, Any]] = []
    totals = Counter[str]()
    t0 = time.perf_counter()
    for name, make in models(args.quick):
        model = make()
        gd = frozen_graph_def(model)
        nodes = nodes_from_graph_def(gd)
        ops = sorted({n.op for n in nodes} - _TRIVIAL)
        table_gaps = {op: min_opset(op) for op in ops
                      if min_opset(op) is None or min_opset(op) > min(opsets)}
        for opset in opsets:
            chosen = plan(nodes, opset, named=["tf:erfinv"])
            before = convert(model, opset, [])
            after = convert(model, opset, chosen.rules) if before else Counter()
            totals["cases"] += 1
            totals["failed_before"] += bool(before)
            totals["failed_after"] += bool(after)
            if before:
                rows.append({"model": name, "opset": opset, "before": dict(before),
                             "after": dict(after), "rules": [r.id for r in chosen.rules],
                             "table": table_gaps})
        print(f"{name:28s} table gaps {table_gaps}", flush=True)
    elapsed = time.perf_counter() - t0
    print(f"\n{totals['cases']} (model, opset) cases in {elapsed:.0f} s, tf2onnx "
          f"{tf2onnx.__version__}: {totals['failed_before']} fail to convert alone, "
          f"{totals['failed_after']} still fail with the rules")
    for r in rows:
        print(f"  {r['model']:26s} opset {r['opset']:2d} unsupported {r['before']} -> "
              f"{r['after'] or 'converts'} (rules: {', '.join(r['rules']) or '-'})")
    if args.markdown:
        args.markdown.write_text(render(rows, totals, opsets, tf2onnx.__version__))
        print(f"wrote {args.markdown}")
    return 0


def render(rows: list[dict[str, Any]], totals: Counter[str], opsets: list[int],
           version: str) -> str:
    from rewrites.registry import TF_RULES

    covering: dict[str, str] = {}
    for rule in TF_RULES:
        for t in rule.targets:
            covering.setdefault(t.op, rule.id)
    gaps: dict[str, dict[str, Any]] = {}
    for r in rows:
        for op in r["before"]:
            g = gaps.setdefault(op, {"models": set(), "opsets": set(), "left": set()})
            g["models"].add(r["model"])
            g["opsets"].add(r["opset"])
            if op in r["after"]:
                g["left"].add(r["opset"])
    lines = [
        "<!-- generated by benchmarks/tf_handler_gaps.py; rerun it to refresh -->",
        f"Measured with tf2onnx {version}, opsets {', '.join(map(str, opsets))}: "
        f"{totals['cases']} (model, opset) conversions, {totals['failed_before']} failed "
        f"with tf2onnx alone, {totals['failed_after']} with the rules.",
        "",
        "| TF op | fails at opsets | seen in | rule | still failing at |",
        "|---|---|---|---|---|",
    ]
    for op, g in sorted(gaps.items()):
        lines.append(f"| `{op}` | {', '.join(map(str, sorted(g['opsets'])))} | "
                     f"{', '.join(sorted(g['models']))} | {covering.get(op, '—')} | "
                     f"{', '.join(map(str, sorted(g['left']))) or '—'} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
