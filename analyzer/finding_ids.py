"""The registry of finding ids: each id's family, severity, meaning and the fixes it offers.

Ids are stable: CI scripts match on them and a retired id is never reused. Every
`analyzer.findings.Finding` is checked against this registry when it is made, and
docs/findings.md is generated from it (`python -m analyzer.registry_docs --write`), so the code
cannot emit an id the docs lack, nor the docs list one the code has forgotten.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

Severity = Literal["error", "warning", "info"]

SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")

#: The id prefixes, each with the number block it uses and what its checks look at.
FAMILIES: Mapping[str, str] = MappingProxyType({
    "EXP": "1xx: PyTorch export (the exporter's translations, the delivered opset)",
    "SCH": "2xx: the ONNX schemas (ops, versions, onnx.checker, shape inference)",
    "EP": "3xx: onnxruntime's execution providers (kernels, placement, the host, a real session)",
    "TRC": "4xx: PyTorch capture (torch.export / torch.jit.trace)",
    "RUN": "5xx: `verify`, numerical parity on onnxruntime",
    "TFC": "6xx: tf2onnx (TensorFlow / TFLite conversion)",
})

#: The verdict contract: `fail` <=> the target will fail. An error is a finding that makes it
#: fail; a warning, something that runs but costs or risks what the message says (or that only
#: a stricter tool rejects: `--strict` makes those errors); info never changes the verdict.
SEVERITY_RULES: Mapping[str, str] = MappingProxyType({
    "error": "error: the target fails",
    "warning": ("warning: the model runs; the message names the cost or the risk "
                "(`--fail-on warning` fails on it)"),
    "info": "info: what the target will do; never changes the verdict",
})
#: The error rule of each family: what "the target fails" means there.
FAMILY_RULES: Mapping[tuple[str, str], str] = MappingProxyType({
    ("SCH", "error"): "error: onnxruntime refuses to create a session for the model",
    ("EP", "error"): ("error: onnxruntime cannot create a session on the listed providers (no "
                      "kernel, or a real session failed)"),
    ("EXP", "error"): ("error: the export fails, or does not deliver the requested opset"),
    ("TRC", "error"): "error: the capture fails, so the export does",
    ("TFC", "error"): "error: the tf2onnx conversion fails or leaves an op unconverted",
    ("RUN", "error"): "error: the model's outputs differ from the reference (verify's verdict)",
})

_ID = re.compile(r"^([A-Z]{2,4})(\d{3})$")


class UnknownFindingId(LookupError):
    """An id that is not in the registry: a typo, or a new check whose id was not registered."""

    def __init__(self, finding_id: object) -> None:
        super().__init__(f"unknown finding id {finding_id!r}: every id must be registered in "
                         "analyzer/finding_ids.py (and docs/findings.md regenerated)")
        self.finding_id = finding_id


@dataclass(frozen=True)
class FindingKind:
    """One finding id: its usual severity (`also`: the others it legitimately takes, `why`
    says when), the docs' family column (`area`), a short title, what it means and the fixes
    it offers (docs text)."""

    id: str
    severity: Severity
    area: str
    title: str
    doc: str
    fixes: str = ""
    also: tuple[Severity, ...] = ()
    why: str = ""
    #: when the usual severity applies, where the family's rule (FAMILY_RULES) does not say it
    rule: str = ""

    def __post_init__(self) -> None:
        match = _ID.match(self.id)
        if match is None or match.group(1) not in FAMILIES:
            raise ValueError(f"finding id {self.id!r} is not FAMILY + 3 digits "
                             f"(families: {', '.join(FAMILIES)})")
        bad = [s for s in (self.severity, *self.also) if s not in SEVERITIES]
        if bad:
            raise ValueError(f"{self.id}: unknown severity {bad[0]!r}")
        if bool(self.also) != bool(self.why):
            raise ValueError(f"{self.id}: a second severity needs a `why`, and only then")

    @property
    def family(self) -> str:
        """The id's prefix: EXP, SCH, EP, TRC, RUN or TFC."""
        return self.id.rstrip("0123456789")

    @property
    def severities(self) -> tuple[Severity, ...]:
        """Every severity a finding of this kind may carry, the usual one first."""
        return (self.severity, *self.also)

    @property
    def severity_rule(self) -> str:
        """Why a finding of this kind has its severity: the verdict contract applied to it."""
        rule = self.rule or FAMILY_RULES.get((self.family, self.severity)) \
            or SEVERITY_RULES[self.severity]
        return f"{rule}; {self.why}" if self.why else rule


