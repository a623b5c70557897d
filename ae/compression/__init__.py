"""Layer 6: compression: entropy coding, .ael files, image-codec baselines, rate-distortion."""
