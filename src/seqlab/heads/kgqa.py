"""Relation paths: for each hop of a path through a knowledge base, which relation the question asks
to follow next (or the end of the path)."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from seqlab.data.batch import IGNORE_INDEX, Batch
from seqlab.encoders import EncoderOutput
from seqlab.heads import HeadOutput
from seqlab.modules.pooling import pooling as make_pooling


class PathHead(nn.Module):
    """Hop h asks the question with a query of its own (the question's summary plus a learned vector
    for h), attends over the question's positions, and scores every relation and the end."""

    def __init__(
        self, in_dim: int, num_relations: int, hops: int, pooling: str = "auto", dropout: float = 0.0
    ):
        super().__init__()
        self.pool = make_pooling(pooling, in_dim)  # None: the encoder's own summary
        self.hop = nn.Embedding(hops, in_dim)
        self.mix = nn.Linear(2 * in_dim, in_dim)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(in_dim, num_relations)

    def forward(self, encoded: EncoderOutput, batch: Batch) -> HeadOutput:
        hidden = encoded.hidden  # (B, T, H)
        summary = encoded.pooled if self.pool is None else self.pool(hidden, batch.mask)  # (B, H)
        queries = summary.unsqueeze(1) + self.hop.weight.to(hidden.dtype)  # (B, P, H), P hops
        scores = torch.einsum("bph,bth->bpt", queries, hidden) / math.sqrt(hidden.shape[-1])
        weights = scores.float().masked_fill(~batch.mask.unsqueeze(1), float("-inf")).softmax(-1)
        context = torch.einsum("bpt,bth->bph", weights.to(hidden.dtype), hidden)  # (B, P, H)
        state = torch.tanh(self.mix(torch.cat([queries, context], dim=-1)))  # (B, P, H)
        logits = self.out(self.dropout(state)).float()  # (B, P, R + 1)
        if batch.targets is None:
            return HeadOutput(logits)
        loss = F.cross_entropy(
            logits.flatten(0, 1), batch.targets.flatten(), ignore_index=IGNORE_INDEX, reduction="sum"
        )
        return HeadOutput(logits, loss, (batch.targets != IGNORE_INDEX).sum())
