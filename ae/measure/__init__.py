"""Layer 5: measuring models: quality, quantization, the reference classifier, comparisons, analyses."""
