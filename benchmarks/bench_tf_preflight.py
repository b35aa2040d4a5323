"""Time of the TF pre-flight (`analyze_tensorflow` on a SavedModel) vs the real tf2onnx
conversion of the same SavedModel, each in a fresh interpreter (so both pay TF's import).

    .venv/bin/python benchmarks/bench_tf_preflight.py [--opset 15]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

BUILD = """
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import keras
keras.utils.set_random_seed(0)
x = keras.Input((32, 32, 3))
y = x
for width in (16, 32, 64):
    y = keras.layers.Conv2D(width, 3, padding="same", activation="hard_swish")(y)
    y = keras.layers.BatchNormalization()(y)
    y = keras.layers.MaxPooling2D()(y)
y = keras.layers.Reshape((16, 64))(y)
y = keras.layers.LayerNormalization()(y)
y = keras.layers.LSTM(32)(y)
keras.Model(x, keras.layers.Dense(10)(y)).export(sys.argv[1], verbose=False)
"""
ANALYZE = ("import sys; from analyzer.workflows.tf_preflight import analyze_tensorflow; "
           "r = analyze_tensorflow(sys.argv[1], opset=int(sys.argv[2])); print(r.verdict)")
CONVERT = ("import sys; from rewrites.tensorflow.convert import convert_tensorflow; "
           "r = convert_tensorflow(sys.argv[1], 'saved_model', int(sys.argv[2]), isolate=False); "
           "print(r.clean)")


def _timed(code: str, *args: str) -> float:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, *args], check=True, env=env, cwd=ROOT,
                   capture_output=True)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--opset", type=int, default=15)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        saved = str(Path(tmp) / "sm")
        subprocess.run([sys.executable, "-c", BUILD, saved], check=True, capture_output=True,
                       env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
        analyze = min(_timed(ANALYZE, saved, str(args.opset)) for _ in range(args.repeat))
        convert = min(_timed(CONVERT, saved, str(args.opset)) for _ in range(args.repeat))
    print(f"SavedModel (conv x3 + layer norm + LSTM), opset {args.opset}, fresh interpreters, "
          f"best of {args.repeat}")
    print(f"  analyze_tensorflow : {analyze:6.2f} s")
    print(f"  tf2onnx conversion : {convert:6.2f} s")
    print(f"  ratio              : {analyze / convert:6.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
