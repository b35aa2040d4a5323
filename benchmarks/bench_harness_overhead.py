"""How much does `analyzer.runtime.bench` add to what it measures?

The same model is timed two ways in one process, in interleaved blocks (bare, bench, bench,
bare, ...) so that drift in clock speed or load hits both alike:

  bare   an InferenceSession and a loop of `session.run(None, feeds)`, each run timed with
         time.perf_counter_ns (the least a timing loop can do)
  bench  `bench(model, ...)` with the same warm-up, iteration count and threads

and prints p50(bench) / p50(bare), pooled over all blocks, with the median of the per-block
ratios. Goal: the harness adds at most 3% (ratio <= 1.03).

Two built-in models by default: "tiny" (one Relu on 1x64: about 10 us a run, where any
per-run overhead shows most) and "medium" (four 64x256 @ 256x256 MatMuls: a few hundred us).

    python benchmarks/bench_harness_overhead.py
    python benchmarks/bench_harness_overhead.py --model model.onnx --blocks 20 --iterations 500
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import onnx
import onnxruntime as ort
from onnx import helper

from analyzer.runtime.bench import bench
from analyzer.runtime.bench_inputs import make_inputs
from tests.fixtures.bench_models import heavy_model

GOAL = 1.03


def tiny() -> onnx.ModelProto:
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])], "tiny",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 64])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 64])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def medium(depth: int = 4) -> onnx.ModelProto:
    """The tests' MatMul chain (tests.fixtures.bench_models), four deep."""
    return heavy_model(depth)


def bare(model: onnx.ModelProto, warmup: int, iterations: int, threads: int | None) -> list[int]:
    """The reference loop: a session, the same seeded feeds, perf_counter_ns around run."""
    opts = ort.SessionOptions()
    if threads is not None:
        opts.intra_op_num_threads = threads
    session = ort.InferenceSession(model.SerializeToString(), opts,
                                   providers=["CPUExecutionProvider"])
    feeds, _, _ = make_inputs(model, None, 0)
    for _ in range(warmup + 1):
        session.run(None, feeds)
    samples = []
    clock = time.perf_counter_ns
    for _ in range(iterations):
        t0 = clock()
        session.run(None, feeds)
        samples.append(clock() - t0)
    return samples


def harness(model: onnx.ModelProto, warmup: int, iterations: int,
            threads: int | None) -> list[int]:
    result = bench(model, warmup=warmup, iterations=iterations, threads=threads,
                   placement=False, progress=False)
    return [round(ms * 1e6) for ms in result.runs[0].samples_ms]


def measure(name: str, model: onnx.ModelProto, args: argparse.Namespace) -> float:
    pooled_bare: list[int] = []
    pooled_bench: list[int] = []
    ratios: list[float] = []
    for block in range(args.blocks):
        order = ("bare", "bench") if block % 2 == 0 else ("bench", "bare")
        got: dict[str, list[int]] = {}
        for which in order:
            fn = bare if which == "bare" else harness
            got[which] = fn(model, args.warmup, args.iterations, args.threads)
        pooled_bare += got["bare"]
        pooled_bench += got["bench"]
        ratios.append(statistics.median(got["bench"]) / statistics.median(got["bare"]))
    p50_bare = statistics.median(pooled_bare) / 1e3
    p50_bench = statistics.median(pooled_bench) / 1e3
    ratio = p50_bench / p50_bare
    verdict = "ok" if ratio <= GOAL else "OVER GOAL"
    print(f"{name:<8} p50 bare {p50_bare:9.2f} us   p50 bench {p50_bench:9.2f} us   "
          f"ratio {ratio:.4f} (median of {args.blocks} block ratios "
          f"{statistics.median(ratios):.4f}, range {min(ratios):.3f}-{max(ratios):.3f})  "
          f"goal <= {GOAL}: {verdict}")
    return ratio


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="an .onnx file instead of the built-in ones")
    parser.add_argument("--blocks", type=int, default=10)
    parser.add_argument("--iterations", type=int, default=300, help="timed runs per block")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1,
                        help="intra-op threads for both (default 1: steadier numbers)")
    args = parser.parse_args()
    print(f"onnxruntime {ort.__version__}; {args.blocks} interleaved blocks of "
          f"{args.iterations} runs, warm-up {args.warmup}, threads {args.threads}")
    models = ({args.model.name: onnx.load(args.model)} if args.model
              else {"tiny": tiny(), "medium": medium()})
    worst = max(measure(name, m, args) for name, m in models.items())
    return 0 if worst <= GOAL else 1


if __name__ == "__main__":
    raise SystemExit(main())
