"""Lookups the analyzer asks of the tables: does a provider have a kernel for this node, and if
not, what exists instead.

Kernel matching follows ONNX Runtime's KernelRegistry::VerifyKernelDef
(onnxruntime/core/framework/kernel_registry.cc) and KernelTypeStrResolver
(kernel_type_str_resolver.cc):

* version: a kernel matches when its start equals the node's since_version, or when it has an end
  (is not open, 'N+') and start <= since_version <= end. An open range 'N+' therefore matches only
  since_version N: ORT cannot know that a later version of the op did not change it.
* types: each kernel type constraint name is mapped to the schema's formal params, inputs first
  then outputs: a param whose type_str is one of the schema's type constraints is found under that
  type_str, any other param under its own name. For each constraint ORT takes the first of those
  params that is present in the node (for a variadic param, the first actual arg of the group) and
  checks its type against the kernel's allowed types; absent optional args are skipped.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Sequence
from dataclasses import dataclass, field

from opsets.provenance import Provenance
from opsets.tables import (
    KernelDef,
    SchemaVersion,
    load_kernels,
    load_schemas,
    normalize_domain,
    normalize_provider,
)

#: An input or output the node omits (ONNX writes an empty name); None means "type unknown".
ABSENT = ""

#: numpy / torch spellings the analyzer may hold, mapped to ONNX element type names.
_ELEMENT_ALIASES = {
    "float32": "float",
    "float64": "double",
    "half": "float16",
    "str": "string",
    "object": "string",
    "bool_": "bool",
}


def normalize_type(type_str: str | None) -> str | None:
    """'float32' / 'float' / 'tensor(float)' -> 'tensor(float)'; None and ABSENT pass through."""
    if type_str is None:
        return None
    text = type_str.strip().replace(" ", "")
    if not text or "(" in text:
        return text
    return f"tensor({_ELEMENT_ALIASES.get(text, text)})"


def version_matches(kernel: KernelDef, since_version: int) -> bool:
    """ORT's VerifyVersion: exact start, or inside a closed [start, end]."""
    return kernel.start == since_version or (
        kernel.end is not None and kernel.start <= since_version <= kernel.end
    )


@dataclass(frozen=True)
class KernelMatch:
    """Answer of match_kernel; reason is one line, also when ok (what matched, what was checked)."""

    ok: bool
    kernel: KernelDef | None
    reason: str
    type_checked: bool


#: (is_input, formal param index)
_ArgRef = tuple[bool, int]


@functools.lru_cache(maxsize=4096)
def kernel_type_str_args(schema: SchemaVersion) -> dict[str, tuple[_ArgRef, ...]]:
    """ORT's KernelTypeStrResolver::RegisterOpSchema: kernel type string -> formal params."""
    constraint_names = set(schema.type_constraints)
    out: dict[str, list[_ArgRef]] = {}
    for is_input, params in ((True, schema.inputs), (False, schema.outputs)):
        for index, param in enumerate(params):
            key = param.type_str if param.type_str in constraint_names else param.name
            out.setdefault(key, []).append((is_input, index))
    return {key: tuple(refs) for key, refs in out.items()}


@dataclass(frozen=True)
class _ConstraintCheck:
    name: str
    status: str  # "pass" | "fail" | "skipped" (all absent) | "unknown" (type unknown / unresolved)
    actual: str | None = None


def _arg_type(types: Sequence[str | None], index: int) -> str | None:
    return types[index] if index < len(types) else ABSENT


