"""Masked pooling of hidden states (B, T, H) into one vector per sequence (B, H)."""

from __future__ import annotations

import torch
from torch import nn


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    weights = mask.unsqueeze(-1).to(hidden.dtype)  # (B, T, 1)
    return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)


def max_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return hidden.masked_fill(~mask.unsqueeze(-1), float("-inf")).amax(dim=1)


def last_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    last = (mask.sum(1) - 1).clamp(min=0)  # (B,)
    return hidden[torch.arange(hidden.shape[0], device=hidden.device), last]


class AttentionPool(nn.Module):
    """A weighted mean whose weights a learned query gives each position: softmax over the real
    positions of a linear score (Yang et al. 2016, hierarchical attention networks)."""

    def __init__(self, dim: int):
        super().__init__()
        self.score = nn.Linear(dim, 1)

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        scores = self.score(hidden).squeeze(-1).float().masked_fill(~mask, float("-inf"))  # (B, T)
        weights = scores.softmax(dim=1).to(hidden.dtype)
        return torch.einsum("bt,bth->bh", weights, hidden)


POOLING = {"mean": mean_pool, "max": max_pool, "last": last_pool}


def pooling(kind: str, dim: int):
    """The pooling called `kind` over hidden states `dim` wide, or None for "auto" (the encoder's own
    summary)."""
    return AttentionPool(dim) if kind == "attention" else POOLING.get(kind)
