"""ONNX TypeProto -> the type strings that ONNX schemas and ONNX Runtime kernels use.

onnx has no public helper that prints "tensor(float)" for a TypeProto (its printer writes
"float[2,3]"), and both the schema tables and ORT's kernel registry key types by these strings,
so this small converter is written here.
"""

from __future__ import annotations

import onnx

# TensorProto.DataType enum name -> ONNX type-string spelling ("FLOAT" -> "float").
_ELEM_NAMES: dict[int, str] = {
    value: name.lower()
    for name, value in onnx.TensorProto.DataType.items()
    if name != "UNDEFINED"
}


def elem_type_name(elem_type: int) -> str | None:
    """Element type number -> "float", "int64", ... (None for UNDEFINED or unknown)."""
    return _ELEM_NAMES.get(elem_type)


def type_string(tp: onnx.TypeProto) -> str | None:
    """TypeProto -> "tensor(float)", "seq(tensor(int64))", ...; None when not fully known."""
    which = tp.WhichOneof("value")
    if which == "tensor_type":
        name = elem_type_name(tp.tensor_type.elem_type)
        return f"tensor({name})" if name else None
    if which == "sparse_tensor_type":
        name = elem_type_name(tp.sparse_tensor_type.elem_type)
        return f"sparse_tensor({name})" if name else None
    if which == "sequence_type":
        inner = type_string(tp.sequence_type.elem_type)
        return f"seq({inner})" if inner else None
    if which == "optional_type":
        inner = type_string(tp.optional_type.elem_type)
        return f"optional({inner})" if inner else None
    if which == "map_type":
        key = elem_type_name(tp.map_type.key_type)
        value = type_string(tp.map_type.value_type)
        return f"map({key},{value})" if key and value else None
    return None


def shape_of(tp: onnx.TypeProto) -> list[int | str | None] | None:
    """Dims of a tensor type: ints, symbolic names, or None for unknown; None if unranked."""
    if tp.WhichOneof("value") != "tensor_type" or not tp.tensor_type.HasField("shape"):
        return None
    dims: list[int | str | None] = []
    for d in tp.tensor_type.shape.dim:
        which = d.WhichOneof("value")
        dims.append(d.dim_value if which == "dim_value" else d.dim_param if which else None)
    return dims

