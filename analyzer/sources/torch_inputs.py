"""Tell inputs that do not fit the model apart from a model that does not export.

When the example inputs do not match what forward() expects (wrong rank, width, dtype or
count), torch.export and tracing fail deep inside with a wall of log output, and the report
would blame the exporter. One eager forward call (the same call export itself makes) tells the
two apart: if plain PyTorch cannot run the model on these inputs, the inputs are the problem.
"""

from __future__ import annotations

from typing import Any

from analyzer.error_codes import TORCH_INPUTS_MISMATCH
from analyzer.errors import InputError


def check_inputs_fit(spec: str, module: Any, example: tuple[Any, ...]) -> None:
    """Run module(*example) once under no_grad; raise TORCH_INPUTS_MISMATCH when it fails."""
    import torch

    shapes = ", ".join(
        f"{str(a.dtype).removeprefix('torch.')}{list(a.shape)}" if isinstance(a, torch.Tensor)
        else type(a).__name__ for a in example)
    # In eval mode, so that batch norm's running statistics are not updated by this extra call;
    # each submodule's own mode is restored after.
    modes = [(m, m.training) for m in module.modules()] if isinstance(
        module, torch.nn.Module) else []
    try:
        for m, _ in modes:
            m.training = False
        with torch.no_grad():
            module(*example)
    except Exception as exc:  # noqa: BLE001 - any failure of the eager call is the inputs' fault
        first = next((ln.strip() for ln in str(exc).splitlines() if ln.strip()),
                     type(exc).__name__)
        raise InputError(spec, TORCH_INPUTS_MISMATCH,
                         f"the model cannot run on the example inputs ({shapes}): "
                         f"{type(exc).__name__}: {first[:200]}; fix --input") from None
    finally:
        for m, mode in modes:
            m.training = mode
