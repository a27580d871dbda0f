"""Task heads: each maps an `EncoderOutput` and a `Batch` to a `HeadOutput`."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch.nn import functional as F


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


def mean_of_softmax(logits: list[torch.Tensor]) -> torch.Tensor:
    """Logits whose softmax is the mean of the softmaxes of `logits` (K tensors of one shape): the
    mixture of K models' distributions, as log-probabilities."""
    log_probs = torch.stack([l.float().log_softmax(-1) for l in logits])  # (K, …, V)
    return torch.logsumexp(log_probs, dim=0) - math.log(len(logits))


def mean_of_sigmoid(logits: list[torch.Tensor]) -> torch.Tensor:
    """Logits whose sigmoid is the mean of the sigmoids of `logits`: log p - log(1 - p), with p and
    1 - p each averaged in log space, so that probabilities near 0 or 1 keep their precision."""
    stacked = torch.stack([l.float() for l in logits])  # (K, …)
    return torch.logsumexp(F.logsigmoid(stacked), dim=0) - torch.logsumexp(F.logsigmoid(-stacked), dim=0)
