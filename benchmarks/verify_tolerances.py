"""Measured float32 errors behind verify's default tolerances (docs/verify.md, "Measured").

Framework references: torch-corpus models (tests/fixtures/torch_corpus.py) exported with
torch.onnx (TorchScript exporter, opset 17, and the dynamo exporter), verified against their
modules on ORT CPU with seeded random inputs. TensorFlow references (--tf): the TF rescue
corpus (tests/fixtures/tf_rescue_corpus.py) exported with `onnx-preflight export --rewrite` at
each case's opset (the rewrite rules applied), and again at opset 17 without rewrites where
tf2onnx converts it alone, verified against the Keras / SavedModel / TFLite source.
ONNX references: the onnx package's test data (shipped expected outputs) and light/ models (ORT
against ORT with graph optimizations off).
For each output: max abs, max rel, and the margin (max |a - e| / (atol + rtol |e|)) at
rtol/atol 1e-5/1e-5 and 1e-4/1e-5.

    PYTHONPATH=. python benchmarks/verify_tolerances.py [--dynamo] [--onnx] [--tf] [--no-torch]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import warnings
from pathlib import Path

from analyzer.cli.main import main as cli_main
from analyzer.errors import InputError
from analyzer.runtime.verify import verify

MODELS = ("mlp", "conv_bn_relu", "sdpa", "sdpa_mask", "multihead_attention",
          "transformer_encoder_layer", "gelu", "gelu_tanh", "mish", "silu", "hardswish",
          "layer_norm", "group_norm", "instance_norm", "lstm", "gru", "conv_transpose",
          "timm_like_exportable", "einsum", "interpolate_bilinear", "pixel_shuffle", "cumsum",
          "grid_sample")
TOLERANCES = ((1e-5, 1e-5), (1e-4, 1e-5))


def _row(label: str, path: Path | str, reference: object, **kw: object) -> None:
    try:
        runs = [verify(path, reference=reference, rtol=r, atol=a, **kw) for r, a in TOLERANCES]
    except InputError as exc:
        print(f"{label:<40} skipped: {exc.message[:80]}")
        return
    for k, o in enumerate(runs[0].samples[0].outputs):
        if o.dtype != "float32":
            continue
        worst = [max((s.outputs[k] for s in r.samples), key=lambda p: p.margin or 0)
                 for r in runs]
        print(f"{label:<40} {o.name[:16]:<16} max_abs {worst[0].max_abs:9.2e} max_rel "
              f"{worst[0].max_rel:9.2e} margin@1e-5 {worst[0].margin or 0:8.3f} "
              f"margin@1e-4 {worst[1].margin or 0:8.3f} ulp {worst[0].ulps or 0:8.1f}")
    sys.stdout.flush()


def torch_rows(dynamo: bool) -> None:
    import torch

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.fixtures.torch_corpus import CORPUS  # the project's corpus (test fixture)

    by_name = {m.name: m for m in CORPUS}
    with tempfile.TemporaryDirectory() as tmp:
        for name in MODELS:
            module, args, kwargs = by_name[name].build()
            if kwargs or not all(isinstance(a, torch.Tensor) for a in args):
                continue
            path = Path(tmp) / f"{name}.onnx"
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    torch.onnx.export(module, args, str(path), dynamo=dynamo,
                                      opset_version=18 if dynamo else 17, verbose=False)
            except Exception as exc:  # noqa: BLE001 - a failed export is not this measure
                print(f"{name:<40} export failed: {str(exc).splitlines()[0][:60]}")
                continue
            _row(f"torch {'dynamo' if dynamo else 'torchscript'} {name}", path, module)


def tf_rows() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    # the project's TF rescue corpus (test fixture); imports tensorflow
    from tests.fixtures.tf_rescue_corpus import CORPUS, write_sources

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        sources = write_sources(root)
        for name, case in CORPUS.items():
            rules = ["--rules", case.rules_named] if case.rules_named else []
            for label, opset, extra in ((f"rewrite opset {case.opset}", case.opset,
                                         ["--rewrite", *rules]),
                                        ("tf2onnx opset 17", 17, [])):
                out = root / f"{name}-{opset}-{len(extra)}.onnx"
                code = cli_main(["export", str(sources[name]), "-o", str(out), "--opset",
                                 str(opset), "--format", "json",
                                 "--report", str(out.with_suffix(".json")), *extra])
                if code != 0 or not out.exists():
                    print(f"tf {label} {name:<27} export failed (exit {code})")
                    continue
                _row(f"tf {label} {name} ({case.kind})", out, str(sources[name]))


def onnx_rows() -> None:
    import os

    import onnx

    light = Path(os.path.dirname(onnx.__file__)) / "backend" / "test" / "data" / "light"
    for path in sorted(light.glob("light_*.onnx")):
        _row(f"ort-unoptimized {path.stem}", path, None, samples=1)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--dynamo", action="store_true", help="also the dynamo exporter")
    p.add_argument("--onnx", action="store_true", help="also ORT vs unoptimized ORT")
    p.add_argument("--tf", action="store_true", help="also the TF rescue corpus vs TensorFlow")
    p.add_argument("--no-torch", action="store_true", help="skip the TorchScript rows")
    args = p.parse_args()
    if not args.no_torch:
        torch_rows(False)
    if args.dynamo:
        torch_rows(True)
    if args.onnx:
        onnx_rows()
    if args.tf:
        tf_rows()


if __name__ == "__main__":
    main()
