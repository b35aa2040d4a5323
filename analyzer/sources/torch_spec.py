"""Resolve `package.module:factory` and `--input name:dtype[d0,d1,...]` into a module and example
inputs. Importing the module runs its code: that is what the user asked for by naming it; the
analyzer never imports anything it was not given."""

from __future__ import annotations

import importlib
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analyzer.error_codes import (
    TORCH_FACTORY_FAILED,
    TORCH_FACTORY_INVALID,
    TORCH_FACTORY_NOT_FOUND,
    USAGE,
)
from analyzer.errors import InputError
from analyzer.limits import DEFAULT_MAX_INPUT_BYTES, PlannedInput, check_input_bytes
from analyzer.sources.torch_inputs import check_inputs_fit
from analyzer.sources.torch_weights import load_weights

_SPEC = re.compile(r"^(?P<module>[A-Za-z_][\w.]*):(?P<attr>[A-Za-z_][\w.]*)$")
_INPUT = re.compile(r"^(?:(?P<name>[A-Za-z_]\w*):)?(?P<dtype>[a-z0-9]+)\[(?P<dims>[^\]]*)\]$")

DTYPES = ("float32", "float16", "bfloat16", "float64", "int64", "int32", "int8", "uint8", "bool")
#: Bytes per element of each dtype (checked before torch allocates anything).
ITEMSIZE = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8, "int64": 8, "int32": 4,
            "int8": 1, "uint8": 1, "bool": 1}


def is_torch_spec(text: str) -> bool:
    """`pkg.module:factory` (and not an existing file, which would be a model path)."""
    return bool(_SPEC.match(text)) and not Path(text).exists()


@dataclass(frozen=True)
class InputSpec:
    name: str | None
    dtype: str
    shape: tuple[int, ...]

    def __str__(self) -> str:
        prefix = f"{self.name}:" if self.name else ""
        return f"{prefix}{self.dtype}[{','.join(map(str, self.shape))}]"


def parse_input(text: str) -> InputSpec:
    match = _INPUT.match(text.strip())
    if not match:
        raise InputError(None, USAGE, f"--input {text!r}: expected NAME:DTYPE[D0,D1,...], e.g. "
                         "x:float32[1,3,224,224]")
    dtype = match["dtype"]
    if dtype == "float":
        dtype = "float32"
    if dtype not in DTYPES:
        raise InputError(None, USAGE, f"--input {text!r}: dtype {dtype!r} is not one of "
                         f"{', '.join(DTYPES)}")
    dims_text = match["dims"].strip()
    try:
        dims = tuple(int(d) for d in dims_text.split(",")) if dims_text else ()
    except ValueError:
        raise InputError(None, USAGE, f"--input {text!r}: dimensions must be integers") from None
    if any(d < 0 for d in dims):
        raise InputError(None, USAGE, f"--input {text!r}: dimensions must be >= 0")
    return InputSpec(match["name"], dtype, dims)


def check_input_sizes(specs: list[InputSpec], source: str | None = None,
                      max_input_bytes: int | None = DEFAULT_MAX_INPUT_BYTES) -> None:
    """INPUT_TOO_LARGE when the example inputs would need more than `max_input_bytes` (None or
    0: no limit): said before the factory is imported or a tensor allocated."""
    planned = [PlannedInput(spec.name or f"input {k}", spec.shape, spec.dtype,
                            ITEMSIZE[spec.dtype]) for k, spec in enumerate(specs)]
    check_input_bytes(source, planned, max_input_bytes)


def make_inputs(specs: list[InputSpec], seed: int = 0, *,
                max_input_bytes: int | None = DEFAULT_MAX_INPUT_BYTES,
                ) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Seeded example tensors: positional for unnamed specs, keyword for named ones only when
    the factory says so; here every spec is positional in order (names label the ONNX inputs).
    Their size is checked first (check_input_sizes)."""
    check_input_sizes(specs, None, max_input_bytes)
    import torch

    gen = torch.Generator().manual_seed(seed)
    tensors = []
    for spec in specs:
        dtype = getattr(torch, spec.dtype)
        if dtype.is_floating_point:
            t = torch.randn(spec.shape, generator=gen).to(dtype)
        elif dtype == torch.bool:
            t = torch.randint(0, 2, spec.shape, generator=gen).bool()
        else:
            t = torch.randint(0, 16, spec.shape, generator=gen).to(dtype)
        tensors.append(t)
    return tuple(tensors), {}


def load_factory(spec: str) -> tuple[Any, tuple[Any, ...] | None]:
    """Import `pkg.module:factory`, call it with no arguments, and return (module, example
    inputs if the factory returned a (module, inputs) pair)."""
    match = _SPEC.match(spec)
    if not match:
        raise InputError(spec, USAGE, "expected a model path or package.module:factory")
    if "" not in sys.path and "." not in sys.path:
        sys.path.insert(0, "")  # like `python -m`: modules in the current folder are found
    try:
        module = importlib.import_module(match["module"])
    except ModuleNotFoundError as exc:
        raise InputError(spec, TORCH_FACTORY_NOT_FOUND,
                         f"cannot import module {match['module']!r} ({exc.msg})") from None
    except Exception as exc:  # noqa: BLE001 - the user's module failed while importing
        raise InputError(spec, TORCH_FACTORY_FAILED,
                         f"importing {match['module']!r} raised {type(exc).__name__}: "
                         f"{str(exc).strip()[:200]}") from None
    target: Any = module
    for part in match["attr"].split("."):
        if not hasattr(target, part):
            raise InputError(spec, TORCH_FACTORY_NOT_FOUND,
                             f"module {match['module']!r} has no attribute {match['attr']!r}")
        target = getattr(target, part)
    import torch

    if isinstance(target, torch.nn.Module):
        return target, None
    if not callable(target):
        raise InputError(spec, TORCH_FACTORY_INVALID, f"{match['attr']!r} is not callable")
    try:
        built = target()
    except Exception as exc:  # noqa: BLE001
        raise InputError(spec, TORCH_FACTORY_FAILED,
                         f"calling {match['attr']}() raised {type(exc).__name__}: "
                         f"{str(exc).strip()[:200]}") from None
    example = None
    if isinstance(built, tuple) and len(built) == 2 and isinstance(built[0], torch.nn.Module):
        built, example = built
        example = tuple(example) if isinstance(example, (tuple, list)) else (example,)
    if not isinstance(built, torch.nn.Module):
        raise InputError(spec, TORCH_FACTORY_INVALID,
                         f"{match['attr']}() returned {type(built).__name__}, not a "
                         "torch.nn.Module (or a (module, example_inputs) pair)")
    return built, example


def load_torch_source(spec: str, inputs: list[str], weights: str | None = None,
                      max_input_bytes: int | None = DEFAULT_MAX_INPUT_BYTES,
                      ) -> tuple[object, tuple[object, ...]]:
    """The module (with --weights loaded) and its example inputs, from the spec and the --input
    options; inputs the module cannot run on are bad input (TORCH_INPUTS_MISMATCH), inputs too
    large to allocate too (INPUT_TOO_LARGE, before the factory is imported)."""
    specs = [parse_input(text) for text in inputs]
    check_input_sizes(specs, spec, max_input_bytes)
    module, example = load_factory(spec)
    if weights is not None:
        load_weights(module, weights)
    if specs:
        example, _ = make_inputs(specs, max_input_bytes=max_input_bytes)
    if example is None:
        raise InputError(spec, USAGE, "give the example inputs with --input NAME:DTYPE[DIMS] "
                         "(or return (module, example_inputs) from the factory)")
    check_inputs_fit(spec, module, example)
    return module, example
