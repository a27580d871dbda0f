"""Link prediction: a query (an entity and a relation) → a score for every entity of the graph."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from seqlab.data.batch import IGNORE_INDEX, Batch
from seqlab.encoders import EncoderOutput
from seqlab.heads import HeadOutput
from seqlab.modules.pooling import pooling as make_pooling


class LinkHead(nn.Module):
    """The encoder's summary of the query, projected into the entities' embedding space and compared
    with every entity's embedding (1-N scoring, as ConvE; the embedding is the input's own, tied), plus
    a bias per entity. Entities are rows `first` to `first + count` of the token embedding."""

    def __init__(
        self,
        in_dim: int,
        tokens: nn.Embedding,
        first: int,
        count: int,
        pooling: str = "auto",
        dropout: float = 0.0,
        label_smoothing: float = 0.0,
    ):
        super().__init__()
        self.pool = make_pooling(pooling, in_dim)  # None: the encoder's own summary
        self.dropout = nn.Dropout(dropout)
        self.proj = nn.Linear(in_dim, tokens.embedding_dim)
        self.out = nn.Linear(tokens.embedding_dim, tokens.num_embeddings, bias=False)
        self.out.weight = tokens.weight
        self.bias = nn.Parameter(torch.zeros(count))
        self.first, self.count = first, count
        self.label_smoothing = label_smoothing
        self.register_buffer("scale", torch.tensor(1.0))  # runs saved before entities started small (the
        # task's ENTITY_STD) keep their 1 / sqrt(width) here

    def forward(self, encoded: EncoderOutput, batch: Batch) -> HeadOutput:
        summary = encoded.pooled if self.pool is None else self.pool(encoded.hidden, batch.mask)  # (B, H)
        query = self.proj(self.dropout(summary)) * self.scale  # (B, D)
        entities = self.out.weight[self.first : self.first + self.count]  # (E, D)
        logits = F.linear(query, entities, self.bias).float()  # (B, E), one fused pass over the scores
        if batch.targets is None:
            return HeadOutput(logits)
        loss = F.cross_entropy(
            logits,
            batch.targets,
            ignore_index=IGNORE_INDEX,
            reduction="sum",
            label_smoothing=self.label_smoothing,
        )
        return HeadOutput(logits, loss, (batch.targets != IGNORE_INDEX).sum())
