"""Benchmark `analyzer.analyze` against onnx's own load + check on large synthetic graphs.

For each graph size (default 100,000 nodes, plus 10,000 to show how the cost grows) it builds a
synthetic but realistic ONNX model (a residual chain of MatMul / Add / Gelu / Mul /
LayerNormalization / Transpose / Reshape / Softmax / Relu blocks, a quarter of them in float16
between Casts, and now and then an LpNormalization, which CUDA has no kernel for and which
therefore falls back to CPU), checks that it passes `onnx.checker.check_model(full_check=True)`,
saves it to a temporary file and measures, each run in a fresh Python process:

  a   onnx.load(path) + onnx.checker.check_model(model)     the baseline of the goals
  a2  the same with check_model(full_check=True)              also strict shape inference, as
                                                              analyze runs it (for reference)
  b   analyze(path, providers=())                             inventory + schema checks only
  c   analyze(path, providers=("cuda", "cpu"))                plus the placement prediction

Goals printed beside the ratios: b/a <= 2.0 and c/b <= 1.5 (best times).

Seconds are wall time of the measured call only (imports excluded); peak MiB is the child's
ru_maxrss after the call minus its ru_maxrss after its imports. Each measurement is repeated
(--repeat, default 3); the table shows the best and the median.

    python benchmarks/bench_analyze.py                      # 100k and 10k nodes
    python benchmarks/bench_analyze.py --nodes 50000 --repeat 5 --json out.json
    python benchmarks/bench_analyze.py --profile             # also cProfile analyze at 100k
    python benchmarks/bench_analyze.py --profile-only --nodes 100000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent

#: Goals printed beside the ratios.
GOAL_B_OVER_A = 2.0
GOAL_C_OVER_B = 1.5

CASES: dict[str, str] = {
    "a": "onnx.load + onnx.checker.check_model(model)",
    "a2": "onnx.load + check_model(model, full_check=True)",
    "b": "analyze(providers=())",
    "c": "analyze(cuda, cpu)",
}

OPSET = 21
IR_VERSION = 10
# Activation shape [batch, seq, hidden]: small, so the file size is dominated by the graph.
B, S, H = 1, 4, 8


# ------------------------------------------------------------------------------------------
# The synthetic model


def build_model(n_nodes: int, *, lp_every: int = 64, fp16_every: int = 4) -> Any:
    """A chain of residual blocks with exactly `n_nodes` nodes, valid for the full checker.

    Block kinds, in a fixed cycle (block i):
      * fp32 (10 nodes): MatMul, Add(bias), Gelu, Mul(scale), Add(residual), LayerNormalization,
        Transpose, Reshape, Softmax, Relu;
      * fp16, when i % fp16_every == fp16_every - 2 (11 nodes): Cast to float16, MatMul, Add,
        Relu, Mul(residual), LayerNormalization, Softmax, Transpose, Reshape, Gelu, Cast back;
      * fallback, when i % lp_every == lp_every - 1 (4 nodes): LpNormalization (no CUDA kernel:
        runs on CPU, with a device copy on each side), Add(residual), Mul(scale), Relu.
    Every block has its own small weights (8x8 MatMul weight, bias, LayerNorm scale/bias);
    the Reshape target shape and the Mul scale are shared initializers. The chain is padded
    with Relu nodes to reach exactly `n_nodes`.
    """
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    nodes: list[Any] = []
    inits: list[Any] = []
    make_node = helper.make_node

    def const(name: str, array: Any) -> str:
        inits.append(numpy_helper.from_array(array, name))
        return name

    shape_bsh = const("shape_bsh", np.array([B, S, H], dtype=np.int64))
    scale32 = const("scale_f32", np.array(0.5, dtype=np.float32))

    def block_fp32(i: int, x: str) -> str:
        p = f"blk{i}"
        w = const(f"{p}.w", rng.standard_normal((H, H), dtype=np.float32))
        b = const(f"{p}.b", rng.standard_normal(H, dtype=np.float32))
        g = const(f"{p}.ln_g", np.ones(H, dtype=np.float32))
        be = const(f"{p}.ln_b", np.zeros(H, dtype=np.float32))
        nodes.extend([
            make_node("MatMul", [x, w], [f"{p}/mm"], name=f"{p}/MatMul"),
            make_node("Add", [f"{p}/mm", b], [f"{p}/bias"], name=f"{p}/Add_bias"),
            make_node("Gelu", [f"{p}/bias"], [f"{p}/gelu"], name=f"{p}/Gelu"),
            make_node("Mul", [f"{p}/gelu", scale32], [f"{p}/scaled"], name=f"{p}/Mul"),
            make_node("Add", [f"{p}/scaled", x], [f"{p}/res"], name=f"{p}/Add_res"),
            make_node("LayerNormalization", [f"{p}/res", g, be], [f"{p}/ln"],
                      name=f"{p}/LayerNorm", axis=-1, epsilon=1e-5),
            make_node("Transpose", [f"{p}/ln"], [f"{p}/tr"], name=f"{p}/Transpose",
                      perm=[0, 2, 1]),
            make_node("Reshape", [f"{p}/tr", shape_bsh], [f"{p}/rs"], name=f"{p}/Reshape"),
            make_node("Softmax", [f"{p}/rs"], [f"{p}/sm"], name=f"{p}/Softmax", axis=-1),
            make_node("Relu", [f"{p}/sm"], [f"{p}/out"], name=f"{p}/Relu"),
        ])
        return f"{p}/out"

    def block_fp16(i: int, x: str) -> str:
        p = f"blk{i}"
        w = const(f"{p}.w16", rng.standard_normal((H, H)).astype(np.float16))
        b = const(f"{p}.b16", rng.standard_normal(H).astype(np.float16))
        g = const(f"{p}.ln_g16", np.ones(H, dtype=np.float16))
        be = const(f"{p}.ln_b16", np.zeros(H, dtype=np.float16))
        nodes.extend([
            make_node("Cast", [x], [f"{p}/h"], name=f"{p}/Cast_to16", to=TensorProto.FLOAT16),
            make_node("MatMul", [f"{p}/h", w], [f"{p}/mm"], name=f"{p}/MatMul"),
            make_node("Add", [f"{p}/mm", b], [f"{p}/bias"], name=f"{p}/Add_bias"),
            make_node("Relu", [f"{p}/bias"], [f"{p}/relu"], name=f"{p}/Relu"),
            make_node("Mul", [f"{p}/relu", f"{p}/h"], [f"{p}/gate"], name=f"{p}/Mul_gate"),
            make_node("LayerNormalization", [f"{p}/gate", g, be], [f"{p}/ln"],
                      name=f"{p}/LayerNorm", axis=-1),
            make_node("Softmax", [f"{p}/ln"], [f"{p}/sm"], name=f"{p}/Softmax", axis=-1),
            make_node("Transpose", [f"{p}/sm"], [f"{p}/tr"], name=f"{p}/Transpose",
                      perm=[0, 2, 1]),
            make_node("Reshape", [f"{p}/tr", shape_bsh], [f"{p}/rs"], name=f"{p}/Reshape"),
            make_node("Gelu", [f"{p}/rs"], [f"{p}/gelu"], name=f"{p}/Gelu", approximate="tanh"),
            make_node("Cast", [f"{p}/gelu"], [f"{p}/out"], name=f"{p}/Cast_to32",
                      to=TensorProto.FLOAT),
        ])
        return f"{p}/out"

    def block_lp(i: int, x: str) -> str:
        p = f"blk{i}"
        nodes.extend([
            make_node("LpNormalization", [x], [f"{p}/lp"], name=f"{p}/LpNormalization",
                      axis=-1, p=2),
            make_node("Add", [f"{p}/lp", x], [f"{p}/res"], name=f"{p}/Add_res"),
            make_node("Mul", [f"{p}/res", scale32], [f"{p}/scaled"], name=f"{p}/Mul"),
            make_node("Relu", [f"{p}/scaled"], [f"{p}/out"], name=f"{p}/Relu"),
        ])
        return f"{p}/out"

    x = "input"
    i = 0
    while True:
        if i % lp_every == lp_every - 1:
            build, size = block_lp, 4
        elif i % fp16_every == fp16_every - 2:
            build, size = block_fp16, 11
        else:
            build, size = block_fp32, 10
        if len(nodes) + size > n_nodes:
            break
        x = build(i, x)
        i += 1
    k = 0
    while len(nodes) < n_nodes:
        nodes.append(make_node("Relu", [x], [f"pad{k}"], name=f"pad/Relu_{k}"))
        x = f"pad{k}"
        k += 1
    # Give the last tensor the graph output's name.
    nodes[-1].output[0] = "output"

    graph = helper.make_graph(
        nodes,
        "bench_analyze",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [B, S, H])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [B, S, H])],
        initializer=inits,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        ir_version=IR_VERSION,
        producer_name="onnx-preflight-bench",
    )
    assert len(model.graph.node) == n_nodes
    return model


def build_child(n_nodes: int, path: str, verify: bool) -> None:
    """Build, optionally full-check, and save the model; print facts about it as JSON.

    Runs in its own process so that the parent stays small: Linux carries ru_maxrss over fork
    and exec, so a parent that had held a 100k-node model would give every measuring child a
    peak RSS floor of its own size and hide the child's real peak.
    """
    import onnx
    import onnx.checker

    t0 = time.perf_counter()
    model = build_model(n_nodes)
    facts: dict[str, Any] = {"build_s": round(time.perf_counter() - t0, 3)}
    if verify:
        t0 = time.perf_counter()
        onnx.checker.check_model(model, full_check=True)
        facts["full_check_s"] = round(time.perf_counter() - t0, 3)
    onnx.save_model(model, path)
    ops: dict[str, int] = {}
    for node in model.graph.node:
        ops[node.op_type] = ops.get(node.op_type, 0) + 1
    facts.update(
        file_mib=round(os.path.getsize(path) / 2**20, 2),
        initializers=len(model.graph.initializer),
        ops=dict(sorted(ops.items())),
    )
    print(json.dumps(facts))


def write_model(n_nodes: int, folder: Path, verify: bool) -> tuple[Path, dict[str, Any]]:
    """Build the model in a child process; return its path and facts about it."""
    path = folder / f"bench_{n_nodes}.onnx"
    command = [sys.executable, str(Path(__file__).resolve()), "--_build", str(n_nodes), str(path)]
    if not verify:
        command.append("--no-verify")
    proc = subprocess.run(command, capture_output=True, text=True, cwd=REPO_ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"building the {n_nodes}-node model failed:\n{proc.stderr}")
    return path, json.loads(proc.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------------------
# The child process: one measurement, printed as one JSON line


def _peak_kib() -> int:
    import resource

    # Linux reports ru_maxrss in KiB (macOS in bytes).
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak


def _vmhwm_kib() -> int | None:
    """Linux's own high-water mark of this process's memory (reset by exec), a cross-check."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def child(case: str, path: str) -> None:
    sys.path.insert(0, str(REPO_ROOT))
    if case in ("a", "a2"):
        import onnx
        import onnx.checker

        full = case == "a2"

        def run() -> object:
            model = onnx.load(path)
            onnx.checker.check_model(model, full_check=full)
            return model
    else:
        from analyzer.workflows.onnx_preflight import analyze

        providers: tuple[str, ...] = () if case == "b" else ("cuda", "cpu")

        def run() -> object:
            return analyze(path, providers=providers)

    base, hwm_base = _peak_kib(), _vmhwm_kib()
    t0 = time.perf_counter()
    result = run()
    seconds = time.perf_counter() - t0
    peak, hwm = _peak_kib(), _vmhwm_kib()
    out: dict[str, Any] = {"seconds": seconds, "peak_mib": (peak - base) / 1024,
                           "baseline_mib": base / 1024}
    if hwm is not None and hwm_base is not None:
        out["vmhwm_peak_mib"] = (hwm - hwm_base) / 1024
    if case in ("b", "c"):
        report: Any = result
        out["findings"] = sorted({f.id for f in report.findings})
        out["nodes"] = report.model.nodes
    print(json.dumps(out))


