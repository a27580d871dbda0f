"""Task heads: each maps an `EncoderOutput` and a `Batch` to a `HeadOutput`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch


@dataclass
class HeadOutput:
    logits: torch.Tensor  # classify (B, L); tag (B, T, K); lm (B, T, V)
    loss_sum: torch.Tensor | None = None  # summed over the `count` items the loss covers
    count: torch.Tensor | None = None  # examples (classify) or tokens (tag, lm)
    state: Any = None  # the encoder's state, for generation

    @property
    def loss(self) -> torch.Tensor:
        return mean_loss(self.loss_sum, self.count)


def mean_loss(loss_sum, count):
    """The one definition of a reported loss: the sum over items divided by the number of items.

    Works on tensors and on plain numbers alike.
    """
    return loss_sum / max(float(count), 1.0)
