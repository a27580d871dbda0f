"""Sequence to sequence: a decoder writes the target token by token while attending over the encoder.

Training feeds the whole target at once, shifted right behind [BOS] (teacher forcing), and scores
every next token with label-smoothed cross-entropy; evaluation scores the plain cross-entropy.
Generation calls `start` once per source, then `step` with the newest token and the carried state.

With `model.copy` the head is a pointer-generator (See et al. 2017): a learned switch mixes the
vocabulary's softmax with an attention of its own over the source's tokens, so that a rare name, a
number or a query variable can be written by pointing at it in the source. The head then returns
log-probabilities, which every consumer of logits (the loss, greedy, sampling, beam search) reads as
logits of the same distribution.
"""

from __future__ import annotations

import torch
from torch import nn

from seqlab.data.batch import PAD_ID, Batch
from seqlab.encoders import DecoderState, EncoderOutput
from seqlab.heads import HeadOutput
from seqlab.heads.lm import TokenOutput, token_loss
from seqlab.modules.attention import MultiplicativeAttention, attend

SMALLEST_PROBABILITY = 1e-12  # what a copying head's log-probabilities are floored at


class Seq2SeqHead(nn.Module):
    def __init__(
        self,
        decoder: nn.Module,
        embed: nn.Embedding,
        tie_weights: bool,
        label_smoothing: float,
        dropout: float,
        copy_from: int = 0,
    ):
        """`copy_from`: the width of the encoder's states to copy from; 0 for a head that does not copy."""
        super().__init__()
        self.embed = embed  # the target vocabulary's embedding; the source's too with a shared vocabulary
        self.decoder = decoder
        self.dropout = nn.Dropout(dropout)
        self.output = TokenOutput(
            decoder.out_dim, embed.num_embeddings, embed if tie_weights else None, dropout
        )
        self.label_smoothing = label_smoothing
        self.copy = CopyMixture(decoder.out_dim, copy_from, embed.embedding_dim) if copy_from else None

    def forward(self, encoded: EncoderOutput, batch: Batch) -> HeadOutput:
        logits, state = self.step(batch.target_inputs, self.start(encoded, batch))  # (B, U, V)
        if batch.targets is None:
            return HeadOutput(logits, state=state)
        loss, count = token_loss(logits, batch.targets, self.label_smoothing if self.training else 0.0)
        return HeadOutput(logits, loss, count, state=state)

    def start(self, encoded: EncoderOutput, batch: Batch) -> DecoderState:
        state = self.decoder.start(encoded, batch.mask)
        if self.copy is not None:
            assert batch.copy_ids is not None  # the task's collate sets them when model.copy is on
            state.copy_ids = batch.copy_ids
        return state

    def step(self, tokens: torch.Tensor, state: DecoderState) -> tuple[torch.Tensor, DecoderState]:
        """(B, T) target tokens after those already in `state` → (B, T, V) next-token logits, new state."""
        inputs = self.dropout(self.embed(tokens))  # (B, T, E)
        hidden, state = self.decoder(inputs, state)  # (B, T, H)
        logits = self.output.logits(hidden)
        if self.copy is None:
            return logits, state
        return self.copy(logits, hidden, inputs, state), state


class CopyMixture(nn.Module):
    """Next-token log-probabilities p = g·softmax(logits) + (1 − g)·copy, where the copy distribution is
    an attention over the source's tokens (summed per target id) and the switch g = σ(w·[h, context,
    input]) is learned. Source tokens without a target id (PAD in `copy_ids`) are never pointed at."""

    def __init__(self, hidden_dim: int, memory_dim: int, embed_dim: int):
        super().__init__()
        self.attention = MultiplicativeAttention(hidden_dim, memory_dim)
        self.switch = nn.Linear(hidden_dim + memory_dim + embed_dim, 1)

    def forward(
        self, logits: torch.Tensor, hidden: torch.Tensor, inputs: torch.Tensor, state: DecoderState
    ) -> torch.Tensor:
        """(B, T, V) logits, (B, T, H) decoder states, (B, T, E) their inputs → (B, T, V) log-probs."""
        assert state.copy_ids is not None
        copyable = state.mask & (state.copy_ids != PAD_ID)  # (B, S)
        anything = copyable.any(dim=1)  # (B,) a source with nothing to copy still attends, but only generates
        looked_at = (copyable & anything[:, None]) | (state.mask & ~anything[:, None])  # (B, S), no Where:
        # ONNX Runtime has none for booleans
        keys = self.attention.keys(state.memory)  # (B, S, H)
        context, pointer = attend(self.attention, hidden, keys, state.memory, looked_at)  # (B,T,M), (B,T,S)
        gate = torch.sigmoid(self.switch(torch.cat([hidden, context, inputs], dim=-1)).float())  # (B, T, 1)
        gate = gate.masked_fill(~anything[:, None, None], 1.0)
        probs = gate * logits.float().softmax(dim=-1)  # (B, T, V)
        where = state.copy_ids[:, None, :].expand(-1, hidden.shape[1], -1)  # (B, T, S)
        probs = probs.scatter_add(-1, where, (1.0 - gate) * pointer)
        return probs.clamp_min(SMALLEST_PROBABILITY).log()
