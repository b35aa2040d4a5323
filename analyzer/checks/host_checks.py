"""Checks that depend on the machine that will run the model, not only on the tables (EP307).

ORT's StringNormalizer kernel builds a C++ std::locale from its `locale` attribute when the
session is created, whenever it changes case or compares case-insensitively (measured on the
onnx package's strnorm test models: the NONE + case-sensitive ones load without the locale);
if the operating system lacks that locale, session creation fails although a kernel exists.
We check the locale on this host with glibc's newlocale (through ctypes,
so the process locale is never changed) and say so either way.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import lru_cache

import onnx

from analyzer.finding_ids import EP307
from analyzer.findings import Finding, Fix
from analyzer.inventory import Inventory

_LC_ALL_MASK = 0x1FBF  # glibc: all LC_*_MASK bits
DEFAULT_STRNORM_LOCALE = "en_US.UTF-8"  # the schema's default for `locale`


@lru_cache(maxsize=64)
def host_has_locale(name: str) -> bool | None:
    """True/False when glibc can tell; None on systems without newlocale."""
    path = ctypes.util.find_library("c")
    if not path:
        return None
    try:
        libc = ctypes.CDLL(path)
        newlocale = libc.newlocale
        freelocale = libc.freelocale
    except (OSError, AttributeError):
        return None
    newlocale.restype = ctypes.c_void_p
    newlocale.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p]
    freelocale.argtypes = [ctypes.c_void_p]
    handle = newlocale(_LC_ALL_MASK, name.encode(), None)
    if not handle:
        return False
    freelocale(handle)
    return True


def check_host(inventory: Inventory) -> list[Finding]:
    by_locale: dict[str, list[str]] = {}
    for node in inventory.nodes:
        if node.op != "StringNormalizer" or node.domain != "" or node.proto is None:
            continue
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.proto.attribute}
        case_action = attrs.get("case_change_action", b"NONE")
        case_sensitive = attrs.get("is_case_sensitive", 0)
        if case_action in (b"NONE", "NONE") and case_sensitive:
            continue  # no case work: ORT never builds the locale
        locale = attrs.get("locale", b"") or b""
        name = locale.decode(errors="replace") if isinstance(locale, bytes) else str(locale)
        by_locale.setdefault(name or DEFAULT_STRNORM_LOCALE, []).append(node.name)
    findings = []
    for locale, nodes in sorted(by_locale.items()):
        available = host_has_locale(locale)
        here = {True: "this host has it", False: "this host LACKS it: session creation will fail "
                "here", None: "could not check this host"}[available]
        findings.append(
            Finding(
                EP307.id, "warning" if available is False else "info",
                f"StringNormalizer needs the OS locale '{locale}' at session creation ({here})",
                op="StringNormalizer", nodes=nodes,
                fixes=[Fix("source", hint=f"install the locale on every host that runs the model "
                           f"(e.g. locale-gen {locale})")],
            )
        )
    return findings
