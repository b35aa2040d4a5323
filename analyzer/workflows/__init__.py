"""Workflows: what a user runs end to end, built on the analyzer core and the rewrite rules.

The layer above `rewrites` and below `analyzer.cli` (the import-linter contract in
pyproject.toml): the ONNX analysis with the rules' fixes attached, the PyTorch pre-flight and
export, the TensorFlow pre-flight and conversion, the findings-driven rewrite pipeline, export
isolation and batch analysis. The analyzer core never imports this package.
"""
