"""PyTorch source rules: applied inside a context manager while torch.onnx.export runs (module
swaps, function overrides, translations for missing ops), never by editing the user's code.
The rules are listed in rewrites.registry (family "torch"); see docs/rewrites.md."""
