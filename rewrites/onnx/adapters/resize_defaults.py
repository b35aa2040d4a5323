"""Adapter: Resize-18/19 (and -13) down to Resize-11 (targets 11 and 12), for which onnx ships
no adapter. Exact when the attributes Resize-11 lacks are at their defaults (antialias=0,
keep_aspect_ratio_policy="stretch", no axes) and the coordinate mode exists at 11 (not
half_pixel_symmetric): they are dropped, and the roi / scales inputs Resize-11 requires but
the node leaves out are given as empty tensors (Resize-11's spelling of "not given")."""

from __future__ import annotations

import onnx
import onnx.helper

from rewrites.onnx.adapters.common import ADAPTED_DOMAIN, attribute, schema_at, types_allowed
from rewrites.onnx.rule import RewriteModel

ID = "resize-defaults"
_DEFAULTS = {"antialias": 0, "keep_aspect_ratio_policy": b"stretch"}
_MODES_AT_11 = {b"half_pixel", b"pytorch_half_pixel", b"align_corners", b"asymmetric",
                b"tf_crop_and_resize"}


def adapt(model: RewriteModel, target: int) -> int:
    if target not in (11, 12):
        return 0
    low = schema_at("Resize", target)
    count = 0
    for index, r in enumerate(model.records()):
        if r.op != "Resize" or r.domain or (r.since_version or 0) < 13 or r.proto is None:
            continue
        node = model.node(index)
        if attribute(node, "axes") is not None or any(
                attribute(node, k, v) != v for k, v in _DEFAULTS.items()):
            continue
        if attribute(node, "coordinate_transformation_mode", b"half_pixel") not in _MODES_AT_11:
            continue
        if not types_allowed(r, low):
            continue
        inputs = list(r.inputs) + [""] * (4 - len(r.inputs))
        if not inputs[2] and not inputs[3]:
            continue
        replacement = []
        for i, label in ((1, "roi"), (2, "scales")):
            if not inputs[i]:
                name = model.fresh_name(f"{node.name or 'Resize'}/{label}")
                replacement.append(onnx.helper.make_node(
                    "Constant", [], [name], name=model.fresh_name(f"{name}/Constant"),
                    value=onnx.helper.make_tensor(name, onnx.TensorProto.FLOAT, [0], [])))
                inputs[i] = name
        while not inputs[-1]:
            inputs.pop()
        new = onnx.helper.make_node("Resize", inputs, list(r.outputs), name=node.name,
                                    domain=ADAPTED_DOMAIN)
        new.attribute.extend(a for a in node.attribute
                             if a.name not in _DEFAULTS and a.name != "axes")
        model.replace(index, [*replacement, new], ID)
        count += 1
    if count:
        model.ensure_import(ADAPTED_DOMAIN, 1)
        model.commit()
    return count
