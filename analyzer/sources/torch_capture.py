"""Capture what a torch.onnx exporter would see, without exporting: the ATen ops of the model,
each with its source location and module path, plus everything that went wrong on the way.

dynamo exporter: `torch.export.export(..., strict=False)`, then the exporter's own decomposition
(`_prepare_exported_program_for_export` with the torchlib registry) and its own dispatcher, and
finally its own FX-to-ONNX translation (without the optimizer and without writing a file):
translation raises for cases no table can see (e.g. scaled_dot_product_attention on 3-D inputs).
These are private torch.onnx functions; they are used because they ARE the export's steps, so the
prediction cannot drift from them, and each use is guarded so that a torch upgrade that moves
them degrades to a finding instead of a crash.

TorchScript exporter: `torch.jit.trace`, with TracerWarnings recorded, then every `aten::` node
of the inlined graph with the source range and scope the tracer recorded.

torch is imported here only; nothing else in the analyzer imports it.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from opsets.torch_converters import load_torch_converters
from opsets.torch_translation_limits import rank_limits

# aten ops of a traced graph that the TorchScript exporter's own passes remove or rewrite before
# symbolic conversion (scalar <-> tensor conversions folded with the static example shapes), so
# they never need a symbolic function. Measured on the corpus in tests/torch_corpus.
PASS_HANDLED = frozenset({"aten::Int", "aten::Float", "aten::ScalarImplicit", "aten::Bool",
                          "aten::IntImplicit", "aten::FloatImplicit",
                          # in-place copies become index_put by _jit_pass_onnx_remove_inplace_ops
                          "aten::copy_"})

_TORCH_PKG_MARKERS = ("/site-packages/torch/", "/torch/nn/", "/torch/_", "/torch/fx/")
_FRAME = re.compile(r'File "([^"]+)", line (\d+)')


@dataclass
class TorchOpUse:
    """One call of an ATen (or custom) op in the captured graph."""

    op: str  # "aten::hardswish"
    overload: str  # "aten::hardswish" or "aten::add.Tensor"
    node: str
    location: str | None = None  # "model.py:12"
    module_path: str | None = None  # "encoder.layer.0.attention"
    module_type: str | None = None
    converted: bool | None = None  # the exporter's dispatcher found a translation
    reason: str = ""


@dataclass
class CapturedWarning:
    category: str
    message: str
    location: str | None


@dataclass
class CaptureFailure:
    """The step that failed, a stable kind, the first line of the error, and where."""

    step: str  # "torch.export" | "decompose" | "translate" | "trace" | "convert_version"
    kind: str
    message: str
    location: str | None = None
    node: str | None = None
    fix: str | None = None  # what the user can do, when the failure is a known one


@dataclass
class TorchCapture:
    exporter: str
    ops: list[TorchOpUse] = field(default_factory=list)
    warnings: list[CapturedWarning] = field(default_factory=list)
    failures: list[CaptureFailure] = field(default_factory=list)
    onnx_model: Any = None  # onnx.ModelProto of the translation at the exporter's base opset
    base_opset: int | None = None
    program: Any = None  # the torch.export ExportedProgram (dynamo), to re-answer other opsets


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    for line in text.splitlines():
        line = line.strip()
        if line:
            return line[:300]
    return type(exc).__name__


def user_frame(stack_trace: str | None) -> str | None:
    """The innermost frame outside torch itself, as "file.py:LINE" (the line a user can fix)."""
    if not stack_trace:
        return None
    frames = _FRAME.findall(stack_trace)
    if not frames:
        return None
    for path, line in reversed(frames):
        if not any(m in path for m in _TORCH_PKG_MARKERS):
            return f"{path}:{line}"
    path, line = frames[-1]
    return f"{path}:{line}"


def _qualified(target: Any) -> tuple[str, str]:
    """OpOverload -> ("aten::add", "aten::add.Tensor")."""
    name = target.name() if hasattr(target, "name") and callable(target.name) else str(target)
    base = name.split(".", 1)[0]
    return base, name


@lru_cache(maxsize=4)
def _dynamo_registry(opset: int) -> Any:
    """The registry torch.onnx.export builds: torchlib at max(opset, 18) (_compat.export_compat)."""

    from torch.onnx._internal.exporter import _registration

    # from_torchlib logs a warning per missing torchvision op; that is noise for the user here.
    logger = logging.getLogger("torch.onnx._internal.exporter._registration")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        return _registration.ONNXRegistry.from_torchlib(max(opset, 18))
    finally:
        logger.setLevel(level)


def _record_warnings(caught: list[warnings.WarningMessage], out: list[CapturedWarning]) -> None:
    """Keep what is about the user's model: every TracerWarning, and other warnings raised from
    the user's files (library deprecations are noise here)."""
    for w in caught:
        category = w.category.__name__
        where = f"{w.filename}:{w.lineno}"
        if category != "TracerWarning" and (
            issubclass(w.category, (DeprecationWarning, FutureWarning))
            or any(m in str(w.filename) for m in (*_TORCH_PKG_MARKERS, "/site-packages/",
                                                   "/lib/python3"))
        ):
            continue
        message = (str(w.message).strip().splitlines() or [""])[0][:300]
        out.append(CapturedWarning(category, message, where))