_KINDS: dict[str, FindingKind] = {}


def _register(kind: FindingKind) -> FindingKind:
    if kind.id in _KINDS:
        raise ValueError(f"finding id {kind.id} registered twice")
    _KINDS[kind.id] = kind
    return kind


_ANSWERED_BY_RULE = (
    "`export --rewrite` keeps it as info (\"fixed by RULE: ...\") when an applied source rule "
    "(for EXP103 with dynamo: the lowering from opset 18) answers it and the file comes out at "
    "the requested opset")


# ---- schema (SCH2xx) -----------------------------------------------------------------------------

SCH201: FindingKind = _register(FindingKind(
    "SCH201", "error", "schema",
    title="unknown op",
    doc="the op is not an operator of its (ONNX-defined) domain",
    fixes="close matches by name",
))


SCH202: FindingKind = _register(FindingKind(
    "SCH202", "error", "schema",
    title="op newer than the opset",
    doc="the op exists only from a later opset than the model imports (or than `--opset`)",
    fixes=("`opset >= N`; rewrite `onnx:layer-norm-decompose`, `onnx:attention-decompose`, "
           "`onnx:expand-function`, `onnx:approx-relu` (approximate) where they apply"),
))


SCH203: FindingKind = _register(FindingKind(
    "SCH203", "error", "schema",
    title="deprecated op",
    doc=("the op version in force is deprecated; onnxruntime runs onnx's node check at load, "
         "which refuses it"),
    fixes=("the replacement op where ONNX names one; rewrite `onnx:expand-function` for a "
           "deprecated function op"),
))


SCH204: FindingKind = _register(FindingKind(
    "SCH204", "warning", "schema",
    title="onnx.checker rejects the model",
    doc=("`onnx.checker.check_model` rejects the model's structure; the message says whether "
         "onnxruntime refuses it too (`analyzer/checks/ort_load_rules.py`)"),
    fixes="the named field or node",
    also=("error",),
    why=("error when onnxruntime refuses the model too: a check it shares with onnx.checker "
         "fails (onnx's node check, which it runs on every node: unknown or missing attributes, "
         "a deprecated op; an initializer whose data does not match its shape; a graph input "
         "without a type; an undefined element type; a graph output without a name; no "
         "ir_version or opset import), and with `--strict`"),
    rule=("warning: onnx.checker's other demands (a `shape` field on a declared type, a type "
          "on a graph output, names of graphs, functions and initializers, nodes in "
          "topological order) are not checked by onnxruntime, which loads the model; the "
          "message says who rejects it"),
))


SCH207: FindingKind = _register(FindingKind(
    "SCH207", "error", "schema",
    title="onnxruntime refuses what onnx.checker accepts",
    doc=("onnx.checker accepts the model but onnxruntime refuses it at load: an opset import "
         "newer than the newest onnxruntime knows for that domain, or a value (value_info "
         "included) declared with element type 0 (`analyzer/checks/ort_load_rules.py`)"),
    fixes="import an opset onnxruntime knows; declare the value's element type (or drop it)",
))


SCH205: FindingKind = _register(FindingKind(
    "SCH205", "warning", "schema",
    title="unknown custom-domain op",
    doc="a custom domain op with no schema in onnx or onnxruntime and no kernel",
    fixes="register a custom-op library, or express it in ONNX ops",
    rule=("warning: nothing validates the op; the session failure without its library is "
          "EP301 (error)"),
))


