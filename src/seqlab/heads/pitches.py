"""Polyphonic next-frame modelling: a Bernoulli per pitch of the next frame."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from seqlab.data.batch import Batch
from seqlab.encoders import EncoderOutput
from seqlab.heads import HeadOutput


class PitchHead(nn.Module):
    """Hidden vectors (B, T, H) → logits (B, T, P), one independent sigmoid per pitch. The loss is the
    frame's negative log-likelihood (binary cross-entropy summed over its pitches); it counts frames."""

    def __init__(self, in_dim: int, num_pitches: int, dropout: float = 0.0):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(in_dim, num_pitches)

    def forward(self, encoded: EncoderOutput, batch: Batch) -> HeadOutput:
        logits = self.out(self.dropout(encoded.hidden)).float()  # (B, T, P)
        if batch.targets is None:
            return HeadOutput(logits, state=encoded.state)
        per_frame = F.binary_cross_entropy_with_logits(logits, batch.targets, reduction="none").sum(-1)  # (B, T)
        loss = per_frame.masked_fill(~batch.mask, 0.0).sum()
        return HeadOutput(logits, loss, batch.mask.sum(), state=encoded.state)