def _check_constraint(
    name: str,
    allowed: tuple[str, ...],
    schema: SchemaVersion,
    inputs: Sequence[str | None],
    outputs: Sequence[str | None],
) -> _ConstraintCheck:
    refs = kernel_type_str_args(schema).get(name)
    if refs is None:
        return _ConstraintCheck(name, "unknown")  # ORT would fail to resolve it; we cannot judge
    saw_unknown = False
    for is_input, index in refs:
        params = schema.inputs if is_input else schema.outputs
        actual = inputs if is_input else outputs
        candidates = [index]
        if params[index].option == "variadic" and params[index].homogeneous:
            # ORT checks the group's first arg; when its type is unknown, its homogeneous siblings
            # necessarily have the same type, so they can stand in.
            candidates += list(range(index + 1, len(actual)))
        first = _arg_type(actual, index)
        if first == ABSENT:
            continue  # ORT: arg count 0 or !Exists() -> try the next param with this constraint
        known = next((t for t in (_arg_type(actual, i) for i in candidates) if t), None)
        if known is None:
            saw_unknown = True
            continue  # same constraint => same type in a valid node; a later param may be known
        return _ConstraintCheck(name, "pass" if known in allowed else "fail", known)
    return _ConstraintCheck(name, "unknown" if saw_unknown else "skipped")


def _check_kernel(
    kernel: KernelDef,
    schema: SchemaVersion,
    inputs: Sequence[str | None],
    outputs: Sequence[str | None],
) -> list[_ConstraintCheck]:
    return [
        _check_constraint(name, allowed, schema, inputs, outputs)
        for name, allowed in kernel.type_constraints.items()
    ]


def qualified_name(domain: str, op: str) -> str:
    """'Relu' for ai.onnx, 'com.microsoft.FusedMatMul' otherwise (ORT's docs spell it so)."""
    return f"{domain}.{op}" if domain else op


def short_type(type_str: str | None) -> str:
    """'tensor(float)' -> 'float' for messages; seq(...), map(...) and the like stay as they are;
    an unknown type (None) prints as '?'."""
    if type_str is None:
        return "?"
    if type_str.startswith("tensor(") and type_str.endswith(")"):
        return type_str[len("tensor(") : -1]
    return type_str


def _ranges(kernels: Sequence[KernelDef]) -> str:
    seen: dict[str, None] = {}
    for k in sorted(kernels, key=lambda k: (k.start, k.end is None, k.end or 0)):
        seen[k.range_str()] = None
    return ", ".join(seen)


def _type_union(kernels: Sequence[KernelDef], name: str) -> set[str]:
    return {t for k in kernels for t in k.type_constraints.get(name, ())}


def _type_list(types: set[str]) -> str:
    return ", ".join(short_type(t) for t in sorted(types))


def _no_kernel_reason(provider: str, domain: str, op: str) -> str:
    table = load_kernels()
    elsewhere = [p for p in table.providers() if p != provider and table.kernels(p, domain, op)]
    hint = f" (kernels exist on {', '.join(elsewhere)})" if elsewhere else ""
    return f"{provider} has no {qualified_name(domain, op)} kernel{hint}"


def _version_reason(provider: str, name: str, kernels: Sequence[KernelDef], version: int) -> str:
    ranges = _ranges(kernels)
    reason = f"{provider} has {name} kernels {ranges} but the node is version {version}"
    stale = [k for k in kernels if k.end is None and k.start < version]
    if stale:
        k = max(stale, key=lambda k: k.start)
        reason += f" (ORT matches the open range {k.range_str()} only at version {k.start})"
    return reason


def _type_reason(
    provider: str,
    name: str,
    candidates: Sequence[KernelDef],
    failures: Sequence[list[_ConstraintCheck]],
) -> str:
    names = {n for k in candidates for n in k.type_constraints}
    ranges = _ranges(candidates)
    for checks in failures:
        for check in checks:
            if check.status != "fail" or check.actual is None:
                continue
            allowed = _type_union(candidates, check.name)
            if check.actual not in allowed:
                label = f"{check.name} = " if len(names) > 1 else ""
                return (
                    f"{provider} has {name} {ranges} for {label}{_type_list(allowed)} "
                    f"but not {short_type(check.actual)}"
                )
    combo = {c.name: c.actual for checks in failures for c in checks if c.actual}
    spelled = ", ".join(f"{n}={short_type(t)}" for n, t in sorted(combo.items()))
    return f"{provider} has {name} {ranges} but no kernel for the combination {spelled}"


