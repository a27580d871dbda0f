"""Language modelling: the next token at every position, the output layer tied to the input embedding."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from seqlab.data.batch import IGNORE_INDEX, Batch
from seqlab.encoders import EncoderOutput, EncoderSpec
from seqlab.heads import HeadOutput, mean_of_softmax


def init_token_embedding(embed: nn.Embedding, encoder: EncoderSpec) -> None:
    """The token embedding of a model that writes tokens (lm, seq2seq), which may also produce its
    logits, started as the encoder family asks (`EncoderSpec.token_embedding_std`)."""
    if encoder.token_embedding_std is not None:
        nn.init.normal_(embed.weight, std=encoder.token_embedding_std)


def tied_logit_scale(embed: nn.Embedding | None, encoder: EncoderSpec) -> float:
    """What logits read through a tied embedding are multiplied by: 1 / sqrt(embedding width) where the
    embedding starts at N(0, 1) (recurrent families), as T5 rescales its tied output, so that the first
    logits are of order one; else 1. (A GRU language model on the inaugural addresses, 850 steps: held-out
    loss 1.53 rescaled, 1.77 not; started at std 0.02 instead, 1.99 after 400 steps, against 1.63.)"""
    if embed is None or encoder.token_embedding_std is not None:
        return 1.0
    return embed.embedding_dim**-0.5


class TokenOutput(nn.Module):
    """Hidden vectors (…, H) → logits over the vocabulary (…, V), optionally through a tied embedding
    and rescaled (`tied_logit_scale`; the scale is saved with the weights)."""

    def __init__(
        self,
        in_dim: int,
        vocab_size: int,
        tied: nn.Embedding | None = None,
        dropout: float = 0.0,
        scale: float = 1.0,
    ):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        embed_dim = tied.embedding_dim if tied is not None else in_dim
        self.proj = nn.Linear(in_dim, embed_dim) if embed_dim != in_dim else nn.Identity()
        self.out = nn.Linear(embed_dim, vocab_size, bias=False)
        if tied is not None:
            self.out.weight = tied.weight
        self.register_buffer("scale", torch.tensor(scale) if scale != 1.0 else None)

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        logits = self.out(self.proj(self.dropout(hidden)))
        return logits * self.scale if self.scale is not None else logits


def token_loss(logits: torch.Tensor, targets: torch.Tensor, label_smoothing: float = 0.0):
    """Summed cross-entropy of (B, T, V) logits against (B, T) targets, and how many targets count."""
    loss = F.cross_entropy(
        logits.float().flatten(0, 1),
        targets.flatten(),
        ignore_index=IGNORE_INDEX,
        reduction="sum",
        label_smoothing=label_smoothing,
    )
    return loss, (targets != IGNORE_INDEX).sum()


class LMHead(TokenOutput):
    def forward(self, encoded: EncoderOutput, batch: Batch) -> HeadOutput:
        logits = self.logits(encoded.hidden)  # (B, T, V)
        if batch.targets is None:
            return HeadOutput(logits, state=encoded.state)
        return self.score(logits, batch, encoded.state)

    def score(self, logits: torch.Tensor, batch: Batch, state=None) -> HeadOutput:
        loss, count = token_loss(logits, batch.targets.masked_fill(~batch.mask, IGNORE_INDEX))
        return HeadOutput(logits, loss, count, state=state)

    def mixture(self, logits: list[torch.Tensor]) -> torch.Tensor:
        """The logits of several models' averaged next-token probabilities."""
        return mean_of_softmax(logits)
