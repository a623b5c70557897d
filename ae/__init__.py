"""aelab core: MNIST data, autoencoder models, training, checkpoints and metrics. No UI code lives here."""