@contextlib.contextmanager
def quiet_torch() -> Iterator[None]:
    """torch.export and the exporter print graphs and progress to stdout/stderr and log
    warnings; the report carries what matters, so the console stays clean while they run."""
    loggers = [logging.getLogger(name) for name in ("torch", "onnxscript")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def classify_export_error(exc: BaseException) -> str:
    """A stable label for a torch.export failure, from the exception type and message."""
    name = type(exc).__name__
    text = str(exc)
    if "GuardOnDataDependentSymNode" in name or "data-dependent" in text or \
            "data dependent" in text or "GuardOnDataDependent" in text:
        return "data_dependent"
    if "Dynamic control flow" in text or "cond" in text and "control flow" in text:
        return "control_flow"
    if "pytree" in text.lower() or "not a registered" in text or "register_pytree_node" in text:
        return "unsupported_type"
    if "Unsupported" in name or "Unsupported" in text:
        return "unsupported_construct"
    if "Constraint" in name or "dynamic_shapes" in text or "specialized" in text:
        return "dynamic_shapes"
    return "other"


def _error_location(exc: BaseException) -> str | None:
    """The innermost user frame of the exception's traceback."""
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    for frame in reversed(frames):
        if not any(m in frame.filename for m in _TORCH_PKG_MARKERS) and \
                "/analyzer/" not in frame.filename:
            return f"{frame.filename}:{frame.lineno}"
    # torch.export errors often carry the user frame in their message
    matches = _FRAME.findall(str(exc))
    return f"{matches[-1][0]}:{matches[-1][1]}" if matches else None


def capture_dynamo(
    module: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any] | None = None,
    dynamic_shapes: Any = None,
    translate: bool = True,
    opset: int = 18,
    thorough: bool = False,
) -> TorchCapture:
    """torch.export (non-strict), then either the converter table (default: fast) or, with
    `thorough`, the exporter's own decompositions, dispatcher and translation."""

    capture = TorchCapture("dynamo")
    with quiet_torch(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        program, exc = _export_program(module, args, kwargs, dynamic_shapes)
        if program is None:
            assert exc is not None
            capture.failures.append(CaptureFailure(
                "torch.export", classify_export_error(exc), _first_line(exc),
                _error_location(exc)))
            _record_warnings(caught, capture.warnings)
            return capture
        capture.program = program
        if not thorough:
            _dispatch_by_table(program, opset, capture)
            _record_warnings(caught, capture.warnings)
            return capture
        try:
            from torch.onnx._internal.exporter import _core, _dispatching

            registry = _dynamo_registry(opset)
            capture.base_opset = registry.opset_version
            program = _core._prepare_exported_program_for_export(program, registry=registry)
        except Exception as exc:  # noqa: BLE001
            capture.failures.append(_decompose_failure(exc, program))
            _record_warnings(caught, capture.warnings)
            return capture
        for node in _call_nodes(program):
            fn, why = _dispatching.dispatch(node, registry)
            capture.ops.append(_op_use(node, fn is not None, "" if fn is not None else why))
        if translate and all(op.converted for op in capture.ops):
            _translate(program, registry, capture)
        _record_warnings(caught, capture.warnings)
    return capture


def _export_program(
    module: Any, args: tuple[Any, ...], kwargs: dict[str, Any] | None, dynamic_shapes: Any
) -> tuple[Any, BaseException | None]:
    """The ExportedProgram exactly as torch.onnx.export obtains it: its dynamic-shape conversion
    (string axis names -> torch.export.Dim) and its capture strategies in order (non-strict
    torch.export, then strict), keeping the first failure to report."""
    from torch.onnx._internal.exporter import _capture_strategies, _dynamic_shapes

    shapes = dynamic_shapes
    if shapes:
        shapes, _ = _dynamic_shapes.convert_str_to_export_dim(shapes)
    first: BaseException | None = None
    for strategy_class in _capture_strategies.CAPTURE_STRATEGIES:
        strategy = strategy_class(verbose=False)
        result = strategy(module, args, kwargs or None, dynamic_shapes=shapes)
        if result.success and result.exported_program is not None:
            return result.exported_program, None
        if first is None and result.exception is not None:
            first = result.exception
    return None, first or RuntimeError("torch.export produced no program")


def for_opset(capture: TorchCapture, opset: int) -> TorchCapture:
    """The same capture answered for another opset (dynamo, table mode): torch.export does not
    depend on the opset, only the converter's answers do."""
    again = TorchCapture(capture.exporter, warnings=list(capture.warnings),
                         failures=list(capture.failures), program=capture.program)
    if capture.exporter == "dynamo" and capture.program is not None and capture.onnx_model is None:
        # step 2/3 and the translation checks are answered again for this opset
        again.failures = [f for f in again.failures if f.step not in ("decompose", "translate")]
        _dispatch_by_table(capture.program, opset, again)
    else:
        again.ops = list(capture.ops)
        again.onnx_model, again.base_opset = capture.onnx_model, capture.base_opset
    return again


def _dispatch_by_table(program: Any, opset: int, capture: TorchCapture) -> None:
    """Answer each node of the exported program from the converter table (opsets/
    torch_converters.json, generated from torchlib and torch's decomposition table): a fraction
    of the cost of building torchlib's registry and decomposing (measured in
    benchmarks/bench_torch_preflight.py). Two of the exporter's own decisions are still made:
    step 2/3 (run_decompositions with the ONNX table) runs for real whenever the table cannot
    vouch for every node (an op it leaves that the table lists as decomposed was declined by
    its decomposition: no translation), and the translations known to raise on some arguments
    (opsets/torch_translation_limits.py) are checked against each node's real arguments."""

    table = load_torch_converters()
    capture.base_opset = max(opset, 18)
    decomposed = _needs_decomposition(program, table, opset)
    if decomposed:
        try:
            program = _decompose(program, table, opset)
            _promote_types(program)
        except Exception as exc:  # noqa: BLE001
            # `program` is the decomposed one when type promotion raised: its node names
            capture.failures.append(_decompose_failure(exc, program))
            return
    for node in _call_nodes(program):
        base, overload = _qualified(node.target)
        if _is_assertion(base):
            continue  # the exporter removes assertion nodes before translation
        support = table.dynamo_support(overload, opset)
        converted, reason = True, ""
        if support is None or support.status == "missing":
            converted, reason = False, "no translation or decomposition in torch.onnx"
        elif support.status == "decomposed" and decomposed:
            # the real decomposition ran and left the op: it declined these arguments (e.g.
            # adaptive_max_pool2d to a size that does not divide the input), and the
            # dispatcher has no translation for it (step 3/3, "No ONNX function found")
            converted, reason = False, ("torch's decomposition declined these arguments and "
                                        "there is no translation")
        elif support.status == "translated" and _has_complex_arg(node) and not any(
                impl.complex for impl in support.impls):
            converted, reason = False, "no translation for complex-valued inputs"
        capture.ops.append(_op_use(node, converted, reason))
        if converted:
            capture.failures += _limit_failures(node, overload, capture.base_opset)


def _limit_failures(node: Any, overload: str, registry_opset: int) -> list[CaptureFailure]:
    """The translation of this node raises in step 3/3: an argument has a rank it rejects."""
    failures = []
    for limit in rank_limits(overload, registry_opset):
        for index in limit.args:
            value = _arg_value(node, index)
            rank = getattr(value, "ndim", None)
            if rank is None or rank in limit.ranks:
                continue
            failures.append(CaptureFailure(
                "translate", "translation_raises",
                f"{limit.raises} (argument {index} has rank {rank}, the translation takes "
                f"{' or '.join(map(str, limit.ranks))}-D; {limit.source})",
                user_frame(node.meta.get("stack_trace")), node.name, fix=limit.fix))
            break
    return failures


def _arg_value(node: Any, index: int) -> Any:
    """The fake tensor (meta "val") of a node's positional argument, or None."""
    if index >= len(node.args):
        return None
    arg = node.args[index]
    return arg.meta.get("val") if hasattr(arg, "meta") else None


def _decompose_failure(exc: BaseException, program: Any) -> CaptureFailure:
    """Step 2/3 raised: the root cause's first line, the node it names ("While executing %x"),
    and that node's user line (the traceback itself is torch's, or the analyzer caller's)."""
    root: BaseException = exc
    while root.__cause__ is not None:
        root = root.__cause__
    text = f"{exc}\n{root}"
    match = re.search(r"While executing %(\w+)", text) or re.search(r"node[: ]+%(\w+)", text)
    name = match.group(1) if match else None
    node = next((n for n in _call_nodes(program) if n.name == name), None) if name else None
    location = user_frame(node.meta.get("stack_trace")) if node is not None else None
    message = _first_line(root)
    fix = None
    if message.startswith("Cannot view a tensor"):
        fix = ("the exporter's decomposition and its type-promotion pass disagree on the strides "
               "of a scaled_dot_product_attention output that is reshaped after a transpose: "
               "compute this attention with matmul + softmax (transformers: "
               "from_pretrained(..., attn_implementation=\"eager\"); timm: "
               "timm.layers.set_fused_attn(False) before building the model), or use the "
               "torchscript exporter (dynamo=False)")
    return CaptureFailure("decompose", "decomposition_failed", message,
                          location or _error_location(exc), name, fix=fix)


def _op_use(node: Any, converted: bool, reason: str) -> TorchOpUse:
    """A TorchOpUse for an FX node: its op, user source line and innermost module."""
    base, overload = _qualified(node.target)
    stack = node.meta.get("nn_module_stack") or {}
    path, mtype = (list(stack.values())[-1] if stack else ("", None))
    if isinstance(mtype, type):
        mtype = f"{mtype.__module__}.{mtype.__qualname__}"
    return TorchOpUse(
        op=base, overload=overload, node=node.name,
        location=user_frame(node.meta.get("stack_trace")),
        module_path=path or None, module_type=str(mtype) if mtype else None,
        converted=converted, reason=reason,
    )


_ASSERTIONS = ("aten::_assert", "aten::sym_constrain_range")


def _is_assertion(op: str) -> bool:
    return op.startswith(_ASSERTIONS)


def _call_nodes(program: Any) -> Iterator[Any]:
    import torch

    for gm in program.graph_module.modules():
        if isinstance(gm, torch.fx.GraphModule):
            for node in gm.graph.nodes:
                if node.op == "call_function" and isinstance(node.target, torch._ops.OpOverload):
                    yield node


def _needs_decomposition(program: Any, table: Any, opset: int) -> bool:
    """Decomposing costs about as much as torch.export; skip it when the table vouches for every
    node: each is an ATen overload with a translation (higher-order ops, vmap levels and other
    non-overload calls are rewritten by run_decompositions, which is where they can fail)."""
    if _opaque_calls(program) or _has_stride_sources(program):
        return True
    for node in _call_nodes(program):
        _, overload = _qualified(node.target)
        if _is_assertion(overload):
            continue
        support = table.dynamo_support(overload, opset)
        if support is None or support.status != "translated":
            return True
    return False


def _opaque_calls(program: Any) -> list[Any]:
    """call_function nodes that are not ATen overloads (the table has no row for them)."""
    import torch

    return [node for gm in program.graph_module.modules() if isinstance(gm, torch.fx.GraphModule)
            for node in gm.graph.nodes if node.op == "call_function"
            and not isinstance(node.target, torch._ops.OpOverload)
            and getattr(node.target, "__module__", "") != "_operator"]


# scaled_dot_product_attention with a tensor mask: its fake output strides differ between the
# exporter's decomposition (CPU flash-attention layout) and its type-promotion pass re-running it
# (plain layout) for some mask and batch shapes, and a reshape of the transposed output that
# decomposed to a view then fails in step 2/3 ("Cannot view a tensor ..."; MaxViT with timm's
# fused attention). Which shapes do is decided only by the real passes, so such a program is
# never vouched for by the table.
_STRIDE_SOURCES = frozenset({"aten::scaled_dot_product_attention"})
_VIEW_LIKE = frozenset({"aten::transpose", "aten::permute", "aten::slice", "aten::select",
                        "aten::unsqueeze", "aten::squeeze", "aten::expand", "aten::t",
                        "aten::alias", "aten::detach"})
_RESHAPES = frozenset({"aten::reshape", "aten::view", "aten::flatten", "aten::unflatten"})


def _has_stride_sources(program: Any) -> bool:
    return any(_qualified(node.target)[0] in _STRIDE_SOURCES and _has_tensor_mask(node)
               and _reshaped_downstream(node) for node in _call_nodes(program))


def _has_tensor_mask(node: Any) -> bool:
    mask = node.args[3] if len(node.args) > 3 else node.kwargs.get("attn_mask")
    return hasattr(mask, "op")  # an fx Node (a tensor), not None


def _reshaped_downstream(node: Any) -> bool:
    """A reshape/view of the output after view-like ops (transpose, permute, ...)."""
    frontier, seen = list(node.users), set()
    while frontier:
        user = frontier.pop()
        if user in seen or not _is_overload(user):
            continue
        seen.add(user)
        name = _qualified(user.target)[0]
        if name in _RESHAPES:
            return True
        if name in _VIEW_LIKE:
            frontier.extend(user.users)
    return False


def _is_overload(node: Any) -> bool:
    import torch

    return getattr(node, "op", None) == "call_function" and isinstance(node.target,
                                                                          torch._ops.OpOverload)


def _decompose(program: Any, table: Any, opset: int) -> Any:
    """run_decompositions with the exporter's ONNX-friendly table (torch's decompositions minus
    the ops torchlib translates), the translated set taken from the converter table instead of
    building torchlib's registry."""
    import torch
    from torch.onnx._internal.exporter import _decomp

    translated = set()
    for name in table.dynamo_ops():
        support = table.dynamo_support(name, opset)
        if support is None or support.status != "translated":
            continue
        ns, _, rest = name.partition("::")
        op, _, overload = rest.partition(".")
        try:
            packet = getattr(getattr(torch.ops, ns), op)
            translated.add(getattr(packet, overload or "default"))
        except AttributeError:
            continue
    decomp_table = _decomp.create_onnx_friendly_decomposition_table(translated)
    config = torch.fx.experimental._config
    with config.patch(backed_size_oblivious=True):  # type: ignore[attr-defined] # as export
        return program.run_decompositions(decomp_table)


def _promote_types(program: Any) -> None:
    """The rest of step 2/3 (_core._prepare_exported_program_for_export): type promotion re-runs
    every node on fake tensors. The fresh unbacked symbols that creates must not stay pending in
    the shape environment the capture shares (another opset's decomposition of the same capture,
    analyze_torch_opsets, would fail on them)."""
    from torch.onnx._internal.exporter import _fx_passes

    with _fresh_unbacked_ignored(program):
        _fx_passes.insert_type_promotion_nodes(program.graph_module)


@contextlib.contextmanager
def _fresh_unbacked_ignored(program: Any) -> Iterator[None]:
    shape_env = None
    for node in program.graph.nodes:
        fake_mode = getattr(node.meta.get("val"), "fake_mode", None)
        if fake_mode is not None:
            shape_env = fake_mode.shape_env
            break
    if shape_env is None or not hasattr(shape_env, "ignore_fresh_unbacked_symbols"):
        yield
        return
    with shape_env.ignore_fresh_unbacked_symbols():
        yield


def _has_complex_arg(node: Any) -> bool:
    import torch

    def is_complex(arg: Any) -> bool:
        value = getattr(arg, "meta", {}).get("val") if hasattr(arg, "meta") else None
        return isinstance(value, torch.Tensor) and value.is_complex()

    return any(is_complex(a) for a in node.args) or any(
        is_complex(a) for a in node.kwargs.values())


def _translate(program: Any, registry: Any, capture: TorchCapture) -> None:
    """The exporter's FX -> ONNX translation at its base opset (no optimizer, no file)."""
    from torch.onnx._internal.exporter import _core

    try:
        onnx_program = _core._exported_program_to_onnx_program(program, registry=registry)
    except Exception as exc:  # noqa: BLE001
        node = None
        match = re.search(r"Error when translating node %(\S+)", str(exc))
        if match:
            node = match.group(1)
        root: BaseException = exc
        while root.__cause__ is not None:
            root = root.__cause__
        capture.failures.append(CaptureFailure(
            "translate", "translation_failed", _first_line(root), None, node))
        return
    import onnx
    import onnx_ir

    capture.onnx_model = onnx_ir.to_proto(onnx_program.model)
    assert isinstance(capture.onnx_model, onnx.ModelProto)


def _onnxscript_loggers() -> list[logging.Logger]:
    """onnxscript's logger and every child logger that exists now."""
    manager = logging.Logger.manager
    names = [n for n in list(manager.loggerDict)
             if n == "onnxscript" or n.startswith("onnxscript.")]
    return [logging.getLogger(n) for n in names]


def delivered_opset(model: Any, requested: int) -> tuple[int, str | None]:
    """Convert the translated model to `requested` with the very call torch.onnx.export makes
    (`onnxscript_apis.convert_version`: onnxscript's converter, falling back to the onnx C API,
    leaving the model unchanged when both fail), and return the opset that export would deliver
    plus the converter's complaint when it could not convert."""

    import onnx_ir
    from torch.onnx._internal._lazy_import import onnxscript_apis

    ir_model = onnx_ir.from_proto(model)
    messages: list[str] = []

    class _Grab(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            text = record.getMessage()
            if record.exc_info and record.exc_info[1] is not None:
                text += f" ({_first_line(record.exc_info[1])})"
            messages.append(text)

    handler = _Grab(level=logging.WARNING)
    logger = logging.getLogger("onnxscript")
    propagate = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False  # the converter logs a full traceback; we keep one line
    # The complaint is read from the converter's log records, so a level the host application
    # (or an earlier caller) set on onnxscript's loggers must not silence them for this call.
    quieted = [(lg, lg.level, lg.disabled) for lg in _onnxscript_loggers()]
    for lg, _, _ in quieted:
        lg.disabled = False
        if lg.level > logging.WARNING:
            lg.setLevel(logging.WARNING)
    try:
        onnxscript_apis.convert_version(ir_model, requested)
    except Exception as exc:  # noqa: BLE001
        messages.append(_first_line(exc))
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate
        for lg, level, disabled in quieted:
            lg.setLevel(level)
            lg.disabled = disabled
    got = ir_model.opset_imports.get("")
    complaint = next((m for m in reversed(messages) if "Failed" in m or "not supported" in m),
                     None)
    return (int(got) if got is not None else requested), complaint


def capture_torchscript(
    module: Any, args: tuple[Any, ...], kwargs: dict[str, Any] | None = None
) -> TorchCapture:
    """torch.jit.trace with TracerWarnings recorded, and the aten ops of the inlined graph."""

    capture = TorchCapture("torchscript")
    with quiet_torch():
        _trace(capture, module, args, kwargs)
    return capture


def _trace(capture: TorchCapture, module: Any, args: tuple[Any, ...],
           kwargs: dict[str, Any] | None) -> None:
    import torch
    from torch.onnx._internal.torchscript_exporter import utils as ts_utils

    # As the legacy exporter: keyword inputs ride as a trailing dict that _decide_input_format
    # folds into positional order, then torch.jit._get_trace_graph (more permissive about
    # outputs than torch.jit.trace).
    inputs = args + ((kwargs,) if kwargs else ())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            inputs = ts_utils._decide_input_format(module, inputs)
            graph, _, _ = torch.jit._get_trace_graph(
                module, inputs, strict=False, _force_outplace=False, _return_inputs_states=True)
        except Exception as exc:  # noqa: BLE001
            capture.failures.append(CaptureFailure("trace", "trace_failed", _first_line(exc),
                                                   _error_location(exc)))
            _record_warnings(caught, capture.warnings)
            return
        _record_warnings(caught, capture.warnings)
    for index, node in enumerate(graph.nodes()):
        kind = node.kind()
        if kind.split("::", 1)[0] in ("prim", "onnx") or kind in PASS_HANDLED:
            continue
        source = node.sourceRange()
        capture.ops.append(TorchOpUse(
            op=kind, overload=kind, node=f"{kind.split('::')[-1]}_{index}",
            location=_source_range_location(source), module_path=_scope(node.scopeName()),
        ))


def _source_range_location(text: str) -> str | None:
    """TorchScript source ranges print as '<file>(<line>): <func>\n...'; keep the user frame."""
    frames = re.findall(r"^(\S+\.py)\((\d+)\)", text or "", flags=re.MULTILINE)
    for path, line in frames:
        if not any(m in path for m in _TORCH_PKG_MARKERS):
            return f"{path}:{line}"
    return f"{frames[0][0]}:{frames[0][1]}" if frames else None


def _scope(scope_name: str) -> str | None:
    """'__module.encoder/__module.encoder.layer.0' -> 'encoder.layer.0'."""
    if not scope_name:
        return None
    last = scope_name.split("/")[-1]
    return last.removeprefix("__module.").removeprefix("__module") or None
