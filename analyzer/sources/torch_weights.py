"""Load a PyTorch checkpoint's weights into a factory-built module, without running its code.

A .pt file is a pickle: unpickled as usual, it can run any code its author chose (`__reduce__`).
`torch.load(weights_only=True)` unpickles only tensors and plain containers and refuses every
other global, so a hostile checkpoint is refused before anything in it runs. The file is read
once; its size is bounded like a model file's (analyzer.limits).
"""

from __future__ import annotations

import os
import pickle
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from analyzer.error_codes import TORCH_WEIGHTS_INVALID, TORCH_WEIGHTS_MISMATCH, TORCH_WEIGHTS_UNSAFE
from analyzer.errors import InputError
from analyzer.limits import DEFAULT_MAX_FILE_BYTES
from analyzer.sources.untrusted_file import check_not_empty, check_size, stat_regular_file

#: Keys under which training scripts commonly nest the state dict inside a checkpoint dict.
_NESTED_KEYS = ("state_dict", "model_state_dict", "model")
#: What the file-level messages say the file should be.
_WHAT = "a PyTorch checkpoint"


def load_weights(module: Any, path: str | os.PathLike[str], *,
                 max_file_bytes: int | None = DEFAULT_MAX_FILE_BYTES) -> None:
    """Read the state dict at `path` with weights_only=True and load it into `module` (strict).

    Raises InputError: the file codes shared with the ONNX loader, TORCH_WEIGHTS_UNSAFE (the
    pickle holds code or objects weights_only refuses), TORCH_WEIGHTS_INVALID (not a readable
    checkpoint or no state dict in it), TORCH_WEIGHTS_MISMATCH (keys or shapes differ).
    """
    import torch

    file = Path(os.fsdecode(path))
    # torch reads the file itself: only its stat is checked here
    identity = stat_regular_file(file, _WHAT)
    check_size(file, identity.size, max_file_bytes)
    check_not_empty(file, identity.size, _WHAT)
    try:
        with warnings.catch_warnings():  # e.g. "Detected pickle protocol 4": not the user's news
            warnings.simplefilter("ignore")
            loaded = torch.load(file, map_location="cpu", weights_only=True, mmap=False)
    except pickle.UnpicklingError as exc:
        text = " ".join(str(exc).split())
        culprit = _culprit(text) or _pickle_global(file)
        if culprit:
            raise InputError(file, TORCH_WEIGHTS_UNSAFE, (
                "checkpoint holds objects that weights-only loading refuses"
                + (f" ({culprit})" if culprit else "")
                + "; it was not unpickled, nothing in it ran (re-save it as a plain state dict: "
                "torch.save(model.state_dict(), path))")) from None
        raise InputError(file, TORCH_WEIGHTS_INVALID,
                         f"not a readable PyTorch checkpoint ({text[:160]})") from None
    except Exception as exc:  # noqa: BLE001 - torch raises RuntimeError, EOFError, ... on junk
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
        raise InputError(file, TORCH_WEIGHTS_INVALID,
                         f"not a readable PyTorch checkpoint ({type(exc).__name__}: {first})"
                         ) from None
    state = _state_dict(file, loaded)
    try:
        module.load_state_dict(state, strict=True)
    except (RuntimeError, KeyError, TypeError) as exc:
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        detail = " ".join(lines[1:3] or lines[:1])[:240]
        raise InputError(file, TORCH_WEIGHTS_MISMATCH,
                         f"weights do not fit the model: {detail}") from None


def _culprit(text: str) -> str | None:
    """The refused global as torch names it ('... unsupported GLOBAL posix.system whose ...')."""
    marker = "GLOBAL "
    if marker in text:
        name = text.split(marker, 1)[1].split()[0]
        return f"global {name.rstrip('.,')}"
    return None


def _pickle_global(file: Path, head: int = 2**20) -> str | None:
    """The first global a raw pickle imports, read from its opcodes without executing any.

    torch refuses some hostile pickles (e.g. protocol 4 ones) for an opcode it does not take
    before it reaches their global; pickletools only decodes, so it is safe to ask it which
    callable the pickle would have imported."""
    import pickletools

    try:
        with file.open("rb") as handle:
            data = handle.read(head)
    except OSError:
        return None
    strings: list[str] = []
    try:
        for opcode, arg, _ in pickletools.genops(data):
            if isinstance(arg, str):
                strings.append(arg)
            if opcode.name in ("GLOBAL", "INST") and isinstance(arg, str):
                return f"global {arg.replace(' ', '.')}"
            if opcode.name == "STACK_GLOBAL" and len(strings) >= 2:
                return f"global {strings[-2]}.{strings[-1]}"
    except Exception:  # noqa: BLE001 - not a pickle (or cut short): no global to name
        return None
    return None


def _state_dict(file: Path, loaded: Any) -> Mapping[str, Any]:
    import torch

    if isinstance(loaded, Mapping):
        for key in _NESTED_KEYS:
            inner = loaded.get(key)
            if isinstance(inner, Mapping) and inner and all(
                    isinstance(v, torch.Tensor) for v in inner.values()):
                return inner
        if loaded and all(isinstance(v, torch.Tensor) for v in loaded.values()):
            return loaded
    raise InputError(file, TORCH_WEIGHTS_INVALID,
                     f"holds a {type(loaded).__name__}, not a state dict of tensors (save one "
                     "with torch.save(model.state_dict(), path))")
