"""Speech from text: a Tacotron-style decoder (Wang et al. 2017; Shen et al. 2018) over the encoder's
states of the characters. At each step a pre-net reads the previous frame, a GRU cell reads it beside the
last attention context, additive attention over the characters gives the new context, and two linear
layers give the next frame (with data.stack_frames > 1, that many frames at once: Tacotron's reduction
factor) and the probability that speech stops after it. Training feeds the true previous frame (teacher
forcing); synthesis feeds its own until the stop probability passes one half.

A speaker embedding, where the data names speakers, is added to every character's state.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from seqlab.data.batch import Batch
from seqlab.encoders import EncoderOutput
from seqlab.heads import HeadOutput
from seqlab.modules.attention import AdditiveAttention, attend

STOP_WEIGHT = torch.tensor(8.0)  # the one last frame of each clip weighs as much as this many others: without
# it, a voice that has learned its frames may never say that it has finished


class SpeechDecoder(nn.Module):
    def __init__(
        self, memory_dim: int, frame_dim: int, speakers: int, hidden: int = 256, dropout: float = 0.5
    ):
        super().__init__()
        self.frame_dim = frame_dim
        self.speaker = nn.Embedding(speakers, memory_dim) if speakers > 1 else None
        self.prenet = nn.Sequential(
            nn.Linear(frame_dim, hidden // 2), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden // 2, hidden // 2), nn.ReLU(), nn.Dropout(dropout),
        )  # fmt: skip
        self.cell = nn.GRUCell(hidden // 2 + memory_dim, hidden)
        self.attention = AdditiveAttention(hidden, memory_dim, hidden // 2)
        self.frame = nn.Linear(hidden + memory_dim, frame_dim)
        self.stop = nn.Linear(hidden + memory_dim, 1)

    def forward(self, encoded: EncoderOutput, batch: Batch) -> HeadOutput:
        """Teacher-forced frames (B, T, D) and stop logits, scored against `batch.targets` (B, T, D) and
        the real frames `batch.target_mask` (B, T)."""
        assert batch.targets is not None, "a speech decoder is trained on frames; synthesise with `speak`"
        memory, keys, state, context = self.start(encoded, batch)
        previous = F.pad(batch.targets[:, :-1], (0, 0, 1, 0))  # (B, T, D): silence, then the true frames
        frames, stops = [], []
        for t in range(previous.shape[1]):
            frame, stop, state, context = self.step(previous[:, t], state, context, memory, keys, batch.mask)
            frames.append(frame)
            stops.append(stop)
        return self.score(torch.stack(frames, 1), torch.stack(stops, 1), batch)

    def score(self, frames: torch.Tensor, stops: torch.Tensor, batch: Batch) -> HeadOutput:
        """Squared error of the real frames (per feature) plus the stop flag's cross-entropy (the last
        frame's weighted by STOP_WEIGHT); counted per real frame."""
        real = batch.target_mask  # (B, T)
        assert real is not None and batch.targets is not None
        error = (frames.float() - batch.targets).square().mean(-1)  # (B, T)
        last = F.one_hot(real.sum(1) - 1, real.shape[1]).float()  # (B, T): 1 at each last real frame
        stop = F.binary_cross_entropy_with_logits(
            stops.float(), last, reduction="none", pos_weight=STOP_WEIGHT
        )
        loss = ((error + stop) * real).sum()
        return HeadOutput(frames, loss, real.sum())

    def start(self, encoded: EncoderOutput, batch: Batch) -> tuple[torch.Tensor, ...]:
        """What every step reads: the characters' states with the speaker's (B, S, H) and attention's keys
        of them (B, S, A); and the first cell state (B, R) and context (B, H), zeros."""
        memory = encoded.hidden  # (B, S, H)
        if self.speaker is not None and batch.speakers is not None:
            memory = memory + self.speaker(batch.speakers).unsqueeze(1)
        B = memory.shape[0]
        state, context = memory.new_zeros(B, self.cell.hidden_size), memory.new_zeros(B, memory.shape[-1])
        return memory, self.attention.keys(memory), state, context

    def step(self, previous, state, context, memory, keys, mask):
        """One decoder step: the previous frame (B, D) → the next frame (B, D), its stop logit (B,), the
        new cell state and attention context."""
        state = self.cell(torch.cat([self.prenet(previous), context], -1), state)  # (B, R)
        context, _ = attend(self.attention, state.unsqueeze(1), keys, memory, mask)
        context = context.squeeze(1)  # (B, H)
        both = torch.cat([state, context], -1)
        return self.frame(both), self.stop(both).squeeze(-1), state, context

    @torch.no_grad()
    def synthesise(self, encoded: EncoderOutput, batch: Batch, most: int) -> list[torch.Tensor]:
        """Per row, its frames (T_i, D) until the stop probability passes one half (at most `most`)."""
        memory, keys, state, context = self.start(encoded, batch)
        frame = memory.new_zeros(memory.shape[0], self.frame_dim)
        frames, ends = [], torch.full((memory.shape[0],), most, dtype=torch.long)
        for t in range(most):
            frame, stop, state, context = self.step(frame, state, context, memory, keys, batch.mask)
            frames.append(frame.float())
            ends = torch.where((torch.sigmoid(stop.float()).cpu() > 0.5) & (ends == most), t + 1, ends)
            if (ends < most).all():
                break
        stacked = torch.stack(frames, 1).cpu()  # (B, T, D)
        return [row[:end] for row, end in zip(stacked, ends.tolist())]