SCH206: FindingKind = _register(FindingKind(
    "SCH206", "error", "schema",
    title="shape/type inference failed",
    doc=("strict ONNX shape/type inference failed on a node (one finding per node error); for "
         "models with ops whose inference is known to crash onnx (ai.onnx.ml ops, "
         "RegexFullMatch; `analyzer/sources/inference_guard.py`) inference runs in a child "
         "process, and a crash there (\"crashed: signal 11\") is reported here while the "
         "analysis goes on untyped"),
    fixes="fix the named types/shapes",
    also=("warning",),
    why=("warning when onnxruntime tolerates the complaint: a declared shape that differs from "
         "the inferred one (ORT keeps the inferred shape; a differing element type stays an "
         "error), an input of unknown type (a consequence of another failure, an op without a "
         "schema, or nodes out of order, which ORT sorts), or inference that could not run "
         "(a crash in the child, a failed inliner); `--strict` makes these errors"),
    rule=("error: onnxruntime runs the same op inference at load and refuses the model "
          "(incompatible dimensions, a type outside the op's constraints, an invalid "
          "attribute, a declared element type that differs)"),
))


# ---- provider and host (EP3xx) -------------------------------------------------------------------

EP301: FindingKind = _register(FindingKind(
    "EP301", "error", "provider",
    title="no provider has a kernel",
    doc=("no provider in the list has a kernel (after function inlining and float16 casts): ORT "
         "session creation fails"),
    fixes=("another opset whose kernels take these types; cast the inputs or replace the op; "
           "rewrite rules that decompose the op"),
))


EP302: FindingKind = _register(FindingKind(
    "EP302", "warning", "provider",
    title="falls back from the accelerator",
    doc="a node falls back from the first (accelerator) provider to a later one",
    fixes=("the situation's fix (`analyzer/checks/fix_texts.py`: ai.onnx.ml ops stay on CPU, "
           "dynamic quantization -> static QDQ, float64 -> float32), else change types or "
           "replace the op; rewrite `onnx:cuda-fallback` (lossless widening Casts)"),
    rule="warning: the session loads and the node runs, on a slower provider",
))


EP303: FindingKind = _register(FindingKind(
    "EP303", "info", "provider",
    title="function op inlined by ORT",
    doc="no kernel for the op itself; ORT inlines its function body, which runs",
    fixes="rewrite `onnx:expand-function` (the same body, in the file)",
))


EP304: FindingKind = _register(FindingKind(
    "EP304", "info", "provider",
    title="float16 runs as float32 on CPU",
    doc="no float16 kernel; ORT inserts Casts and runs the node in float32 on CPU",
))


EP305: FindingKind = _register(FindingKind(
    "EP305", "warning", "provider",
    title="accelerator partitions with device copies",
    doc=("the accelerator's nodes are split into partitions with device copies between them and "
         "the CPU"),
    fixes="remove the fallbacks",
))


EP306: FindingKind = _register(FindingKind(
    "EP306", "info", "provider",
    title="inputs of unknown type",
    doc="inputs of unknown type: kernels matched by version only",
    fixes="make types inferable",
))


EP307: FindingKind = _register(FindingKind(
    "EP307", "warning", "host",
    title="StringNormalizer needs an OS locale",
    doc="StringNormalizer needs an OS locale at session creation; warning when this host lacks it",
    fixes="install the locale",
    also=("info",),
    why=("warning when this host lacks the locale (session creation fails here); info when it "
         "has it or it could not be checked"),
))


EP310: FindingKind = _register(FindingKind(
    "EP310", "error", "provider (`--load-check`)",
    title="ORT session creation failed (load check)",
    doc=("onnxruntime crashed (signal N), timed out, ran out of memory or failed creating a real "
         "CPU session, in an isolated child process"),
    fixes="the message's first line; raise `--time-limit` / `--memory-limit` if a limit was hit",
))


EP311: FindingKind = _register(FindingKind(
    "EP311", "info", "provider (`--load-check`)",
    title="ORT session created (load check)",
    doc="onnxruntime created a real CPU session (how many ms)",
))


# ---- PyTorch export (EXP1xx) ---------------------------------------------------------------------

EXP101: FindingKind = _register(FindingKind(
    "EXP101", "error", "export (PyTorch)",
    title="no exporter translation for the op",
    doc="the chosen exporter has no translation for the op at the target opset",
    fixes="the opset that has one; replace the op or register a translation",
    also=("info",),
    why=_ANSWERED_BY_RULE,
))