def measure(case: str, path: Path, repeat: int) -> dict[str, Any]:
    runs = []
    for _ in range(repeat):
        proc = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--_child", case, str(path)],
            capture_output=True, text=True, cwd=REPO_ROOT,
        )
        if proc.returncode != 0:
            raise SystemExit(f"case {case} failed on {path}:\n{proc.stderr}")
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    secs = [r["seconds"] for r in runs]
    mibs = [r["peak_mib"] for r in runs]
    out = {
        "case": case,
        "what": CASES[case],
        "best_s": min(secs),
        "median_s": statistics.median(secs),
        "runs_s": secs,
        "peak_mib": min(mibs),
        "peak_mib_median": statistics.median(mibs),
        "baseline_mib": runs[0]["baseline_mib"],
    }
    if "vmhwm_peak_mib" in runs[0]:
        out["vmhwm_peak_mib"] = min(r["vmhwm_peak_mib"] for r in runs)
    for key in ("findings", "nodes"):
        if key in runs[0]:
            out[key] = runs[0][key]
    return out


# ------------------------------------------------------------------------------------------
# Profiling


def profile_child(path: str, top: int) -> None:
    import cProfile
    import pstats

    sys.path.insert(0, str(REPO_ROOT))
    from analyzer.workflows.onnx_preflight import analyze

    profiler = cProfile.Profile()
    profiler.enable()
    analyze(path, providers=("cuda", "cpu"))
    profiler.disable()
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.strip_dirs()
    print(f"--- cProfile: analyze({Path(path).name}, providers=('cuda', 'cpu')), "
          f"top {top} by cumulative time ---")
    stats.sort_stats("cumulative").print_stats(top)
    print(f"--- top {top} by internal (own) time ---")
    stats.sort_stats("tottime").print_stats(top)


