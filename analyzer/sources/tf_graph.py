"""Read a SavedModel, a frozen GraphDef or a checkpoint's MetaGraphDef as data (never run it).

The graph is parsed with TensorFlow's own protobuf classes; nothing is imported into a tf.Graph
and no session or function is executed. From the outputs (a signature's, the user's
--outputs, or the graph's sinks) the walk follows data inputs (not control inputs: the
Asserts and NoOps hanging off control edges are pruned by tf2onnx's graph optimization) and
descends into every function a node calls (StatefulPartitionedCall's `f`, While's `cond` and
`body`, If's branches, a direct call of a library function), so a tf.function model shows the
ops tf2onnx will really see after inlining.
"""

from __future__ import annotations

import os
from collections import deque
from pathlib import Path
from typing import Any

from analyzer.error_codes import (
    TF_CHECKPOINT_DATA_MISSING,
    TF_CORRUPT_PROTOBUF,
    TF_NO_GRAPH,
    TF_SIGNATURE_NOT_FOUND,
)
from analyzer.errors import InputError
from analyzer.limits import DEFAULT_MAX_FILE_BYTES
from analyzer.sources.tf_io import (
    Signature,
    TfGraph,
    TfKind,
    TfNode,
    TfTensor,
    import_tensorflow,
    node_of,
    tensor_name,
)
from analyzer.sources.untrusted_file import read_untrusted_file

DEFAULT_SIGNATURE = "serving_default"
#: Ops that call a function by name and are replaced by its body when tf2onnx inlines.
CALL_OPS = frozenset({"StatefulPartitionedCall", "PartitionedCall"})
#: Variable ops: a SavedModel / checkpoint holds them (tf2onnx freezes them into constants);
#: a frozen GraphDef must not.
VARIABLE_OPS = frozenset({"VarHandleOp", "ReadVariableOp", "VariableV2", "Variable",
                          "ResourceGather", "VarIsInitializedOp", "ReadVariableXlaSplitND"})
#: Not outputs even when nothing consumes them (summarize_graph's rule of thumb).
_NOT_OUTPUTS = frozenset({"Const", "NoOp", "Assert", "SaveV2", "RestoreV2", "Placeholder",
                          "VarHandleOp", "VariableV2", "AssignVariableOp", "Assign",
                          "MergeV2Checkpoints", "ShardedFilename", "StringJoin",
                          "PlaceholderWithDefault"})
_PLACEHOLDERS = frozenset({"Placeholder", "PlaceholderV2"})


def _dtype_name(tf: Any, enum_value: int) -> str | None:
    try:
        return str(tf.dtypes.as_dtype(enum_value).name)
    except (TypeError, ValueError):
        return None


def _shape(proto: Any) -> list[int | str | None] | None:
    if proto is None or proto.unknown_rank:
        return None
    return [d.size if d.size >= 0 else None for d in proto.dim]


def _node_dtype(tf: Any, node: Any) -> str | None:
    for key in ("dtype", "T", "out_type", "DstT"):
        if key in node.attr and node.attr[key].type:
            return _dtype_name(tf, node.attr[key].type)
    return None


def _node_shape(node: Any) -> list[int | str | None] | None:
    if "shape" in node.attr and node.attr["shape"].HasField("shape"):
        return _shape(node.attr["shape"].shape)
    shapes = node.attr["_output_shapes"].list.shape if "_output_shapes" in node.attr else []
    return _shape(shapes[0]) if shapes else None


def _called_functions(node: Any, library: dict[str, Any]) -> list[str]:
    """Functions a node calls: func-valued attrs (f, body, cond, branches) or its own op type."""
    names = [node.op] if node.op in library else []
    for value in node.attr.values():
        if value.HasField("func") and value.func.name:
            names.append(value.func.name)
        elif value.HasField("list"):
            names.extend(f.name for f in value.list.func if f.name)
    return names


