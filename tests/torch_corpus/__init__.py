"""What the real torch.onnx exporters do with the torch corpus (tests/fixtures/torch_corpus.py,
exported by tests/fixtures/torch_export_harness.py), and whether the pre-flight predicts it."""
