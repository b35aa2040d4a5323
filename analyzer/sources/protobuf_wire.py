"""ONNX protobuf bytes walked at the wire level, for the files protobuf's decoder refused.

When the decoder gives up (too deep, truncated) the bytes can still be walked field by field:
iteratively, so no nesting exhausts a stack, and tolerantly, so a cut file still yields the
fields before the cut. The tables name onnx.proto's fields (ModelProto and the messages that
nest graphs); only `deepest_subgraph` and `truncation_hint` are meant for other modules.
"""

from __future__ import annotations

from collections.abc import Iterator

__all__ = ["deepest_subgraph", "truncation_hint"]


# Protobuf wire format, enough to walk the fields that nest graphs and to spot truncation when
# the real decoder has already refused the bytes.
_VARINT, _I64, _LEN, _I32 = 0, 1, 2, 5
# (message, field number) -> (child message, subgraph depth increment)
_NESTING_FIELDS: dict[tuple[str, int], tuple[str, int]] = {
    ("model", 7): ("graph", 0),
    ("model", 20): ("training_info", 0),
    ("model", 25): ("function", 0),
    ("training_info", 1): ("graph", 0),
    ("training_info", 2): ("graph", 0),
    ("function", 7): ("node", 0),
    ("graph", 1): ("node", 0),
    ("node", 5): ("attribute", 0),
    ("attribute", 6): ("graph", 1),
    ("attribute", 11): ("graph", 1),
}
_MODEL_FIELD_NAMES = {
    2: "producer_name",
    3: "producer_version",
    4: "domain",
    6: "doc_string",
    7: "graph",
    8: "opset_import",
    14: "metadata_props",
    20: "training_info",
    25: "functions",
}


def _read_varint(buf: memoryview, pos: int, end: int) -> tuple[int, int] | None:
    value = shift = 0
    while pos < end and shift < 64:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
    return None


def _fields(buf: memoryview, pos: int, end: int) -> Iterator[tuple[int, int, int, int]]:
    """Yield (field, wire type, start, stop) for each field; stop early at malformed bytes.

    For a length-delimited field start..stop is its payload and stop may exceed `end` when the
    bytes are truncated; the caller decides what that means.
    """
    while pos < end:
        tag = _read_varint(buf, pos, end)
        if tag is None:
            return
        key, pos = tag
        number, wire = key >> 3, key & 7
        if wire == _VARINT:
            value = _read_varint(buf, pos, end)
            if value is None:
                return
            start, pos = pos, value[1]
        elif wire in (_I64, _I32):
            start, pos = pos, pos + (8 if wire == _I64 else 4)
        elif wire == _LEN:
            length = _read_varint(buf, pos, end)
            if length is None:
                return
            start, pos = length[1], length[1] + length[0]
        else:
            return  # groups: onnx.proto has none, so these bytes are corrupt
        yield number, wire, start, pos


def deepest_subgraph(data: bytes) -> int:
    """Deepest subgraph nesting in raw bytes, walked iteratively (the decoder refused them)."""
    buf = memoryview(data)
    deepest = 0
    stack: list[tuple[str, int, int, int]] = [("model", 0, len(data), 0)]
    while stack:
        kind, pos, end, depth = stack.pop()
        if kind == "graph":
            deepest = max(deepest, depth)
        for number, wire, start, stop in _fields(buf, pos, end):
            child = _NESTING_FIELDS.get((kind, number))
            if wire == _LEN and child is not None and stop <= end:
                stack.append((child[0], start, stop, depth + child[1]))
    return deepest


def truncation_hint(data: bytes) -> str | None:
    """Name the top-level field that runs past the end of the file: the mark of a cut copy."""
    buf = memoryview(data)
    for number, wire, start, stop in _fields(buf, 0, len(data)):
        if stop > len(data):
            if wire != _LEN:
                return "the file ends inside a field: it looks truncated"
            name = _MODEL_FIELD_NAMES.get(number, f"field {number}")
            return (
                f"the {name} field needs {stop - start} bytes but only {len(data) - start} "
                "remain: the file looks truncated"
            )
    return None
