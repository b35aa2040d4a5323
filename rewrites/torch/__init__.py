"""PyTorch source rules: applied inside a context manager while torch.onnx.export runs (module
swaps, function overrides, translations for missing ops), never by editing the user's code.
The default set is `rewrites.torch.catalog.DEFAULT_TORCH_RULES`; see docs/rewrites.md."""
