"""docs/findings.md and docs/errors.md, generated from the two registries.

The docs are written by this module, never by hand, so they cannot drift from the ids and codes
the code uses: `python -m analyzer.registry_docs --write` regenerates them, `--check` (and
tests/analyzer/test_registries.py) fails when the checked-in files differ.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from analyzer.error_codes import ERROR_CODES, ErrorCode, Group
from analyzer.finding_ids import FAMILIES, FINDINGS, FindingKind
from analyzer.safe_write import write_atomically

DOCS = Path(__file__).resolve().parents[1] / "docs"

_GENERATED = ("<!-- Generated from analyzer/{source} by `python -m analyzer.registry_docs "
              "--write`; edit the registry, not this file. -->")


def _row(cells: Iterable[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    return [_row(header), "|" + "---|" * len(header), *(_row(r) for r in rows)]


# ---- docs/findings.md ---------------------------------------------------------------------------

_FINDINGS_INTRO = """\
# Finding ids

Every finding has a stable id: a family prefix and a number. Ids are never reused for another
meaning; a new check gets a new id (registered in `analyzer/finding_ids.py`: a `Finding` with an
unregistered id, or with a severity its id does not allow, is refused when it is made).

Fixes of kind `rewrite` name a rule of docs/rewrites.md; they are added after the checks run
(`analyzer/checks/rewrite_fixes.py`) where the rule targets the finding's op and would fire.
"""

_FINDINGS_OUTRO = """\
Severity drives the verdict: any error -> `fail`, else any warning -> `warn`, else `pass`.
`--fail-on warning` makes the CLI exit 1 on a `warn` verdict too.

## The verdict contract

`fail` means the target will fail: onnxruntime cannot create a session on a listed provider,
the exporter or converter fails, or the delivered opset is not the requested one (for `verify`:
the outputs differ from the reference). Each id's severity rule (the table's column) applies
this contract to what the id reports. Violations of the ONNX spec that onnxruntime tolerates
(SCH204, SCH206 as warnings) are warnings whose message says who rejects them; `analyze
--strict` (Python: `analyze(..., strict=True)`) makes them errors, for pipelines whose other
consumers validate with onnx.checker. What onnxruntime refuses of onnx's complaints is modelled
in `analyzer/checks/ort_load_rules.py` and tested against real sessions
(`tests/analyzer/test_verdict_contract.py`).
"""


def _finding_row(kind: FindingKind) -> list[str]:
    return [kind.id, " / ".join(kind.severities), kind.area, kind.title, kind.doc,
            kind.fixes or "—", kind.severity_rule]


def findings_markdown() -> str:
    """The text of docs/findings.md."""
    lines = [_GENERATED.format(source="finding_ids.py"), "", _FINDINGS_INTRO]
    lines += _table(("id", "severity", "family", "title", "meaning", "fixes offered",
                     "severity rule"),
                    (_finding_row(k) for k in FINDINGS.values()))
    lines += ["", "## Ids with more than one severity", "",
              "The first severity is the usual one.", ""]
    several: dict[tuple[str, str], list[str]] = {}
    for k in FINDINGS.values():
        if k.also:
            several.setdefault((" / ".join(k.severities), k.why), []).append(k.id)
    lines += [f"- {', '.join(ids)} ({severities}): {why}"
              for (severities, why), ids in several.items()]
    lines += ["", "## Families", ""]
    lines += _table(("prefix", "numbers and subject"), FAMILIES.items())
    lines += ["", _FINDINGS_OUTRO]
    return "\n".join(lines).rstrip("\n") + "\n"


# ---- docs/errors.md -----------------------------------------------------------------------------

_ERRORS_INTRO = """\
# Input error codes

Bad input never produces a traceback. It raises `analyzer.errors.InputError`, which the CLI prints
as one line and exits with status 2:

```
PATH: message [CODE]
```

The message starts in lower case, names what is wrong concretely, and where possible says what to
do. The `CODE` is stable: scripts and CI may match on it. A code is never reused for another
meaning; a new kind of failure gets a new code (registered in `analyzer/error_codes.py`:
`InputError` refuses an unregistered code). Messages may be reworded.
"""

_ONNX_INTRO = """\
## ONNX models (`analyzer.sources.onnx_loader.load_onnx`)

`load_onnx(path_or_model, *, max_file_bytes=4 GiB, max_nodes=5_000_000, max_subgraph_depth=32)`
parses the model without loading external data, vets it, and returns a `LoadedModel` (`model`,
`path`, `file_bytes`, `external_data`, `over_2gb`). The limits (`analyzer.limits`; `None`
lifts the first two) are the CLI's `--max-file-size`, `--max-nodes` and `--max-subgraph-depth`;
a refusal names the limit and says how to raise it. The checks run in the order of this table;
the first failure is reported.
The file-level codes (the first group, down to `EMPTY_FILE`) are shared by every source reader
(ONNX, TensorFlow, TFLite, Keras, PyTorch `--weights`): they come from
`analyzer.sources.untrusted_file`, which stats the path without opening it, applies the size
limit, and reads at most the limit.
"""

_EXTERNAL_DATA = """\
What is checked for external data, and what is not:

