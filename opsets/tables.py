"""Typed, cached access to the shipped tables (opsets/data/*.json).

Analysis never imports onnx's schema registry or onnxruntime's kernel registry: it reads these
generated tables, which load in milliseconds and say which library version they describe.
"""

from __future__ import annotations

import bisect
import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opsets.provenance import Provenance

DATA_DIR = Path(__file__).parent / "data"
SCHEMAS_PATH = DATA_DIR / "onnx_schemas.json"
KERNELS_PATH = DATA_DIR / "ort_kernels.json"

PROVIDER_ALIASES: dict[str, str] = {
    "cpu": "CPUExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "dml": "DmlExecutionProvider",
}


#: ORT's docs and C++ sources name domains both ways; the tables use the ONNX domain strings.
DOMAIN_ALIASES: dict[str, str] = {
    "ai.onnx": "",
    "kOnnxDomain": "",
    "kMLDomain": "ai.onnx.ml",
    "kMSDomain": "com.microsoft",
    "kMSNchwcDomain": "com.microsoft.nchwc",
    "kMSInternalNHWCDomain": "com.ms.internal.nhwc",
    "kMSDmlDomain": "com.microsoft.dml",
    "kPytorchAtenDomain": "org.pytorch.aten",
}


def normalize_domain(domain: str) -> str:
    """Map the md's / ORT's domain spellings to ONNX domain strings ('' for ai.onnx)."""
    domain = domain.strip()
    return DOMAIN_ALIASES.get(domain, domain)


def short_provider(provider: str) -> str:
    """'CUDAExecutionProvider' -> 'CUDA', for table columns and messages."""
    return provider.replace("ExecutionProvider", "")


def normalize_provider(name: str) -> str:
    """'cuda' / 'CUDA' / 'CUDAExecutionProvider' -> 'CUDAExecutionProvider'; else ValueError."""
    key = name.strip().lower()
    if key in PROVIDER_ALIASES:
        return PROVIDER_ALIASES[key]
    for full in PROVIDER_ALIASES.values():
        if key == full.lower():
            return full
    known = ", ".join(f"{alias} ({full})" for alias, full in PROVIDER_ALIASES.items())
    raise ValueError(f"unknown execution provider {name!r}; known: {known}")


@dataclass(frozen=True)
class FormalParam:
    """One formal input or output of a schema; option is 'single' | 'optional' | 'variadic'."""

    name: str
    type_str: str
    option: str
    homogeneous: bool


@dataclass(frozen=True)
class SchemaVersion:
    """One since_version of an operator schema."""

    domain: str
    op: str
    since_version: int
    deprecated: bool
    has_function: bool
    has_context_dependent_function: bool
    inputs: tuple[FormalParam, ...]
    outputs: tuple[FormalParam, ...]
    min_input: int
    max_input: int
    min_output: int
    max_output: int
    type_constraints: dict[str, tuple[str, ...]] = field(hash=False)
    function_opset_versions: tuple[int, ...] = ()
    context_dependent_function_opset_versions: tuple[int, ...] = ()


@dataclass(frozen=True)
class KernelDef:
    """One registered kernel: versions [start, end] (end None = open, 'N+'), allowed types."""

    provider: str
    domain: str
    op: str
    start: int
    end: int | None
    type_constraints: dict[str, tuple[str, ...]] = field(hash=False)

    def range_str(self) -> str:
        """The md's notation: '13+', '[6, 12]', '13'."""
        if self.end is None:
            return f"{self.start}+"
        if self.end == self.start:
            return str(self.start)
        return f"[{self.start}, {self.end}]"


def _params(records: list[dict[str, Any]]) -> tuple[FormalParam, ...]:
    return tuple(
        FormalParam(r["name"], r["type_str"], r["option"], r["homogeneous"]) for r in records
    )


def _schema_version(domain: str, op: str, r: dict[str, Any]) -> SchemaVersion:
    return SchemaVersion(
        domain=domain,
        op=op,
        since_version=r["since_version"],
        deprecated=r["deprecated"],
        has_function=r["has_function"],
        has_context_dependent_function=r["has_context_dependent_function"],
        inputs=_params(r["inputs"]),
        outputs=_params(r["outputs"]),
        min_input=r["min_input"],
        max_input=r["max_input"],
        min_output=r["min_output"],
        max_output=r["max_output"],
        type_constraints={k: tuple(v) for k, v in r["type_constraints"].items()},
        function_opset_versions=tuple(r["function_opset_versions"]),
        context_dependent_function_opset_versions=tuple(
            r["context_dependent_function_opset_versions"]
        ),
    )