def run_profile(path: Path, top: int) -> None:
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--_profile", str(path),
         "--top", str(top)],
        capture_output=True, text=True, cwd=REPO_ROOT,
    )
    sys.stdout.write(proc.stdout)
    if proc.returncode != 0:
        raise SystemExit(f"profiling failed:\n{proc.stderr}")


# ------------------------------------------------------------------------------------------
# Reporting


def _ratio(x: float, y: float) -> float:
    return x / y if y else float("inf")


def print_table(results: list[dict[str, Any]], repeat: int) -> dict[str, Any]:
    print()
    print(f"seconds: best of {repeat} fresh processes (median); MiB: peak RSS growth in the call")
    for k, what in CASES.items():
        print(f"  {k:>2} = {what}")
    width = 22
    head = (f"{'nodes':>7} |" + "|".join(f" {k + ': s (med)  MiB':<{width}}" for k in CASES)
            + f"| {'b/a':>5} {'c/b':>5} {'b/a2':>5}")
    print(head)
    print("-" * len(head))
    summary: dict[str, Any] = {"sizes": []}
    for res in results:
        cases = res["cases"]
        cells = []
        for k in CASES:
            c = cases[k]
            cell = f"{c['best_s']:.3f} ({c['median_s']:.3f}) {c['peak_mib']:5.0f}"
            cells.append(f" {cell:<{width}}")
        ratios = {
            "b_over_a": _ratio(cases["b"]["best_s"], cases["a"]["best_s"]),
            "c_over_b": _ratio(cases["c"]["best_s"], cases["b"]["best_s"]),
            "b_over_a2": _ratio(cases["b"]["best_s"], cases["a2"]["best_s"]),
            "b_over_a_median": _ratio(cases["b"]["median_s"], cases["a"]["median_s"]),
            "c_over_b_median": _ratio(cases["c"]["median_s"], cases["b"]["median_s"]),
        }
        print(f"{res['nodes']:>7} |" + "|".join(cells)
              + f"| {ratios['b_over_a']:5.2f} {ratios['c_over_b']:5.2f} {ratios['b_over_a2']:5.2f}")
        summary["sizes"].append({"nodes": res["nodes"], **ratios})
    print()
    for s in summary["sizes"]:
        ok_ba = "met" if s["b_over_a"] <= GOAL_B_OVER_A else "MISSED"
        ok_cb = "met" if s["c_over_b"] <= GOAL_C_OVER_B else "MISSED"
        print(f"{s['nodes']:>7} nodes: b/a = {s['b_over_a']:.2f} "
              f"(median {s['b_over_a_median']:.2f}), goal <= {GOAL_B_OVER_A}: {ok_ba};  "
              f"c/b = {s['c_over_b']:.2f} "
              f"(median {s['c_over_b_median']:.2f}), goal <= {GOAL_C_OVER_B}: {ok_cb}")
    if len(results) >= 2:
        small = min(results, key=lambda r: r["nodes"])
        large = max(results, key=lambda r: r["nodes"])
        growth: dict[str, float] = {}
        print(f"per-node cost, {large['nodes']} vs {small['nodes']} nodes (best times; "
              "1.00 = linear growth):")
        for k in CASES:
            per_small = small["cases"][k]["best_s"] / small["nodes"]
            per_large = large["cases"][k]["best_s"] / large["nodes"]
            growth[k] = _ratio(per_large, per_small)
            print(f"  {k:>2}: {per_large * 1e6:6.1f} vs {per_small * 1e6:6.1f} us/node = "
                  f"{growth[k]:.2f}x")
        summary["per_node_cost_ratio"] = {
            "large": large["nodes"], "small": small["nodes"], **growth
        }
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, nargs="+", default=[100_000, 10_000],
                        help="graph sizes to measure (default: 100000 10000)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="fresh-process runs per measurement (default 3)")
    parser.add_argument("--json", metavar="FILE", help="write the figures as JSON to FILE")
    parser.add_argument("--profile", action="store_true",
                        help="also cProfile analyze(cuda, cpu) on the largest graph")
    parser.add_argument("--profile-only", action="store_true",
                        help="only build the largest graph and profile analyze on it")
    parser.add_argument("--top", type=int, default=25, help="profile rows to print (default 25)")
    parser.add_argument("--no-verify", action="store_true",
                        help="skip onnx.checker.check_model(full_check=True) on the built graphs")
    parser.add_argument("--keep", metavar="DIR",
                        help="write the models to DIR and keep them (default: a temp folder)")
    parser.add_argument("--_child", nargs=2, metavar=("CASE", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--_profile", metavar="PATH", help=argparse.SUPPRESS)
    parser.add_argument("--_build", nargs=2, metavar=("NODES", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args._build:
        build_child(int(args._build[0]), args._build[1], verify=not args.no_verify)
        return 0

    if args._child:
        child(*args._child)
        return 0
    if args._profile:
        profile_child(args._profile, args.top)
        return 0

    sizes = sorted(set(args.nodes), reverse=True)
    tmp = None
    if args.keep:
        folder = Path(args.keep)
        folder.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="bench_analyze_")
        folder = Path(tmp.name)
    try:
        print(f"python {platform.python_version()} on {platform.machine()}, "
              f"{os.cpu_count()} CPUs; models in {folder}")
        if args.profile_only:
            path, facts = write_model(sizes[0], folder, verify=not args.no_verify)
            print(f"{sizes[0]} nodes: {facts}")
            run_profile(path, args.top)
            return 0
        results = []
        for n in sizes:
            path, facts = write_model(n, folder, verify=not args.no_verify)
            print(f"{n} nodes: {facts}", flush=True)
            cases = {k: measure(k, path, args.repeat) for k in CASES}
            for k in ("b", "c"):
                if cases[k].get("nodes") != n:
                    raise SystemExit(f"analyze saw {cases[k].get('nodes')} nodes, expected {n}")
            print(f"  findings (c): {cases['c'].get('findings')}", flush=True)
            results.append({"nodes": n, "model": facts, "cases": cases})
        summary = print_table(results, args.repeat)
        if args.json:
            payload = {
                "benchmark": "bench_analyze",
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "repeat": args.repeat,
                "goals": {"b_over_a": GOAL_B_OVER_A, "c_over_b": GOAL_C_OVER_B},
                "results": results,
                "summary": summary,
            }
            Path(args.json).write_text(json.dumps(payload, indent=2) + "\n")
            print(f"wrote {args.json}")
        if args.profile:
            print()
            run_profile(folder / f"bench_{sizes[0]}.onnx", args.top)
    finally:
        if tmp is not None:
            tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
