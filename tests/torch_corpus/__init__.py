"""A corpus of small PyTorch models that stress torch.onnx.export, and a harness that records
what the real exporters do with them (tests/torch_corpus/reality.py)."""
