"""Sequence to sequence: a decoder writes the target token by token while attending over the encoder.

Training feeds the whole target at once, shifted right behind [BOS] (teacher forcing), and scores
every next token with label-smoothed cross-entropy; evaluation scores the plain cross-entropy.
Generation calls `start` once per source, then `step` with the newest token and the carried state.
"""

from __future__ import annotations

import torch
from torch import nn

from seqlab.data.batch import Batch
from seqlab.encoders import DecoderState, EncoderOutput
from seqlab.heads import HeadOutput
from seqlab.heads.lm import TokenOutput, token_loss


class Seq2SeqHead(nn.Module):
    def __init__(
        self,
        decoder: nn.Module,
        embed: nn.Embedding,
        tie_weights: bool,
        label_smoothing: float,
        dropout: float,
    ):
        super().__init__()
        self.embed = embed  # the target vocabulary's embedding; the source's too with a shared vocabulary
        self.decoder = decoder
        self.dropout = nn.Dropout(dropout)
        self.output = TokenOutput(
            decoder.out_dim, embed.num_embeddings, embed if tie_weights else None, dropout
        )
        self.label_smoothing = label_smoothing

    def forward(self, encoded: EncoderOutput, batch: Batch) -> HeadOutput:
        logits, state = self.step(batch.target_inputs, self.start(encoded, batch.mask))  # (B, U, V)
        if batch.targets is None:
            return HeadOutput(logits, state=state)
        loss, count = token_loss(logits, batch.targets, self.label_smoothing if self.training else 0.0)
        return HeadOutput(logits, loss, count, state=state)

    def start(self, encoded: EncoderOutput, source_mask: torch.Tensor) -> DecoderState:
        return self.decoder.start(encoded, source_mask)

    def step(self, tokens: torch.Tensor, state: DecoderState) -> tuple[torch.Tensor, DecoderState]:
        """(B, T) target tokens after those already in `state` → (B, T, V) next-token logits, new state."""
        hidden, state = self.decoder(self.dropout(self.embed(tokens)), state)
        return self.output.logits(hidden), state
