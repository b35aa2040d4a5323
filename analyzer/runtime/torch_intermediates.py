"""Intermediate values of a torch module, keyed by the ONNX value names the dynamo exporter gave
them, so that `verify --localize` can compare onnxruntime with torch node by node.

Why this works: torch.onnx's dynamo exporter names the output value of the ONNX node(s) that
translate one FX node after that FX node (`linear`, `relu_1`, `layer_norm`) and records the FX
node on the ONNX node as metadata (`pkg.torch.onnx.fx_node` = "%linear : ..."). Running the
module's torch.export graph through a recording `torch.fx.Interpreter` gives the value of every
FX node by the same name. Values whose names or shapes do not line up (an FX node the exporter
decomposed further, or fused away) are left out rather than guessed; localization then
compares only the names both sides hold.

torch is imported lazily: this module is only used when the reference is a torch module.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import onnx

_FX_NODE = "pkg.torch.onnx.fx_node"
_FX_NAME = re.compile(r"^%([A-Za-z_][\w.]*)\s*:")


def fx_value_names(model: onnx.ModelProto) -> set[str]:
    """The ONNX value names that carry an FX node's value: for each node the dynamo exporter
    tagged with `pkg.torch.onnx.fx_node`, the FX name when one of the node's outputs bears it.
    Empty for models from other exporters, which is how callers know the mapping is absent."""
    names: set[str] = set()
    for node in model.graph.node:
        for prop in node.metadata_props:
            if prop.key != _FX_NODE:
                continue
            m = _FX_NAME.match(prop.value)
            if m and m.group(1) in node.output:
                names.add(m.group(1))
    return names


def torch_intermediates(module: Any, input_names: Sequence[str], feeds: Mapping[str, Any],
                        wanted: set[str]) -> dict[str, np.ndarray]:
    """Run `module` on `feeds` (in `input_names` order) through torch.export's graph and return
    the FX node values whose names are in `wanted`, as numpy arrays. Raises whatever
    torch.export raises when the module cannot be captured; the caller reports that."""
    import torch
    import torch.fx

    args = tuple(torch.from_numpy(np.ascontiguousarray(feeds[n])) for n in input_names)
    module.eval()
    with torch.no_grad():
        program = torch.export.export(module, args)
        graph_module = program.module()
        values: dict[str, np.ndarray] = {}

        class _Recorder(torch.fx.Interpreter):
            def run_node(self, n: torch.fx.Node) -> Any:
                result = super().run_node(n)
                if n.name in wanted and isinstance(result, torch.Tensor):
                    t = result.detach().cpu()
                    values[n.name] = (t.float() if t.dtype == torch.bfloat16 else t).numpy()
                return result

        _Recorder(graph_module).run(*args)
    return values