EXP102: FindingKind = _register(FindingKind(
    "EXP102", "error", "export (PyTorch)",
    title="dynamo translation raises",
    doc=("the dynamo exporter's translation raises for this call (step 3/3, \"Failed to convert "
         "the exported program to an ONNX model\"): by default for the translations known to "
         "reject some argument ranks (opsets/torch_translation_limits.py, checked on each node's "
         "real arguments), with `--thorough` for any translation"),
    fixes="change the call's shapes/dtypes, a custom translation, the torchscript exporter",
    also=("info",),
    why=_ANSWERED_BY_RULE,
))


EXP103: FindingKind = _register(FindingKind(
    "EXP103", "error", "export (PyTorch)",
    title="dynamo cannot convert down",
    doc=("dynamo asked for opset < 18 but the model cannot be converted down: export would "
         "silently deliver opset 18"),
    fixes="the lowest opset that converts; the torchscript exporter",
    also=("info",),
    why=_ANSWERED_BY_RULE,
))


EXP104: FindingKind = _register(FindingKind(
    "EXP104", "info", "export (PyTorch)",
    title="lowest exportable opset",
    doc="the lowest opset at which the exporter delivers the whole model",
    fixes="`opset >= N` when the target is lower",
))


EXP105: FindingKind = _register(FindingKind(
    "EXP105", "error", "export (PyTorch)",
    title="custom op without translation",
    doc="a custom op (torch.library) with no ONNX translation",
    fixes="custom_translation_table (dynamo) / register_custom_op_symbolic (torchscript)",
    also=("info",),
    why=_ANSWERED_BY_RULE,
))


EXP106: FindingKind = _register(FindingKind(
    "EXP106", "error", "export (PyTorch)",
    title="delivered opset differs",
    doc="after export: the delivered opset is not the requested one",
    also=("info",),
    why=_ANSWERED_BY_RULE,
))


EXP107: FindingKind = _register(FindingKind(
    "EXP107", "error", "export (PyTorch)",
    title="torch.onnx.export raised",
    doc="the real torch.onnx.export raised",
))


EXP108: FindingKind = _register(FindingKind(
    "EXP108", "warning", "export (PyTorch)",
    title="TorchScript symbolic may raise",
    rule=("warning: whether the export fails is decided only by the export itself (then "
          "EXP107 is the error)"),
    doc=("the TorchScript symbolic at this opset raises for some inputs (e.g. "
         "`align_corners=True`, index_put below 11); whether this call is one of them is not "
         "decided before export"),
    fixes="the opset whose symbolic has no such condition",
))


EXP109: FindingKind = _register(FindingKind(
    "EXP109", "error", "export (PyTorch)",
    title="isolated export crashed",
    doc=("the real torch.onnx.export, run in an isolated child process (`export --isolate`, the "
         "default), crashed (signal N), hung past `--time-limit` or ran out of memory "
         "(`--memory-limit`); the pre-flight report still comes out and no file is written"),
    fixes="raise `--time-limit` / `--memory-limit` if a limit was hit",
))


EXP110: FindingKind = _register(FindingKind(
    "EXP110", "info", "export (PyTorch)",
    title="export --rewrite summary",
    doc=("`export --rewrite`: the source rules applied (modules swapped, call sites), the "
         "opset-18 build lowered for dynamo, and the written file's parity against the module on "
         "onnxruntime CPU"),
))


EXP111: FindingKind = _register(FindingKind(
    "EXP111", "error", "export (PyTorch)",
    title="dynamo decomposition fails",
    doc=("the dynamo exporter's step 2/3 (\"Failed to decompose the FX graph for ONNX "
         "compatibility\": run_decompositions with the ONNX decomposition table, then type "
         "promotion) raises on a program torch.export captured; run whenever the converter table "
         "cannot vouch for every node"),
    fixes=("rewrite the construct the error names; the torchscript exporter; report upstream "
           "with the exported program"),
    also=("info",),
    why=_ANSWERED_BY_RULE,
))


# ---- verify (RUN5xx) -----------------------------------------------------------------------------

RUN501: FindingKind = _register(FindingKind(
    "RUN501", "error", "runtime",
    title="output outside tolerance",
    doc="`verify`: an output is outside tolerance (per provider and output, worst sample)",
))