class SchemaTable:
    """ONNX operator schemas per (domain, op), every since_version, resolved as ONNX does."""

    def __init__(self, data: dict[str, Any]) -> None:
        header = data["provenance"]
        self.provenance = Provenance.from_header(header)
        self._domain_provenance = {
            domain: Provenance.from_header(p, generated=self.provenance.generated)
            for domain, p in header.get("domains", {}).items()
        }
        self._versions: dict[str, dict[str, list[SchemaVersion]]] = {
            domain: {
                op: sorted(
                    (_schema_version(domain, op, r) for r in records),
                    key=lambda s: s.since_version,
                )
                for op, records in ops.items()
            }
            for domain, ops in data["schemas"].items()
        }
        self._since: dict[tuple[str, str], list[int]] = {
            (domain, op): [s.since_version for s in versions]
            for domain, ops in self._versions.items()
            for op, versions in ops.items()
        }

    def domains(self) -> list[str]:
        return sorted(self._versions)

    def has_domain(self, domain: str) -> bool:
        return domain in self._versions

    def ops(self, domain: str) -> list[str]:
        return sorted(self._versions.get(domain, {}))

    def domain_provenance(self, domain: str) -> Provenance | None:
        """Which library defined this domain (onnx, or onnxruntime for contrib domains)."""
        return self._domain_provenance.get(domain)

    def versions(self, domain: str, op: str) -> list[SchemaVersion]:
        """Every since_version of (domain, op), ascending; [] for an unknown op."""
        return list(self._versions.get(domain, {}).get(op, ()))

    def resolve(self, domain: str, op: str, opset: int) -> SchemaVersion | None:
        """The schema in force at `opset`: highest since_version <= opset (None if none is)."""
        since = self._since.get((domain, op))
        if not since:
            return None
        index = bisect.bisect_right(since, opset)
        return self._versions[domain][op][index - 1] if index else None


class KernelTable:
    """ONNX Runtime kernels per (provider, domain, op), as registered (not merged by range)."""

    def __init__(self, data: dict[str, Any]) -> None:
        header = data["provenance"]
        generated = header.get("generated", "")
        self._provenance = {
            provider: Provenance.from_header(p, generated=generated)
            for provider, p in header["providers"].items()
        }
        self._kernels: dict[str, dict[str, dict[str, list[KernelDef]]]] = {
            provider: {
                domain: {
                    op: [
                        KernelDef(
                            provider,
                            domain,
                            op,
                            r["start"],
                            r["end"],
                            {k: tuple(v) for k, v in r["types"].items()},
                        )
                        for r in records
                    ]
                    for op, records in ops.items()
                }
                for domain, ops in domains.items()
            }
            for provider, domains in data["kernels"].items()
        }

    def providers(self) -> list[str]:
        return sorted(self._kernels)

    def provenance(self, provider: str) -> Provenance:
        return self._provenance[normalize_provider(provider)]

    def domains(self, provider: str) -> list[str]:
        return sorted(self._kernels.get(normalize_provider(provider), {}))

    def ops(self, provider: str, domain: str) -> list[str]:
        return sorted(self._kernels.get(normalize_provider(provider), {}).get(domain, {}))

    def kernels(self, provider: str, domain: str, op: str) -> list[KernelDef]:
        """Kernels in table order (by start, end, types); [] when the provider has none."""
        by_domain = self._kernels.get(normalize_provider(provider), {})
        return list(by_domain.get(domain, {}).get(op, ()))


def read_json(path: Path) -> dict[str, Any]:
    with path.open("rb") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


@functools.lru_cache(maxsize=1)
def load_schemas() -> SchemaTable:
    """The shipped schema table (parsed once per process)."""
    return SchemaTable(read_json(SCHEMAS_PATH))


@functools.lru_cache(maxsize=1)
def load_kernels() -> KernelTable:
    """The shipped kernel table (parsed once per process)."""
    return KernelTable(read_json(KERNELS_PATH))
