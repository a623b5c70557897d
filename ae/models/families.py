"""Every model family by name: a spec's ``family`` picks the class, its ``args`` are the class's arguments."""

from __future__ import annotations

from torch import nn

from ae.models.autoencoders import ConvAE, DigitCNN, LinearAE, MlpAE
from ae.models.codec import CodecAE
from ae.models.vae import VAE

# The reference digit reader (ae.measure.classifier) is no autoencoder, but it is saved and rebuilt the same way.
FAMILIES: dict[str, type[nn.Module]] = {
    "linear": LinearAE,
    "conv": ConvAE,
    "mlp": MlpAE,
    "classifier": DigitCNN,
    "codec": CodecAE,
    "vae": VAE,
}
