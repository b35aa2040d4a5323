"""tf:inline-noinline on a real frozen Keras graph: the XLA-compiled grouped convolution's call
survives freezing; after the rule no call is left, the call's name is an IdentityN of the
inlined result, and tf2onnx converts the graph to a model that matches TensorFlow."""

from __future__ import annotations

from typing import Any

import numpy as np

from analyzer.runtime.session import create_session
from rewrites.contract import Match, Reason
from rewrites.tensorflow.inline_calls import RULE, kept_calls
from rewrites.tensorflow.plan import nodes_from_graph_def


def _frozen(tf: Any, model: Any) -> Any:
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    fn = tf.function(model).get_concrete_function(tf.TensorSpec((1, 8, 8, 4), tf.float32))
    return convert_variables_to_constants_v2(fn).graph.as_graph_def()


def test_grouped_conv_call_is_inlined_and_converts(tf: Any, keras_model: Any) -> None:
    import tf2onnx

    model = keras_model(lambda x: tf.keras.layers.Conv2D(8, 3, groups=2, padding="same")(x),
                        (8, 8, 4))
    graph_def = _frozen(tf, model)
    calls = kept_calls(graph_def)
    assert len(calls) == 1
    name = calls[0].name
    assert isinstance(RULE.check(nodes_from_graph_def(graph_def), 13), Match)

    assert RULE.apply(graph_def) == 1
    assert not kept_calls(graph_def)
    node = next(n for n in graph_def.node if n.name == name)
    assert node.op == "IdentityN"
    assert any(n.name.startswith(f"{name}/inlined/") and n.op == "Conv2D"
               for n in graph_def.node)

    outputs = [f"{n.name}:0" for n in graph_def.node if n.op == "Identity"][-1:]
    from tf2onnx import tf_loader

    with tf.Graph().as_default():
        graph_def = tf_loader.tf_optimize([f"{graph_def.node[0].name}:0"], outputs, graph_def)
    proto, _ = tf2onnx.convert.from_graph_def(graph_def, input_names=[
        f"{graph_def.node[0].name}:0"], output_names=outputs, opset=13)
    session = create_session(proto)
    x = np.random.default_rng(9).standard_normal((1, 8, 8, 4)).astype(np.float32)
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    assert float(np.abs(got - np.asarray(model(x))).max()) < 1e-5


def test_no_kept_call_is_a_reason(tf: Any, keras_model: Any) -> None:
    model = keras_model(lambda x: tf.keras.layers.Conv2D(8, 3, padding="same")(x), (8, 8, 4))
    graph_def = _frozen(tf, model)
    assert not kept_calls(graph_def)
    assert isinstance(RULE.check(nodes_from_graph_def(graph_def), 13), Reason)
    assert RULE.apply(graph_def) == 0
