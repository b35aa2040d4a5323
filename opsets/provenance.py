"""Where a shipped table came from: one record for the provenance header of every table.

Every header has library, version, generated (a date) and source; a table may add its own
fields (torch: onnxscript_version; tf2onnx: default_opset, max_opset; ...). Those are kept as
the JSON spells them and read as attributes or items, so one type serves all tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: The fields every provenance header has; anything else is table-specific (`extra`).
CORE_FIELDS: tuple[str, ...] = ("library", "version", "generated", "source")


@dataclass(frozen=True)
class Provenance:
    """Where a table (or one domain / provider of it) came from."""

    library: str
    version: str
    generated: str
    source: str
    #: the header's table-specific fields, by their JSON names
    extra: Mapping[str, Any] = field(default_factory=dict, hash=False, repr=False)

    @classmethod
    def from_header(cls, header: Mapping[str, Any], generated: str | None = None) -> Provenance:
        """From a JSON provenance header. `generated` overrides the header's date: sub-headers
        (one per domain or provider) carry none and inherit the table's."""
        date = header.get("generated", "") if generated is None else generated
        extra = {k: v for k, v in header.items() if k not in CORE_FIELDS}
        return cls(header["library"], header["version"], date, header["source"], extra)

    def __getattr__(self, name: str) -> Any:
        # Reached only when no field matched: a table-specific header field as an attribute
        # (torch's provenance.onnxscript_version). Dunders and `extra` itself must not recurse.
        if name.startswith("__") or name == "extra":
            raise AttributeError(name)
        try:
            return self.extra[name]
        except KeyError:
            raise AttributeError(f"provenance has no field {name!r}") from None

    def __getitem__(self, key: str) -> Any:
        """Any header field by its JSON name (provenance["default_opset"])."""
        return getattr(self, key) if key in CORE_FIELDS else self.extra[key]
