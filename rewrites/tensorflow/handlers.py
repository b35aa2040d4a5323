"""Install extra tf2onnx handlers for one conversion, through tf2onnx's own registry.

Why not subclass or patch tf2onnx: its handler table (`tf2onnx.handler.tf_op`) is the
documented extension point (the `@tf_op` decorator its op modules and users' custom-op
handlers use). `tf_op.register_handler` writes into a process-wide table, so this context
manager records every slot it overwrites and puts it back on exit (also on an exception): a
later conversion in the same process sees tf2onnx exactly as shipped.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from rewrites.tensorflow.rule import TFRule

_ONNX_DOMAIN = ""
_MISSING = object()


@contextmanager
def extra_handlers(rules: Sequence[TFRule]) -> Iterator[list[str]]:
    """Register the handlers of `rules` (ONNX domain) and yield the op names installed."""
    import tf2onnx.onnx_opset  # noqa: F401 - tf2onnx's own handlers must be registered first
    import tf2onnx.tflite_handlers  # noqa: F401
    from tf2onnx.handler import tf_op

    table: dict[str, list[dict[str, Any]]] = tf_op.get_opsets()
    saved: list[tuple[int, str, Any]] = []
    length = len(table.get(_ONNX_DOMAIN, []))
    installed: list[str] = []
    try:
        for rule in rules:
            if rule.kind != "handler":
                continue  # graph rules act on the GraphDef, not through handlers
            for op, (version, func) in rule.handlers().items():
                versions = table.setdefault(_ONNX_DOMAIN, [])
                previous = versions[version].get(op, _MISSING) if version < len(versions) \
                    else _MISSING
                saved.append((version, op, previous))
                tf_op.register_handler(func, version, [op], _ONNX_DOMAIN, {})
                installed.append(op)
        yield installed
    finally:
        versions = table.get(_ONNX_DOMAIN, [])
        for version, op, previous in reversed(saved):
            if previous is _MISSING:
                versions[version].pop(op, None)
            else:
                versions[version][op] = previous
        del versions[length:]  # slots register_handler appended for higher versions