RUN502: FindingKind = _register(FindingKind(
    "RUN502", "warning", "runtime",
    title="NaN / Inf in an output",
    doc="`verify`: NaN / Inf in an output (either side)",
))


RUN503: FindingKind = _register(FindingKind(
    "RUN503", "info", "runtime",
    title="first diverging node",
    doc="`verify --localize`: the first node whose output diverges",
))


RUN504: FindingKind = _register(FindingKind(
    "RUN504", "warning", "runtime",
    title="onnx.reference is the suspect side",
    doc=("`verify --reference-evaluator`: onnx.reference disagrees with onnxruntime without "
         "graph optimizations (and with the shipped expected outputs, when there are any) while "
         "the model under test agrees with them; the output is compared with unoptimized "
         "onnxruntime instead and the node where the evaluator's values first differ is named"),
))


RUN505: FindingKind = _register(FindingKind(
    "RUN505", "error", "runtime",
    title="torch module's weights differ from the model's",
    doc=("`verify --source` with a torch module: before outputs are compared, the module's "
         "parameters and buffers are compared with the model's initializers by the exporter's "
         "names; some differ (named with their max abs difference), so the outputs cannot agree "
         "and `--localize` does not blame a node for it (load the weights the model was "
         "exported with: `--weights FILE.pt`)"),
))


# ---- PyTorch capture (TRC4xx) --------------------------------------------------------------------

TRC401: FindingKind = _register(FindingKind(
    "TRC401", "error", "capture (PyTorch)",
    title="capture failed",
    doc=("torch.export (dynamo) or torch.jit.trace failed: data-dependent control flow, "
         "unsupported types or constructs"),
    fixes="the standard advice for the failure kind",
))


TRC402: FindingKind = _register(FindingKind(
    "TRC402", "warning", "capture (PyTorch)",
    title="TracerWarning",
    doc=("a TracerWarning (a Python value used for routing, a tensor turned into a Python "
         "number) at its line"),
    fixes="route on tensors",
))


TRC403: FindingKind = _register(FindingKind(
    "TRC403", "warning", "capture (PyTorch)",
    title="modules in training mode",
    doc="modules left in training mode",
    fixes="`model.eval()`",
))


TRC404: FindingKind = _register(FindingKind(
    "TRC404", "warning", "capture (PyTorch)",
    title="export-friendly flag not set",
    doc=("a constructor offers an export-friendly flag (`exportable`, `export`, `scriptable`) "
         "that is not set"),
    fixes="construct with the flag",
    also=("info",),
    why="warning when the flag is explicitly False; info when it is unset",
))


# ---- tf2onnx (TFC6xx) ----------------------------------------------------------------------------

TFC601: FindingKind = _register(FindingKind(
    "TFC601", "error", "tf2onnx (TF / TFLite)",
    title="no tf2onnx handler",
    doc=("tf2onnx has no handler for the op at any opset (a TFLite op: nor for the TF op it maps "
         "to); the conversion leaves it unconverted"),
    fixes=("express the op with supported ops; tf2onnx `custom_ops` (a custom-domain node that "
           "needs an ORT custom kernel)"),
))


TFC602: FindingKind = _register(FindingKind(
    "TFC602", "error", "tf2onnx",
    title="tf2onnx handler needs a higher opset",
    doc="tf2onnx's handler exists only from a higher opset",
    fixes="`opset >= N`",
))


TFC603: FindingKind = _register(FindingKind(
    "TFC603", "error", "tf2onnx",
    title="handler only in a custom domain",
    doc=("the handler exists only in a custom domain (`ai.onnx.contrib`, `com.microsoft`), used "
         "only when passed as an extra opset"),
    fixes=("tf2onnx `extra_opset` (`--extra-opset DOMAIN`); onnxruntime-extensions for "
           "`ai.onnx.contrib`"),
))


TFC604: FindingKind = _register(FindingKind(
    "TFC604", "info", "tf2onnx",
    title="handler has conditions",
    doc=("the handler in force refuses some attribute / type combinations (read off its source; "
         "not decidable before conversion)"),
    fixes="check the listed conditions",
))


