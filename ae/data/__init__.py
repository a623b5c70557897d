"""Layer 2: the digits: MNIST, noise, preparing a drawing or picture, your own handwriting."""
