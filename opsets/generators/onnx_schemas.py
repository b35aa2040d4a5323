"""Build the ONNX operator schema table from the installed libraries.

The table answers "which versions of (domain, op) exist and what do they accept" without importing
onnx at analysis time. Domains the onnx package defines come from onnx; contrib domains that only
onnxruntime defines (com.microsoft, ...) come from onnxruntime's own schema registry, and the
provenance records which library each domain came from.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import onnx
import onnx.defs
import onnxruntime
from onnxruntime.capi import onnxruntime_pybind11_state as ort_state

from opsets.generators.cache import build_once

#: root > schemas > domain > op > [version records] (one schema version a line in the file)
SCHEMAS_EXPAND_DEPTH = 4

#: JSON form of one schema version (see `schema_record`).
SchemaRecord = dict[str, Any]
#: domain -> op -> records sorted by since_version.
SchemaData = dict[str, dict[str, list[SchemaRecord]]]

ONNX_SOURCE = "onnx.defs.get_all_schemas_with_history()"
ORT_SOURCE = "onnxruntime.capi.onnxruntime_pybind11_state.get_all_operator_schema()"
#: onnxruntime's pybind schema objects carry no function bodies, so these flags are unknown there.
ORT_FUNCTION_NOTE = "function flags are not exposed by onnxruntime's schema API; recorded as false"


def _option_name(option: Any) -> str:
    """'Single' | 'Optional' | 'Variadic' -> 'single' | 'optional' | 'variadic'."""
    return str(getattr(option, "name", option)).rsplit(".", 1)[-1].lower()


def _param_record(param: Any) -> dict[str, Any]:
    # onnx spells these type_str / is_homogeneous, onnxruntime's pybind typeStr / isHomogeneous.
    type_str = getattr(param, "type_str", None)
    if type_str is None:
        type_str = param.typeStr
    homogeneous = getattr(param, "is_homogeneous", None)
    if homogeneous is None:
        homogeneous = param.isHomogeneous
    return {
        "name": param.name,
        "type_str": type_str,
        "option": _option_name(param.option),
        "homogeneous": bool(homogeneous),
    }


def schema_record(schema: Any) -> SchemaRecord:
    """One schema version as plain JSON data; works for onnx and onnxruntime schema objects."""
    return {
        "since_version": int(schema.since_version),
        "deprecated": bool(schema.deprecated),
        "has_function": bool(getattr(schema, "has_function", False)),
        "has_context_dependent_function": bool(
            getattr(schema, "has_context_dependent_function", False)
        ),
        "function_opset_versions": sorted(
            int(v) for v in getattr(schema, "function_opset_versions", ())
        ),
        "context_dependent_function_opset_versions": sorted(
            int(v) for v in getattr(schema, "context_dependent_function_opset_versions", ())
        ),
        "inputs": [_param_record(p) for p in schema.inputs],
        "outputs": [_param_record(p) for p in schema.outputs],
        "min_input": int(schema.min_input),
        "max_input": int(schema.max_input),
        "min_output": int(schema.min_output),
        "max_output": int(schema.max_output),
        "type_constraints": {
            tc.type_param_str: sorted(tc.allowed_type_strs) for tc in schema.type_constraints
        },
    }


def _collect(schemas: Iterable[Any], data: SchemaData) -> None:
    for schema in schemas:
        ops = data.setdefault(schema.domain, {})
        ops.setdefault(schema.name, []).append(schema_record(schema))


def _sort(data: SchemaData) -> SchemaData:
    out: SchemaData = {}
    for domain in sorted(data):
        out[domain] = {}
        for op in sorted(data[domain]):
            records = sorted(data[domain][op], key=lambda r: r["since_version"])
            versions = [r["since_version"] for r in records]
            if len(set(versions)) != len(versions):
                raise ValueError(f"duplicate since_version for {domain!r} {op}: {versions}")
            out[domain][op] = records
    return out


def build_schema_table() -> dict[str, Any]:
    """Return {"provenance": ..., "schemas": ...} from the installed onnx and onnxruntime
    (built once per process; a fresh copy each call).

    The provenance's "generated" field is left out; the writer adds it (the drift test ignores it).
    """
    return build_once(__name__, _schema_table)


def _schema_table() -> dict[str, Any]:
    onnx_data: SchemaData = {}
    _collect(onnx.defs.get_all_schemas_with_history(), onnx_data)
    onnx_domains = set(onnx_data)

    ort_data: SchemaData = {}
    ort_version: str | None = None
    try:
        ort_version = onnxruntime.__version__
        ort_schemas = [
            s for s in ort_state.get_all_operator_schema() if s.domain not in onnx_domains
        ]
        _collect(ort_schemas, ort_data)
    except AttributeError:
        # A wheel without the schema API (minimal builds) simply contributes no contrib domains.
        ort_data = {}

    domains: dict[str, dict[str, str]] = {}
    for domain in onnx_domains:
        domains[domain] = {"library": "onnx", "version": onnx.__version__, "source": ONNX_SOURCE}
    for domain in ort_data:
        domains[domain] = {
            "library": "onnxruntime",
            "version": str(ort_version),
            "source": ORT_SOURCE,
            "note": ORT_FUNCTION_NOTE,
        }
    merged = {**onnx_data, **ort_data}
    return {
        "provenance": {
            "library": "onnx",
            "version": onnx.__version__,
            "source": ONNX_SOURCE + "; contrib domains: " + ORT_SOURCE,
            "contrib_library": "onnxruntime",
            "contrib_version": str(ort_version),
            "domains": dict(sorted(domains.items())),
        },
        "schemas": _sort(merged),
    }