def _attrs(node: Any) -> dict[str, Any]:
    """The few attributes the checks read (strings/bools/ints), kept as plain values."""
    out: dict[str, Any] = {}
    for key, value in node.attr.items():
        kind = value.WhichOneof("value")
        if kind in ("b", "i", "f"):
            out[key] = getattr(value, kind)
        elif kind == "s":
            out[key] = value.s.decode("utf-8", "replace")
    return out


class _Walker:
    """Reachability over the main graph and the function library."""

    def __init__(self, tf: Any, graph_def: Any) -> None:
        self.tf = tf
        self.main = {n.name: n for n in graph_def.node}
        self.library = {f.signature.name: f for f in graph_def.library.function}
        self.nodes: list[TfNode] = []
        self.functions: list[str] = []
        self._seen_functions: set[str] = set()
        self.parameters = 0

    def walk_main(self, start: list[str]) -> None:
        seen: set[str] = set()
        queue = deque(node_of(s) for s in start)
        while queue:
            name = queue.popleft()
            if name in seen or name not in self.main:
                continue
            seen.add(name)
            node = self.main[name]
            self._record(node, "")
            queue.extend(node_of(i) for i in node.input if not i.startswith("^"))

    def _record(self, node: Any, graph: str) -> None:
        if node.op not in CALL_OPS or self._kept_call(node):
            # a call to a `_noinline` / XLA-compiled function survives freezing, and tf2onnx
            # has no handler for call ops: it is an op of its own (rule tf:inline-noinline)
            self.nodes.append(TfNode(node.name, node.op, graph, _attrs(node)))
        self.parameters += self._size(node)
        for fn in _called_functions(node, self.library):
            self.walk_function(fn)

    def _kept_call(self, node: Any) -> bool:
        fdef = self.library.get(node.attr["f"].func.name) if "f" in node.attr else None
        return fdef is not None and any(k in fdef.attr and fdef.attr[k].b
                                        for k in ("_noinline", "_XlaMustCompile"))

    def _size(self, node: Any) -> int:
        if node.op == "Const" and "value" in node.attr:
            shape = _shape(node.attr["value"].tensor.tensor_shape) or []
        elif node.op in ("VarHandleOp", "VariableV2"):
            shape = _node_shape(node) or []
        else:
            return 0
        if not shape or any(not isinstance(d, int) for d in shape):
            return 0
        total = 1
        for d in shape:
            total *= int(d)  # type: ignore[arg-type]
        return total if total > 1 else 0

    def walk_function(self, name: str) -> None:
        if name in self._seen_functions or name not in self.library:
            return
        self._seen_functions.add(name)
        self.functions.append(name)
        fdef = self.library[name]
        body = {n.name: n for n in fdef.node_def}
        seen: set[str] = set()
        queue = deque(ref.split(":", 1)[0] for ref in fdef.ret.values())
        while queue:
            ref = queue.popleft().lstrip("^")
            if ref in seen or ref not in body:
                continue  # a function argument, or already visited
            seen.add(ref)
            node = body[ref]
            self._record(node, name)
            queue.extend(i.split(":", 1)[0] for i in node.input if not i.startswith("^"))


def _parse(message: Any, data: bytes, path: Path, what: str) -> None:
    from google.protobuf.message import DecodeError

    try:
        message.ParseFromString(data)
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise InputError(path, TF_CORRUPT_PROTOBUF,
                         f"not a valid {what} protobuf ({str(exc).splitlines()[0][:120]})"
                         ) from None


def _signatures(tf: Any, meta_graph: Any) -> dict[str, Signature]:
    out: dict[str, Signature] = {}
    for key, sig in meta_graph.signature_def.items():
        if key.startswith("__"):  # __saved_model_init_op and friends: not callable signatures
            continue
        ins = {k: TfTensor(t.name, _dtype_name(tf, t.dtype), _shape(t.tensor_shape))
               for k, t in sorted(sig.inputs.items())}
        outs = {k: TfTensor(t.name, _dtype_name(tf, t.dtype), _shape(t.tensor_shape))
                for k, t in sorted(sig.outputs.items())}
        out[key] = Signature(key, ins, outs)
    return out


