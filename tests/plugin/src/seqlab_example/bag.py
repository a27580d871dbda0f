"""The `bag` encoder: each position's vector is the mean of the projected inputs up to it (causal) or
over the whole sequence beside its own (otherwise). Generation carries the running sum and count."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from seqlab.encoders import EncoderOutput, EncoderSpec
from seqlab.modules.pooling import last_pool, mean_pool


class BagEncoder(nn.Module):
    def __init__(self, input_dim: int, hidden_size: int, causal: bool, squash: bool):
        super().__init__()
        self.proj = nn.Linear(input_dim, hidden_size)
        self.causal = causal
        self.squash = squash
        self.out_dim = hidden_size

    def forward(self, x: torch.Tensor, mask: torch.Tensor, state=None) -> EncoderOutput:
        h = self.proj(x) * mask.unsqueeze(-1)  # (B, T, H), zero at padding
        if self.squash:
            h = torch.tanh(h)
        if not self.causal:
            pooled = mean_pool(h, mask)  # (B, H)
            return EncoderOutput(hidden=h + pooled.unsqueeze(1), pooled=pooled)
        total, count = (
            state if state is not None else (h.new_zeros(h[:, 0].shape), h.new_zeros(h.shape[0], 1))
        )
        sums = total.unsqueeze(1) + h.cumsum(1)  # (B, T, H)
        counts = count.unsqueeze(1) + mask.cumsum(1).unsqueeze(-1)  # (B, T, 1)
        hidden = sums / counts.clamp(min=1)
        return EncoderOutput(
            hidden=hidden, pooled=last_pool(hidden, mask), state=(sums[:, -1], counts[:, -1])
        )


@dataclass
class BagSettings:
    bag_squash: bool = True  # tanh on the projected inputs


def build(m, input_dim: int, max_len: int, causal: bool) -> BagEncoder:
    return BagEncoder(input_dim, m.hidden_size, causal, m.bag_squash)


BAG = EncoderSpec("bag", build, build_decoder=None, cache="the running sum and count", settings=BagSettings)
