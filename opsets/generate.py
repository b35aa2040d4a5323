"""Regenerate the shipped support tables: `python -m opsets.generate`.

The generators (opsets.generators) read the installed onnx, onnxruntime, torch and tf2onnx;
the lookups beside this module only read what this writes to opsets/data/.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from opsets.generators.write import DATA_DIR, write_tables


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m opsets.generate", description=__doc__)
    parser.add_argument("--out-dir", type=Path, default=DATA_DIR, help="where to write the JSON")
    args = parser.parse_args(argv)
    for path in write_tables(args.out_dir):
        print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
