"""Layer 8: export: ONNX for the browser and the offline site."""