def match_kernel(
    provider: str,
    schema: SchemaVersion | None,
    domain: str,
    op: str,
    since_version: int | None,
    input_types: Sequence[str | None] = (),
    output_types: Sequence[str | None] = (),
) -> KernelMatch:
    """Does `provider` have a kernel for this node, as ORT would decide at session creation?

    input_types / output_types are per position: an ONNX type string ('tensor(float)'; 'float' and
    'float32' are accepted too), None when unknown, ABSENT ('') for an omitted optional arg.
    Without a schema or without any known type the match is by version only (type_checked False).
    since_version None means "the schema's"; with neither, no kernel can be matched.
    """
    provider = normalize_provider(provider)
    domain = normalize_domain(domain)
    name = qualified_name(domain, op)
    kernels = load_kernels().kernels(provider, domain, op)
    if not kernels:
        return KernelMatch(False, None, _no_kernel_reason(provider, domain, op), False)
    if since_version is None and schema is not None:
        since_version = schema.since_version
    if since_version is None:
        reason = f"{name} has no schema at this opset, so its version (and kernel) is unknown"
        return KernelMatch(False, None, reason, False)
    candidates = [k for k in kernels if version_matches(k, since_version)]
    if not candidates:
        reason = _version_reason(provider, name, kernels, since_version)
        return KernelMatch(False, None, reason, False)

    inputs = [normalize_type(t) for t in input_types]
    outputs = [normalize_type(t) for t in output_types]
    if schema is None or not any(t for t in [*inputs, *outputs]):
        why = "no schema" if schema is None else "types unknown"
        kernel = candidates[0]
        return KernelMatch(
            True, kernel, f"{provider} has {name} {kernel.range_str()} ({why}: version only)", False
        )

    failures: list[list[_ConstraintCheck]] = []
    for kernel in candidates:
        checks = _check_kernel(kernel, schema, inputs, outputs)
        if any(c.status == "fail" for c in checks):
            failures.append(checks)
            continue
        unchecked = [c.name for c in checks if c.status == "unknown"]
        detail = ", ".join(
            f"{c.name}={short_type(c.actual)}" for c in checks if c.status == "pass" and c.actual
        )
        reason = f"{provider} has {name} {kernel.range_str()}"
        reason += f" for {detail}" if detail else ""
        reason += f" ({', '.join(unchecked)} not checked: type unknown)" if unchecked else ""
        return KernelMatch(True, kernel, reason, not unchecked)
    return KernelMatch(False, None, _type_reason(provider, name, candidates, failures), True)


@dataclass(frozen=True)
class VersionInfo:
    """One since_version of the op with the flags a report shows."""

    since_version: int
    deprecated: bool
    has_function: bool
    has_context_dependent_function: bool


@dataclass(frozen=True)
class KernelRange:
    """A provider's kernels for one version range, types merged over its kernel defs."""

    start: int
    end: int | None
    type_constraints: dict[str, tuple[str, ...]] = field(hash=False)

    def range_str(self) -> str:
        return KernelDef("", "", "", self.start, self.end, {}).range_str()


@dataclass(frozen=True)
class ProviderSupport:
    """One provider's answer for the op: what it has and, against the schema, what it lacks."""

    provider: str
    provenance: Provenance
    ranges: tuple[KernelRange, ...]
    #: schema since_versions that no kernel of this provider matches (ORT's version rule)
    versions_without_kernel: tuple[int, ...]
    #: whether a kernel matches the version resolved for the requested opset (None: no version)
    resolved_has_kernel: bool | None
    #: at the resolved version: types the schema allows that this provider's kernels lack
    missing_types: dict[str, tuple[str, ...]] = field(hash=False)


@dataclass(frozen=True)
class OpSupport:
    """Everything the tables know about one op, for the `opsets` CLI and reports."""

    op: str
    domain: str
    opset: int | None
    #: the schema in force at `opset` (the newest one when opset is None); None if none is
    resolved: SchemaVersion | None
    versions: tuple[VersionInfo, ...]
    providers: dict[str, ProviderSupport] = field(hash=False)
    schema_provenance: Provenance | None = None
    note: str = ""


