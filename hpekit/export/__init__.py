"""Model export: ONNX (``onnx``: export and the parity check against ONNX Runtime)."""
