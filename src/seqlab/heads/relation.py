"""Relation classification: a label for the pair of entities a sentence marks, read from the entities'
own positions beside the whole sentence."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from seqlab.data.batch import Batch
from seqlab.encoders import EncoderOutput
from seqlab.heads import HeadOutput, mean_of_softmax
from seqlab.modules.pooling import pooling as make_pooling


def span_means(hidden: torch.Tensor, spans: torch.Tensor) -> torch.Tensor:
    """The mean hidden state over each span: hidden (B, T, H), spans (B, E, 2) as [first, end) → (B, E, H)."""
    positions = torch.arange(hidden.shape[1], device=hidden.device)  # (T,)
    starts, ends = spans[..., :1], spans[..., 1:]  # (B, E, 1) each
    inside = ((positions >= starts) & (positions < ends)).to(hidden.dtype)  # (B, E, T)
    return torch.einsum("bet,bth->beh", inside, hidden) / inside.sum(-1, keepdim=True).clamp(min=1.0)


class RelationHead(nn.Module):
    """The sentence's summary and each entity's mean state, side by side, through one hidden layer
    (the entity-aware pooling of R-BERT, Wu & He 2019, over any encoder)."""

    def __init__(self, in_dim: int, num_labels: int, pooling: str = "auto", dropout: float = 0.0):
        super().__init__()
        self.pool = make_pooling(pooling, in_dim)  # None: the encoder's own summary
        self.mix = nn.Sequential(nn.Dropout(dropout), nn.Linear(3 * in_dim, in_dim), nn.Tanh())
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(in_dim, num_labels)

    def forward(self, encoded: EncoderOutput, batch: Batch) -> HeadOutput:
        hidden = encoded.hidden  # (B, T, H)
        sentence = encoded.pooled if self.pool is None else self.pool(hidden, batch.mask)  # (B, H)
        entities = span_means(hidden, batch.spans)  # (B, 2, H)
        summary = self.mix(torch.cat([sentence, entities.flatten(1)], dim=-1))  # (B, H)
        logits = self.out(self.dropout(summary)).float()  # (B, L)
        if batch.targets is None:
            return HeadOutput(logits)
        loss = F.cross_entropy(logits, batch.targets, reduction="sum")
        return HeadOutput(logits, loss, torch.tensor(len(batch)))

    def mixture(self, logits: list[torch.Tensor]) -> torch.Tensor:
        """The logits of several models' averaged label probabilities."""
        return mean_of_softmax(logits)

    def predict(self, logits: torch.Tensor) -> torch.Tensor:
        return torch.softmax(logits, dim=-1)  # (B, L)
