"""Small helpers for writing tf2onnx handlers: constants of the node's dtype and chains of
ONNX nodes. tf2onnx's Graph API (make_node, make_const, insert_node_on_output) is used as is;
these only remove the repetition of naming and dtype lookups."""

from __future__ import annotations

from typing import Any

import numpy as np


def np_dtype(ctx: Any, tensor: str) -> Any:
    from tf2onnx import utils

    return utils.map_onnx_to_numpy_type(ctx.get_dtype(tensor))


def const(ctx: Any, like: str, value: float, hint: str) -> str:
    """A scalar constant of `like`'s dtype; returns its output name."""
    from tf2onnx import utils

    node = ctx.make_const(utils.make_name(hint), np.array(value, dtype=np_dtype(ctx, like)))
    return str(node.output[0])


def op(ctx: Any, op_type: str, inputs: list[str], hint: str, **attrs: Any) -> str:
    """A new node; returns its (single) output name."""
    from tf2onnx import utils

    node = ctx.make_node(op_type, inputs, attr=attrs or None, name=utils.make_name(hint))
    return str(node.output[0])


def become(ctx: Any, node: Any, op_type: str, inputs: list[str], **attrs: Any) -> None:
    """Turn the TF node itself into the last ONNX op of the handler's chain: its output name,
    shape, dtype and consumers (graph outputs included) stay as they are."""
    for name in list(node.attr):
        del node.attr[name]
    node.type = op_type
    node.domain = ""
    ctx.replace_inputs(node, inputs)
    for key, value in attrs.items():
        node.set_attr(key, value)