def _graph_outputs(main: dict[str, Any], tf: Any) -> list[TfTensor]:
    """Sinks of the main graph: nodes nobody consumes (summarize_graph's guess at outputs)."""
    consumed = {node_of(i) for n in main.values() for i in n.input}
    return [TfTensor(f"{n.name}:0", _node_dtype(tf, n), _node_shape(n))
            for n in main.values() if n.name not in consumed and n.op not in _NOT_OUTPUTS]


def _lookup(main: dict[str, Any], tf: Any, names: list[str]) -> tuple[list[TfTensor], list[str]]:
    found, missing = [], []
    for name in names:
        node = main.get(node_of(name))
        if node is None:
            missing.append(name)
        else:
            found.append(TfTensor(tensor_name(name), _node_dtype(tf, node), _node_shape(node)))
    return found, missing


def read_graph_def(
    graph_def: Any,
    path: str,
    kind: TfKind,
    *,
    inputs: list[str] | None = None,
    outputs: list[str] | None = None,
    signatures: dict[str, Signature] | None = None,
    signature: str | None = None,
) -> TfGraph:
    """Walk a GraphDef (with its function library) from the outputs: the signature's, else the
    user's, else the graph's sinks."""
    tf = import_tensorflow()
    walker = _Walker(tf, graph_def)
    main = walker.main
    missing_in: list[str] = []
    missing_out: list[str] = []
    chosen = signatures.get(signature) if signatures and signature else None
    if outputs:
        out_tensors, missing_out = _lookup(main, tf, outputs)
    elif chosen is not None:
        out_tensors = list(chosen.outputs.values())
    else:
        out_tensors = _graph_outputs(main, tf)
    walker.walk_main([t.name for t in out_tensors])
    if inputs:
        in_tensors, missing_in = _lookup(main, tf, inputs)
    elif chosen is not None:
        in_tensors = list(chosen.inputs.values())
    else:
        reached = {n.name for n in walker.nodes if n.graph == ""}
        in_tensors = [TfTensor(f"{n.name}:0", _node_dtype(tf, n), _node_shape(n))
                      for n in main.values() if n.op in _PLACEHOLDERS and n.name in reached]
    frozen = not any(n.op in VARIABLE_OPS for n in walker.nodes)
    return TfGraph(
        kind=kind, path=path, nodes=walker.nodes, inputs=in_tensors, outputs=out_tensors,
        tensor_names=set(main), signatures=signatures or {}, signature=signature,
        functions=walker.functions, parameters=walker.parameters, frozen=frozen,
        missing_inputs=missing_in, missing_outputs=missing_out)


def read_frozen_graph(path: str | Path, inputs: list[str] | None = None,
                      outputs: list[str] | None = None, *,
                      max_file_bytes: int | None = DEFAULT_MAX_FILE_BYTES) -> TfGraph:
    """A frozen GraphDef (.pb), read whole into memory: at most `max_file_bytes` (None: no
    limit, as for ONNX files)."""
    p = Path(path)
    data = read_untrusted_file(p, "a TensorFlow GraphDef", max_file_bytes)
    tf = import_tensorflow()
    from tensorflow.core.framework import graph_pb2
    from tensorflow.core.protobuf import saved_model_pb2

    graph_def = graph_pb2.GraphDef()
    _parse(graph_def, data, p, "GraphDef")
    if not graph_def.node:
        saved = saved_model_pb2.SavedModel()
        try:
            saved.ParseFromString(data)
        except Exception:  # noqa: BLE001 - only a hint for the error below
            saved = None
        hint = ("; it looks like a SavedModel's saved_model.pb: pass the SavedModel folder"
                if saved is not None and saved.meta_graphs else "")
        raise InputError(p, TF_NO_GRAPH, f"parses as protobuf but holds no graph nodes{hint}")
    del tf
    return read_graph_def(graph_def, str(p), "graphdef", inputs=inputs, outputs=outputs)


