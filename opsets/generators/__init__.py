"""Table generators: build the JSON tables in opsets/data/ from the installed libraries.

Only `python -m opsets.generate` and the drift tests import these modules; they read onnx's
schema registry, onnxruntime's live kernel registry, torch and tf2onnx. The lookups beside this
package (opsets.tables, opsets.query, opsets.torch_converters, ...) read the shipped JSON and
never import this package. Keep this file free of imports: each generator module is also run
as a child interpreter (`python -m opsets.generators.<table> OUT`).
"""