TFC605: FindingKind = _register(FindingKind(
    "TFC605", "error", "tf2onnx",
    title="training-only op reaches the outputs",
    doc="a training-only op (gradient, optimizer update, checkpoint I/O) reaches the outputs",
    fixes="export the inference graph / choose the outputs",
))


TFC606: FindingKind = _register(FindingKind(
    "TFC606", "error", "tf2onnx",
    title="frozen graph reads variables",
    doc="a frozen GraphDef (.pb) still reads variables (VarHandleOp, ReadVariableOp, VariableV2)",
    fixes="freeze it, or convert the SavedModel / checkpoint",
))


TFC607: FindingKind = _register(FindingKind(
    "TFC607", "error", "tf2onnx",
    title="unknown --inputs name",
    doc="an `--inputs` name is not in the graph (the report lists the names it has)",
    fixes="use the listed tensor names",
))


TFC608: FindingKind = _register(FindingKind(
    "TFC608", "error", "tf2onnx",
    title="unknown --outputs name",
    doc="an `--outputs` name is not in the graph (the report lists the names it has)",
    fixes="use the listed tensor names",
))


TFC609: FindingKind = _register(FindingKind(
    "TFC609", "warning", "tf2onnx",
    title="inputs/outputs guessed",
    doc=("a GraphDef or checkpoint without `--inputs/--outputs`: the placeholders and sinks "
         "found (summarize_graph's guess)"),
    fixes="the `--inputs ... --outputs ...` shown",
))


TFC610: FindingKind = _register(FindingKind(
    "TFC610", "info", "tf2onnx",
    title="lowest convertible opset",
    doc="lowest opset at which tf2onnx has a handler for every op",
    fixes="`opset >= N` when the target is lower",
))


TFC611: FindingKind = _register(FindingKind(
    "TFC611", "warning", "tf2onnx",
    title="opset above tf2onnx's highest",
    doc="the target opset is above tf2onnx's highest",
    fixes="tf2onnx's max opset",
))


TFC612: FindingKind = _register(FindingKind(
    "TFC612", "info", "tf2onnx",
    title="other signatures",
    doc="the SavedModel has other signatures than the one analyzed",
    fixes="`--signature`",
))


TFC613: FindingKind = _register(FindingKind(
    "TFC613", "error", "tf2onnx",
    title="handler refuses these nodes",
    doc=("the handler in force refuses these nodes: a `make_sure` on the node's type / "
         "attributes fails (e.g. Resize with `half_pixel_centers=True` below opset 11)"),
    fixes="`opset >= N` where the handler accepts it",
))


TFC620: FindingKind = _register(FindingKind(
    "TFC620", "error", "tf2onnx (`export`)",
    title="tf2onnx: unsupported ops",
    doc="tf2onnx's log reported the op as unsupported (\"Unsupported ops: Counter(...)\")",
))


TFC621: FindingKind = _register(FindingKind(
    "TFC621", "error", "tf2onnx (`export`)",
    title="tf2onnx handler failed on a node",
    doc="tf2onnx's handler raised on a node (\"Failed to convert node\")",
))


TFC622: FindingKind = _register(FindingKind(
    "TFC622", "error", "tf2onnx (`export`)",
    title="conversion failed",
    doc="the conversion itself failed (loader, optimizer or crash in the child process)",
))


TFC630: FindingKind = _register(FindingKind(
    "TFC630", "info", "tf2onnx (`export --rewrite`)",
    title="rescued by a rule",
    doc=("a rescue rule (rewrites/tensorflow, docs/tf_rescue.md) converts this op: its tf2onnx "
         "handler is installed for the conversion (or, a graph rule, the GraphDef is rewritten "
         "first)"),
    fixes="the rule",
))



#: Every registered id, in the docs' order.
FINDINGS: Mapping[str, FindingKind] = MappingProxyType(dict(_KINDS))


def finding_kind(finding_id: str) -> FindingKind:
    """The registered kind of `finding_id`; `UnknownFindingId` for any other string."""
    try:
        return FINDINGS[finding_id]
    except (KeyError, TypeError):
        raise UnknownFindingId(finding_id) from None