- Every tensor whose `data_location` is `EXTERNAL` is checked: initializers and sparse
  initializers (values and indices) of the main graph, of every subgraph at any depth, and of
  training graphs; and tensors held in node attributes (`Constant` values and the like), also
  inside local functions.
- Files are only `stat`ed, never opened: weights are not read. The sizes are recorded in
  `LoadedModel.external_data` (`ExternalTensorRef`: name, location, offset, length, resolved
  path, size on disk).
- The model's folder is the folder of the path as given (where onnx and onnxruntime look), with
  symlinks resolved before the containment check.
"""

_OTHER_INTRO = """\
## Raised elsewhere

`verify`'s codes (`VERIFY_*`) are also described in docs/verify.md. `BATCH_NO_MODELS`,
`WORKER_CRASHED` and `INTERNAL` are not raised: batch `analyze` writes them in a model's row.
"""

_TF_INTRO = """\
## TensorFlow sources (`analyzer.workflows.tf_preflight.read_tf_source`)

The file-level codes above (`FILE_NOT_FOUND`, `IS_DIRECTORY`, `NOT_A_FILE`, `UNREADABLE`,
`FILE_TOO_LARGE`, `EMPTY_FILE`) apply too: to the `.pb`, `.meta`, `.tflite`, `.keras` / `.h5`
file, and to a SavedModel's `saved_model.pb` (or `.pbtxt`). `--max-file-size` bounds the file
each reader loads into memory, as for ONNX files (a Keras file is loaded by Keras itself: only its
size is checked).
"""

_CORPUS_INTRO = """\
## The bad-input corpus, and what is a finding instead

`tests/fixtures/bad_inputs.py` builds 90 bad inputs in code (ONNX files, external data layouts,
PyTorch factories and checkpoints); `tests/reliability/test_bad_inputs_cli.py` runs every one
through `onnx-preflight analyze` and asserts exit status 2, one stderr line naming the file with
the code above, no traceback, no output file, and the input files byte-identical with unchanged
mtimes. Some defects are what the report is for, so they are findings (exit 0/1), not input
errors:
"""

#: (input, outcome, why) of the corpus cases that are findings, not input errors.
_FINDING_NOT_ERROR: tuple[tuple[str, str, str], ...] = (
    ("an op in a custom domain nobody knows", "SCH205 (warning) and EP301 (error: no kernel)",
     "custom domains are legitimate (contrib ops, plugin libraries); the report says what is "
     "missing"),
    ("an op name the default domain lacks", "SCH201 (error), with close matches",
     "a compatibility problem, the report's subject"),
    ("nodes out of topological order, acyclic", "SCH204 (warning, onnx.checker)",
     "onnxruntime sorts them itself and loads the model; the analysis is well defined"),
    ("a SavedModel whose graph writes files or calls Python (`WriteFile`, `EagerPyFunc`)",
     "a report (TensorFlow findings)",
     "the graph is read as data and never run (`tests/reliability/test_tf_inputs.py`)"),
)


def _codes(group: Group) -> list[ErrorCode]:
    return [c for c in ERROR_CODES.values() if c.group == group]


def _raised_by(code: ErrorCode) -> str:
    return ", ".join(f"`{m}`" for m in code.raised_by)


def errors_markdown() -> str:
    """The text of docs/errors.md."""
    lines = [_GENERATED.format(source="error_codes.py"), "", _ERRORS_INTRO, _ONNX_INTRO]
    lines += _table(("code", "title", "meaning", "example message"),
                    ((f"`{c.code}`", c.title, c.doc, f"`{c.example}`") for c in _codes("onnx")))
    lines += ["", _EXTERNAL_DATA, _OTHER_INTRO]
    lines += _table(("code", "raised by", "title", "meaning"),
                    ((f"`{c.code}`", _raised_by(c), c.title, c.doc) for c in _codes("other")))
    lines += ["", _TF_INTRO]
    lines += _table(("code", "raised by", "title", "meaning"),
                    ((f"`{c.code}`", _raised_by(c), c.title, c.doc) for c in _codes("tf")))
    lines += ["", _CORPUS_INTRO]
    lines += _table(("input", "outcome", "why"), _FINDING_NOT_ERROR)
    return "\n".join(lines).rstrip("\n") + "\n"


# ---- the command --------------------------------------------------------------------------------

def generated(docs: Path = DOCS) -> dict[Path, str]:
    """Each generated doc's path and its text."""
    return {docs / "findings.md": findings_markdown(), docs / "errors.md": errors_markdown()}


def stale(docs: Path = DOCS) -> list[Path]:
    """The generated docs whose checked-in text differs from what the registries give."""
    return [p for p, text in generated(docs).items()
            if not p.is_file() or p.read_text(encoding="utf-8") != text]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analyzer.registry_docs",
                                     description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="regenerate the docs")
    mode.add_argument("--check", action="store_true", help="exit 1 if a doc is stale")
    args = parser.parse_args(argv)
    if args.write:
        for path, text in generated().items():
            write_atomically(path, text)
        return 0
    out_of_date = stale()
    for path in out_of_date:
        print(f"{path}: differs from the registry; run python -m analyzer.registry_docs --write",
              file=sys.stderr)
    return 1 if out_of_date else 0


if __name__ == "__main__":
    sys.exit(main())
