"""Tagging: one label per position, by independent softmax or by a CRF with Viterbi decoding."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from seqlab.data.batch import IGNORE_INDEX, Batch
from seqlab.encoders import EncoderOutput
from seqlab.heads import HeadOutput, mean_of_softmax
from seqlab.modules.crf import CRF


class TagHead(nn.Module):
    def __init__(self, in_dim: int, num_tags: int, crf: bool = False, dropout: float = 0.0):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(in_dim, num_tags)
        self.crf = CRF(num_tags) if crf else None

    def forward(self, encoded: EncoderOutput, batch: Batch) -> HeadOutput:
        logits = self.out(self.dropout(encoded.hidden)).float()  # (B, T, K)
        return HeadOutput(logits) if batch.targets is None else self.score(logits, batch)

    def score(self, logits: torch.Tensor, batch: Batch) -> HeadOutput:
        count = (batch.targets != IGNORE_INDEX).sum()  # the labelled positions (padding is unlabelled)
        if self.crf is not None:
            loss = self.crf.nll(logits, batch.targets, batch.mask).sum()
        else:
            loss = F.cross_entropy(
                logits.flatten(0, 1), batch.targets.flatten(), ignore_index=IGNORE_INDEX, reduction="sum"
            )
        return HeadOutput(logits, loss, count)

    def mixture(self, logits: list[torch.Tensor]) -> torch.Tensor:
        """The logits of several models' averaged tag probabilities, position by position (without a CRF,
        which scores whole tag sequences)."""
        return mean_of_softmax(logits)

    def predict(self, logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Tag ids (B, T)."""
        if self.crf is not None:
            return self.crf.decode(logits, mask)
        return logits.argmax(dim=-1)