def _merge_ranges(kernels: Sequence[KernelDef]) -> tuple[KernelRange, ...]:
    merged: dict[tuple[int, int | None], dict[str, set[str]]] = {}
    for k in kernels:
        entry = merged.setdefault((k.start, k.end), {})
        for n, types in k.type_constraints.items():
            entry.setdefault(n, set()).update(types)
    ordered = sorted(merged.items(), key=lambda kv: (kv[0][0], kv[0][1] is None, kv[0][1] or 0))
    return tuple(
        KernelRange(start, end, {n: tuple(sorted(ts)) for n, ts in sorted(types.items())})
        for (start, end), types in ordered
    )


def _missing_types(
    schema: SchemaVersion, kernels: Sequence[KernelDef]
) -> dict[str, tuple[str, ...]]:
    missing: dict[str, tuple[str, ...]] = {}
    for name, allowed in schema.type_constraints.items():
        if any(name not in k.type_constraints for k in kernels):
            continue  # a kernel that does not constrain `name` accepts every type for it
        lacking = set(allowed) - _type_union(kernels, name)
        if lacking:
            missing[name] = tuple(sorted(lacking))
    return missing


def _unknown_op_error(domain: str, op: str, known: set[str]) -> LookupError:
    label = domain or "ai.onnx"
    folded = {k.lower(): k for k in known}
    matches = difflib.get_close_matches(op, sorted(known), n=5, cutoff=0.6)
    if op.lower() in folded:  # a case slip is the likeliest mistake: name that match first
        exact = folded[op.lower()]
        matches = [exact, *(m for m in matches if m != exact)]
    hint = f"close matches: {', '.join(matches)}" if matches else "no close matches"
    return LookupError(f"unknown op {op!r} in domain {label!r}; {hint}")


def describe_op(
    op: str,
    domain: str = "",
    opset: int | None = None,
    providers: Sequence[str] | None = None,
) -> OpSupport:
    """Schema versions and per-provider kernels of one op; LookupError (with close matches) if
    neither table knows it."""
    domain = normalize_domain(domain)
    schemas = load_schemas()
    table = load_kernels()
    wanted = [normalize_provider(p) for p in providers] if providers else table.providers()
    versions = schemas.versions(domain, op)
    has_kernels = any(table.kernels(p, domain, op) for p in table.providers())
    if not versions and not has_kernels:
        known = set(schemas.ops(domain))
        for p in table.providers():
            known.update(table.ops(p, domain))
        if not known:
            domains = sorted(
                {*schemas.domains(), *(d for p in table.providers() for d in table.domains(p))}
            )
            shown = ", ".join(repr(d) for d in domains)
            raise LookupError(f"unknown domain {domain!r}; known domains: {shown}")
        raise _unknown_op_error(domain, op, known)

    if opset is None:
        resolved = versions[-1] if versions else None
    else:
        resolved = schemas.resolve(domain, op, opset)
    note = ""
    if versions and resolved is None:
        note = f"{qualified_name(domain, op)} needs opset >= {versions[0].since_version}"
    elif resolved is not None and resolved.deprecated:
        note = f"{qualified_name(domain, op)}-{resolved.since_version} is deprecated"
    elif not versions:
        note = f"no schema for {qualified_name(domain, op)}; kernels only"

    support: dict[str, ProviderSupport] = {}
    for provider in wanted:
        kernels = table.kernels(provider, domain, op)
        at_resolved = (
            [k for k in kernels if version_matches(k, resolved.since_version)] if resolved else []
        )
        support[provider] = ProviderSupport(
            provider=provider,
            provenance=table.provenance(provider),
            ranges=_merge_ranges(kernels),
            versions_without_kernel=tuple(
                v.since_version
                for v in versions
                if not any(version_matches(k, v.since_version) for k in kernels)
            ),
            resolved_has_kernel=bool(at_resolved) if resolved else None,
            missing_types=_missing_types(resolved, at_resolved) if resolved and at_resolved else {},
        )
    return OpSupport(
        op=op,
        domain=domain,
        opset=opset,
        resolved=resolved,
        versions=tuple(
            VersionInfo(
                v.since_version, v.deprecated, v.has_function, v.has_context_dependent_function
            )
            for v in versions
        ),
        providers=support,
        schema_provenance=schemas.domain_provenance(domain),
        note=note,
    )
