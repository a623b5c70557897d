"""The reference classifier as a reader: which digit a (reconstructed) picture reads as, and how sure it is.

A small CNN (``ae.models.autoencoders.DigitCNN``) trained once on the 60k training digits and shipped as
``checkpoints/classifier.safetensors`` plus sidecar, like the autoencoders; its catalogue entry is
``ae.storage.catalogue.CLASSIFIER`` and ``ae.training.classifier_training`` trains it.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ae.models.batching import EVAL_BATCH, cat_batches


def predict(model: nn.Module, images: torch.Tensor, batch_size: int = EVAL_BATCH) -> torch.Tensor:
    """The digit ``model`` reads in each of ``images`` (N, 1, 28, 28)."""
    return cat_batches(lambda x: model(x).argmax(1), model, images, batch_size=batch_size)


def accuracy(model: nn.Module, images: torch.Tensor, labels) -> float:
    return float((predict(model, images) == torch.as_tensor(labels)).float().mean())


def read_digits(model: nn.Module, digits) -> tuple[np.ndarray, np.ndarray]:
    """The digit ``model`` reads in each of ``digits`` (28x28 pictures in [0, 1]), and how sure it is of it."""
    x = torch.as_tensor(np.stack([np.asarray(d, dtype=np.float32) for d in digits])).reshape(-1, 1, 28, 28)
    confidence, label = cat_batches(lambda b: torch.softmax(model(b), dim=1), model, x).max(dim=1)
    return label.numpy(), confidence.numpy()