def read_checkpoint(path: str | Path, inputs: list[str] | None = None,
                    outputs: list[str] | None = None, *,
                    max_file_bytes: int | None = DEFAULT_MAX_FILE_BYTES) -> TfGraph:
    """A TF1 checkpoint: its .meta MetaGraphDef (at most `max_file_bytes`; the variables stay
    in the data files)."""
    p = Path(path)
    data = read_untrusted_file(p, "a TensorFlow MetaGraphDef (.meta)", max_file_bytes)
    tf = import_tensorflow()
    from tensorflow.core.protobuf import meta_graph_pb2

    meta = meta_graph_pb2.MetaGraphDef()
    _parse(meta, data, p, "MetaGraphDef")
    if not meta.graph_def.node:
        raise InputError(p, TF_NO_GRAPH, "parses as protobuf but holds no graph nodes")
    prefix = str(p)[: -len(".meta")] if str(p).endswith(".meta") else str(p)
    if not Path(prefix + ".index").exists():
        raise InputError(p, TF_CHECKPOINT_DATA_MISSING,
                         f"no checkpoint data next to the .meta ({Path(prefix).name}.index "
                         "missing); tf2onnx needs the variables to freeze the graph")
    signatures = _signatures(tf, meta)
    graph = read_graph_def(meta.graph_def, str(p), "checkpoint", inputs=inputs, outputs=outputs)
    graph.signatures = signatures
    return graph


def read_saved_model(path: str | Path, signature: str | None = None,
                     inputs: list[str] | None = None,
                     outputs: list[str] | None = None, tag: str = "serve", *,
                     max_file_bytes: int | None = DEFAULT_MAX_FILE_BYTES) -> TfGraph:
    """A SavedModel folder: the meta graph tagged `tag`, the chosen signature (default
    serving_default, or the only one), its function library. Its saved_model.pb (or .pbtxt)
    is read whole: at most `max_file_bytes`; the variables are never read."""
    p = Path(path)
    if p.name == "saved_model.pb" and p.is_file():
        p = p.parent
    pb, pbtxt = p / "saved_model.pb", p / "saved_model.pbtxt"
    # saved_model.pb wins, as in TensorFlow; with neither, the error names the .pb
    binary = os.path.lexists(pb) or not os.path.lexists(pbtxt)
    data = read_untrusted_file(pb if binary else pbtxt, "a SavedModel's saved_model proto",
                               max_file_bytes)
    tf = import_tensorflow()
    from tensorflow.core.protobuf import saved_model_pb2

    saved = saved_model_pb2.SavedModel()
    if binary:
        _parse(saved, data, pb, "SavedModel")
    else:
        from google.protobuf import text_format

        try:
            text_format.Parse(data.decode("utf-8"), saved)
        except (text_format.ParseError, UnicodeDecodeError) as exc:
            raise InputError(pbtxt, TF_CORRUPT_PROTOBUF,
                             f"not a valid SavedModel text protobuf ({exc})") from None
    if not saved.meta_graphs:
        raise InputError(p, TF_NO_GRAPH, "saved_model.pb holds no meta graph")
    meta = next((m for m in saved.meta_graphs if tag in m.meta_info_def.tags),
                saved.meta_graphs[0])
    signatures = _signatures(tf, meta)
    chosen = _choose_signature(p, signatures, signature)
    graph = read_graph_def(meta.graph_def, str(p), "saved_model", inputs=inputs,
                           outputs=outputs, signatures=signatures, signature=chosen)
    graph.frozen = True  # tf2onnx freezes a SavedModel's variables itself
    return graph


def _choose_signature(path: Path, signatures: dict[str, Signature],
                      requested: str | None) -> str | None:
    if requested is not None:
        if requested not in signatures:
            known = ", ".join(sorted(signatures)) or "none"
            raise InputError(path, TF_SIGNATURE_NOT_FOUND,
                             f"no signature {requested!r}; the SavedModel has: {known}")
        return requested
    if DEFAULT_SIGNATURE in signatures:
        return DEFAULT_SIGNATURE
    if len(signatures) == 1:
        return next(iter(signatures))
    if not signatures:
        return None
    raise InputError(path, TF_SIGNATURE_NOT_FOUND,
                     f"no {DEFAULT_SIGNATURE!r} signature; choose one with --signature: "
                     f"{', '.join(sorted(signatures))}")
