"""Attention of a recurrent decoder over the encoder's states.

Both kinds precompute keys from the memory once per source (`keys`), then score queries against
them: additive (Bahdanau et al. 2015, v·tanh(W q + U m)) or multiplicative (Luong et al. 2015's
"general" score, q·W m).
"""

from __future__ import annotations

import torch
from torch import nn


class AdditiveAttention(nn.Module):
    def __init__(self, query_dim: int, memory_dim: int, dim: int):
        super().__init__()
        self.query = nn.Linear(query_dim, dim, bias=False)
        self.key = nn.Linear(memory_dim, dim)
        self.v = nn.Linear(dim, 1, bias=False)

    def keys(self, memory: torch.Tensor) -> torch.Tensor:
        return self.key(memory)  # (B, S, A)

    def scores(self, query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        hidden = torch.tanh(self.query(query).unsqueeze(2) + keys.unsqueeze(1))  # (B, T, S, A)
        return self.v(hidden).squeeze(-1)  # (B, T, S)


class MultiplicativeAttention(nn.Module):
    def __init__(self, query_dim: int, memory_dim: int, dim: int = 0):
        super().__init__()
        self.key = nn.Linear(memory_dim, query_dim, bias=False)

    def keys(self, memory: torch.Tensor) -> torch.Tensor:
        return self.key(memory)  # (B, S, Q)

    def scores(self, query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        return query @ keys.transpose(1, 2)  # (B, T, S)


ATTENTION = {"bahdanau": AdditiveAttention, "luong": MultiplicativeAttention}


def attend(
    attention: nn.Module, query: torch.Tensor, keys: torch.Tensor, memory: torch.Tensor, mask: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Queries (B, T, Q) over memory (B, S, M) with a (B, S) mask → context (B, T, M), weights (B, T, S)."""
    scores = attention.scores(query, keys).float().masked_fill(~mask.unsqueeze(1), float("-inf"))
    weights = scores.softmax(dim=-1)
    return weights.to(memory.dtype) @ memory, weights
