"""Measured and predicted latency: bench (torch, onnxruntime), the latency model."""
