"""Polyphonic next-frame modelling: the pitches of the next frame, independently or jointly.

Both heads score a frame by its negative log-likelihood (nats, summed over its pitches) and count
frames. `PitchHead` gives every pitch its own Bernoulli; `NADEHead` models the pitches of a frame
jointly, each conditioned on the ones below it, as RNN-NADE does (Boulanger-Lewandowski et al., 2012):
the encoder sets the NADE's biases at every frame, its weights are shared.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from seqlab.data.batch import Batch
from seqlab.encoders import EncoderOutput
from seqlab.heads import HeadOutput, mean_of_sigmoid


def frame_nll(logits: torch.Tensor, batch: Batch, state=None) -> HeadOutput:
    """Binary cross-entropy summed over pitches and real frames; logits (B, T, P)."""
    per_frame = F.binary_cross_entropy_with_logits(logits, batch.targets, reduction="none").sum(-1)  # (B, T)
    return HeadOutput(logits, per_frame.masked_fill(~batch.mask, 0.0).sum(), batch.mask.sum(), state)


class PitchHead(nn.Module):
    """Hidden vectors (B, T, H) → logits (B, T, P), one independent sigmoid per pitch."""

    def __init__(self, in_dim: int, num_pitches: int, dropout: float = 0.0):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(in_dim, num_pitches)

    def forward(self, encoded: EncoderOutput, batch: Batch) -> HeadOutput:
        logits = self.out(self.dropout(encoded.hidden)).float()  # (B, T, P)
        if batch.targets is None:
            return HeadOutput(logits, state=encoded.state)
        return self.score(logits, batch, encoded.state)

    def score(self, logits: torch.Tensor, batch: Batch, state=None) -> HeadOutput:
        return frame_nll(logits, batch, state)

    def mixture(self, logits: list[torch.Tensor]) -> torch.Tensor:
        """The logits of several models' averaged pitch probabilities."""
        return mean_of_sigmoid(logits)

    def sample(self, hidden: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """One frame (B, P) of 0/1 pitches drawn given hidden vectors (B, H)."""
        return self.frame(hidden, torch.rand(len(hidden), self.out.out_features, generator=generator))

    def frame(self, hidden: torch.Tensor, uniforms: torch.Tensor) -> torch.Tensor:
        """The frame (B, P) that uniform draws (B, P) in [0, 1) pick: a pitch sounds where its draw falls
        below its probability."""
        return (uniforms < torch.sigmoid(self.out(hidden).float())).float()


class NADEHead(nn.Module):
    """A NADE over the P pitches of each frame, lowest first: pitch i's hidden units sum the weights of
    the pitches below it that sound, p(x_i | x_<i) = sigmoid(b_i + V_i · sigmoid(c + W_<i x_<i)).
    The encoder's hidden vector at each frame gives the biases b (P) and c (N)."""

    def __init__(self, in_dim: int, num_pitches: int, nade_hidden: int, dropout: float = 0.0):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.visible_bias = nn.Linear(in_dim, num_pitches)
        self.hidden_bias = nn.Linear(in_dim, nade_hidden)
        self.W = nn.Parameter(torch.randn(num_pitches, nade_hidden) * 0.01)  # a sounding pitch → hidden units
        self.V = nn.Parameter(torch.randn(num_pitches, nade_hidden) * 0.01)  # hidden units → a pitch's logit

    def forward(self, encoded: EncoderOutput, batch: Batch) -> HeadOutput:
        hidden = self.dropout(encoded.hidden)
        b, c = self.visible_bias(hidden).float(), self.hidden_bias(hidden).float()  # (B, T, P), (B, T, N)
        if batch.targets is None:  # the conditionals need the frame itself: only its biases are known
            return HeadOutput(b, state=encoded.state)
        below = batch.targets.unsqueeze(-1) * self.W  # (B, T, P, N): what each sounding pitch adds
        a = c.unsqueeze(2) + below.cumsum(dim=2) - below  # (B, T, P, N): the pitches strictly below i
        logits = b + (torch.sigmoid(a) * self.V).sum(-1)  # (B, T, P): p(x_i | x_<i), teacher-forced
        return frame_nll(logits, batch, encoded.state)

    @torch.no_grad()
    def sample(self, hidden: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """One frame (B, P) drawn pitch by pitch, lowest first, each given the ones already drawn."""
        return self.frame(hidden, torch.rand(len(hidden), len(self.W), generator=generator))

    def frame(self, hidden: torch.Tensor, uniforms: torch.Tensor) -> torch.Tensor:
        """The frame (B, P) that uniform draws (B, P) in [0, 1) pick, pitch by pitch, lowest first: a pitch
        sounds where its draw falls below its probability given the pitches below it."""
        b, a = self.visible_bias(hidden).float(), self.hidden_bias(hidden).float()  # (B, P), (B, N)
        pitches = []
        for i in range(b.shape[1]):
            p = torch.sigmoid(b[:, i] + (torch.sigmoid(a) * self.V[i]).sum(-1))  # (B,)
            pitches.append((uniforms[:, i] < p).float())
            a = a + pitches[-1][:, None] * self.W[i]
        return torch.stack(pitches, dim=1)
