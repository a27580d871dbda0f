"""Sequence classification: one label (softmax) or several (a sigmoid per label) per sequence."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from seqlab.data.batch import Batch
from seqlab.encoders import EncoderOutput
from seqlab.heads import HeadOutput, mean_of_sigmoid, mean_of_softmax
from seqlab.modules.pooling import pooling as make_pooling


class ClassifyHead(nn.Module):
    def __init__(
        self,
        in_dim: int,
        num_labels: int,
        multi_label: bool = False,
        pooling: str = "auto",
        dropout: float = 0.0,
    ):
        super().__init__()
        self.multi_label = multi_label
        self.pool = make_pooling(pooling, in_dim)  # None: the encoder's own summary
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(in_dim, num_labels)

    def forward(self, encoded: EncoderOutput, batch: Batch) -> HeadOutput:
        summary = encoded.pooled if self.pool is None else self.pool(encoded.hidden, batch.mask)  # (B, H)
        logits = self.out(self.dropout(summary)).float()  # (B, L)
        return HeadOutput(logits) if batch.targets is None else self.score(logits, batch)

    def score(self, logits: torch.Tensor, batch: Batch) -> HeadOutput:
        if self.multi_label:
            loss = (
                F.binary_cross_entropy_with_logits(logits, batch.targets.float(), reduction="none")
                .mean(1)
                .sum()
            )
        else:
            loss = F.cross_entropy(logits, batch.targets, reduction="sum")
        return HeadOutput(logits, loss, torch.tensor(len(batch)))

    def mixture(self, logits: list[torch.Tensor]) -> torch.Tensor:
        """The logits of several models' averaged label probabilities."""
        return mean_of_sigmoid(logits) if self.multi_label else mean_of_softmax(logits)

    def predict(self, logits: torch.Tensor) -> torch.Tensor:
        """Probabilities (B, L): softmax for one label, independent sigmoids for several."""
        return torch.sigmoid(logits) if self.multi_label else torch.softmax(logits, dim=-1)
