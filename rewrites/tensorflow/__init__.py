"""TensorFlow conversion rescue (docs/rewrites.md, "TensorFlow rules"): rules that make
tf2onnx convert ops it rejects, as extra tf2onnx handlers for one conversion
(`handlers.extra_handlers`) or as GraphDef rewrites before it. The rules are listed in
rewrites.registry. Importing this package imports neither TensorFlow nor tf2onnx."""
