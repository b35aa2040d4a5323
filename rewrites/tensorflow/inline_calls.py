"""tf:inline-noinline (graph rule): inline function calls that freezing leaves in the graph.

Measured gap: Keras 3 wraps some layers' kernels in `tf.function(jit_compile=True)` (e.g.
ConvNeXt's grouped / depthwise convolution, `_conv_xla`): the function carries `_noinline`
and `_XlaMustCompile`, so TensorFlow's freezing (grappler) keeps a `StatefulPartitionedCall`
to it, and tf2onnx has no handler for call ops: keras.applications.ConvNeXtTiny fails at every
opset with 18 unconverted calls. A tf2onnx handler cannot fix this (the handler sees the call
node, not the function body), so this rule rewrites the GraphDef before conversion.

How: the function is turned into a GraphDef by TensorFlow's own `function_def_to_graph_def`
(which flattens the function-internal tensor names `node:out_arg:i` into `node:k`); its nodes
are copied into the main graph under `<call>/inlined/`, its argument placeholders replaced by
the call's inputs, and the call node itself becomes an `IdentityN` of the function's results
under the same name, so every consumer (and a graph output) of `call:i` is unchanged. Nested
calls are inlined in later rounds. Exact: the same ops on the same tensors.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rewrites.contract import Match, Reason
from rewrites.tensorflow.rule import TFHit, TFMatch, TFNode, TFRuleBase, TFTarget

CALL_OPS = ("StatefulPartitionedCall", "PartitionedCall")
MAX_ROUNDS = 8


def _no_inline(fdef: Any) -> bool:
    return any(k in fdef.attr and fdef.attr[k].b for k in ("_noinline", "_XlaMustCompile"))


def kept_calls(graph_def: Any) -> list[Any]:
    """The main graph's call nodes whose function freezing will not inline."""
    library = {f.signature.name: f for f in graph_def.library.function}
    return [n for n in graph_def.node if n.op in CALL_OPS and "f" in n.attr
            and n.attr["f"].func.name in library and _no_inline(library[n.attr["f"].func.name])]


def _inline_one(graph_def: Any, call: Any, fdef: Any) -> None:
    from tensorflow.python.framework.function_def_to_graph import function_def_to_graph_def

    body, nested_to_flat = function_def_to_graph_def(fdef)
    args = [a.name for a in fdef.signature.input_arg]
    data_inputs = [i for i in call.input if not i.startswith("^")]
    controls = [i for i in call.input if i.startswith("^")]
    feeds = dict(zip(args, data_inputs, strict=True))
    prefix = f"{call.name}/inlined/"

    def rename(ref: str) -> str:
        control = ref.startswith("^")
        name = ref[1:] if control else ref
        node, _, port = name.partition(":")
        if node in feeds:
            if control:
                return "^" + feeds[node].split(":")[0].lstrip("^")
            return feeds[node]  # an argument: the call's own input tensor
        new = prefix + node + (f":{port}" if port else "")
        return ("^" + new) if control else new

    for node in body.node:
        if node.op == "Placeholder" and node.name in feeds:
            continue
        copy = graph_def.node.add()
        copy.CopyFrom(node)
        copy.name = prefix + node.name
        del copy.input[:]
        copy.input.extend(rename(i) for i in node.input)
        if not node.input:  # constants and other sources still wait for the call's controls
            copy.input.extend(controls)
    results = []
    for out_arg in fdef.signature.output_arg:
        nested = fdef.ret[out_arg.name]
        flat = nested_to_flat.get(nested, nested)
        results.append(rename(flat))
    types = list(call.attr["Tout"].list.type)
    call.op = "IdentityN"
    for key in list(call.attr):
        del call.attr[key]
    del call.input[:]
    call.input.extend(results)
    call.attr["T"].list.type.extend(types)


def inline_kept_calls(graph_def: Any) -> int:
    """Inline every call freezing kept (see module doc), in place; returns how many."""
    count = 0
    for _ in range(MAX_ROUNDS):
        library = {f.signature.name: f for f in graph_def.library.function}
        calls = kept_calls(graph_def)
        if not calls:
            break
        for call in calls:
            fdef = library[call.attr["f"].func.name]
            if len(fdef.signature.output_arg) != len(call.attr["Tout"].list.type):
                continue  # list-valued results: not inlined (kept as the call)
            _inline_one(graph_def, call, fdef)
            count += 1
    return count


class InlineNoInlineCalls(TFRuleBase):
    """The graph rule (see module doc); `apply` edits a frozen GraphDef in place."""

    id = "tf:inline-noinline"
    summary = ("inline function calls freezing keeps (`_noinline` / XLA-compiled Keras "
               "kernels, e.g. ConvNeXt's grouped convolution)")
    targets = (TFTarget("StatefulPartitionedCall", 1), TFTarget("PartitionedCall", 1))
    exact = True
    kind = "graph"

    def check(self, subject: Sequence[TFNode], item: int) -> TFMatch | Reason:
        hit = [n for n in subject if n.op in CALL_OPS]
        if not hit:
            return Reason(self.id, "", "no function call that freezing keeps")
        return Match(self.id, TFHit(tuple(n.name for n in hit),
                                    tuple(sorted({n.op for n in hit}))))

    def apply(self, subject: Any, match: TFMatch | None = None) -> int:
        """Inline the kept calls of the GraphDef `subject` in place; how many."""
        return inline_kept_calls(subject)


RULE = InlineNoInlineCalls()
