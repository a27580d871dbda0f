"""Decoders: the encoders' counterparts that write a target sequence while reading the source's states.

Both map target embeddings (B, T, E) and a `DecoderState` to hidden vectors (B, T, H) and the next
state, so one call serves teacher-forced training (the whole target at once) and generation (one
token per call, the state carried: an RNN's hidden state, a transformer's KV cache).

- `RecurrentDecoder` (`rnn`, `lstm`, `gru`) attends over the encoder's states. Bahdanau: the previous
  hidden state queries the source and the context joins the next input, one step at a time.
  Luong: the recurrence runs first (over the whole target in training) and its output queries.
- `TransformerDecoder`: pre-norm blocks of causal self-attention, cross-attention and an MLP.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import nn

from seqlab.encoders import EncoderOutput
from seqlab.encoders.recurrent import CELLS, recurrent_precision
from seqlab.encoders.transformer import SelfAttention, dot_product_attention, init_weights, position_vectors
from seqlab.modules.attention import ATTENTION, attend


@dataclass
class DecoderState:
    memory: torch.Tensor  # (B, S, M) the encoder's states
    mask: torch.Tensor  # (B, S) True at real source positions
    keys: Any  # what attention precomputes from the memory once per source
    cache: Any  # what the decoder carries between calls: RNN state, or per-layer self-attention K and V
    cache_dim: int = 0  # the batch dimension of the cache's tensors
    positions: int = 0  # target positions decoded so far
    attention: torch.Tensor | None = None  # (B, T, S) the latest call's attention weights (evaluation only)

    def select(self, index: torch.Tensor) -> DecoderState:
        """The state of batch rows `index` (beam search: a row per surviving hypothesis)."""
        return replace(self, memory=self.memory[index], mask=self.mask[index], keys=_rows(self.keys, index, 0),
                       cache=_rows(self.cache, index, self.cache_dim), attention=None)


def _rows(value, index: torch.Tensor, dim: int):
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return type(value)(_rows(v, index, dim) for v in value)
    return value.index_select(dim, index)


def _cast(value, dtype: torch.dtype):
    if isinstance(value, (list, tuple)):
        return type(value)(_cast(v, dtype) for v in value)
    return value.to(dtype)


class RecurrentDecoder(nn.Module):
    def __init__(self, cell: str, input_dim: int, hidden_size: int, num_layers: int, memory_dim: int,
                 attention: str = "bahdanau", dropout: float = 0.0):
        super().__init__()
        self.cell, self.kind, self.num_layers = cell, attention, num_layers
        feed = input_dim + memory_dim if attention == "bahdanau" else input_dim
        self.rnn = CELLS[cell](feed, hidden_size, num_layers, batch_first=True,
                               dropout=dropout if num_layers > 1 else 0.0)
        self.attention = ATTENTION[attention](hidden_size, memory_dim, hidden_size)
        self.bridge = nn.Linear(memory_dim, num_layers * hidden_size)  # the source's summary → first state
        self.combine = nn.Linear(hidden_size + memory_dim, hidden_size)
        self.out_dim = hidden_size

    def start(self, encoded: EncoderOutput, mask: torch.Tensor) -> DecoderState:
        B = mask.shape[0]
        h0 = torch.tanh(self.bridge(encoded.pooled)).view(B, self.num_layers, -1).transpose(0, 1).contiguous()
        cache = (h0, torch.zeros_like(h0)) if self.cell == "lstm" else h0  # (layers, B, H)
        return DecoderState(encoded.hidden, mask, self.attention.keys(encoded.hidden), cache, cache_dim=1)

    def forward(self, x: torch.Tensor, state: DecoderState) -> tuple[torch.Tensor, DecoderState]:
        x, precision = recurrent_precision(x)
        with precision:
            if not torch.is_autocast_enabled(x.device.type):  # states from a bf16 encoder join an fp32 recurrence
                state = replace(state, memory=state.memory.to(x.dtype), keys=state.keys.to(x.dtype),
                                cache=_cast(state.cache, x.dtype))
            if self.kind == "luong":
                out, cache = self.rnn(x, state.cache)  # (B, T, H)
                context, weights = attend(self.attention, out, state.keys, state.memory, state.mask)
            else:
                out, context, weights, cache = self._bahdanau(x, state)
            hidden = torch.tanh(self.combine(torch.cat([out, context.to(out.dtype)], dim=-1)))  # (B, T, H)
        T = x.shape[1]
        return hidden, replace(state, cache=cache, positions=state.positions + T,
                               attention=None if self.training else weights)

    def _bahdanau(self, x: torch.Tensor, state: DecoderState):
        """One step per target position: the last layer's previous state queries the source."""
        cache, outs, contexts, weights = state.cache, [], [], []
        for t in range(x.shape[1]):
            top = (cache[0] if self.cell == "lstm" else cache)[-1].unsqueeze(1)  # (B, 1, H)
            context, w = attend(self.attention, top, state.keys, state.memory, state.mask)  # (B, 1, M), (B, 1, S)
            out, cache = self.rnn(torch.cat([x[:, t : t + 1], context.to(x.dtype)], dim=-1), cache)
            outs.append(out)
            contexts.append(context)
            weights.append(w)
        return torch.cat(outs, 1), torch.cat(contexts, 1), torch.cat(weights, 1), cache


class CrossAttention(nn.Module):
    def __init__(self, dim: int, num_heads: int, dropout: float):
        super().__init__()
        self.num_heads = num_heads
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.proj = nn.Linear(dim, dim)
        self.dropout = dropout

    def memory_kv(self, memory: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        B, S, D = memory.shape
        k, v = self.kv(memory).view(B, S, 2, self.num_heads, D // self.num_heads).permute(2, 0, 3, 1, 4)
        return k, v  # each (B, heads, S, head_dim)

    def forward(self, x: torch.Tensor, kv, mask: torch.Tensor, need_weights: bool):
        B, T, D = x.shape
        q = self.q(x).view(B, T, self.num_heads, D // self.num_heads).transpose(1, 2)  # (B, heads, T, head_dim)
        k, v = kv
        key_mask = mask[:, None, None, :]  # (B, 1, 1, S)
        y = dot_product_attention(q, k, v, key_mask, False, self.dropout if self.training else 0.0)
        weights = None
        if need_weights:  # averaged over heads, for attention plots
            scores = (q @ k.transpose(-1, -2)).float() / (D // self.num_heads) ** 0.5
            weights = scores.masked_fill(~key_mask, float("-inf")).softmax(-1).mean(1)  # (B, T, S)
        return self.proj(y.transpose(1, 2).reshape(B, T, D)), weights


class DecoderBlock(nn.Module):
    def __init__(self, dim: int, num_heads: int, ff_mult: int, dropout: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = SelfAttention(dim, num_heads, dropout)
        self.norm2 = nn.LayerNorm(dim)
        self.cross = CrossAttention(dim, num_heads, dropout)
        self.norm3 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, ff_mult * dim), nn.GELU(), nn.Linear(ff_mult * dim, dim))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x, memory_kv, mask, cache, need_weights: bool):
        attended, cache = self.attn(self.norm1(x), None, True, cache)
        x = x + self.dropout(attended)
        crossed, weights = self.cross(self.norm2(x), memory_kv, mask, need_weights)
        x = x + self.dropout(crossed)
        x = x + self.dropout(self.mlp(self.norm3(x)))
        return x, cache, weights


class TransformerDecoder(nn.Module):
    def __init__(self, input_dim: int, hidden_size: int, num_layers: int, num_heads: int, ff_mult: int = 4,
                 dropout: float = 0.1, max_len: int = 512, positions: str = "learned"):
        super().__init__()
        self.hidden_size, self.max_len = hidden_size, max_len
        self.in_proj = nn.Linear(input_dim, hidden_size) if input_dim != hidden_size else nn.Identity()
        self.positions = nn.Embedding(max_len, hidden_size) if positions == "learned" else None
        self.dropout = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(DecoderBlock(hidden_size, num_heads, ff_mult, dropout) for _ in range(num_layers))
        self.norm = nn.LayerNorm(hidden_size)
        self.out_dim = hidden_size
        init_weights(self, num_layers)

    def start(self, encoded: EncoderOutput, mask: torch.Tensor) -> DecoderState:
        keys = [block.cross.memory_kv(encoded.hidden) for block in self.blocks]
        return DecoderState(encoded.hidden, mask, keys, None)

    def forward(self, x: torch.Tensor, state: DecoderState) -> tuple[torch.Tensor, DecoderState]:
        T = x.shape[1]
        if self.positions is not None and state.positions + T > self.max_len:
            raise ValueError(f"target of {state.positions + T} positions exceeds the model's {self.max_len}")
        x = self.dropout(self.in_proj(x) + position_vectors(self.positions, state.positions, T, self.hidden_size,
                                                            x.device))  # (B, T, H)
        cache, weights = [], None
        for i, block in enumerate(self.blocks):
            last = i == len(self.blocks) - 1
            x, layer_cache, weights = block(x, state.keys[i], state.mask, state.cache[i] if state.cache else None,
                                            need_weights=last and not self.training)
            cache.append(layer_cache)
        return self.norm(x), replace(state, cache=cache, positions=state.positions + T, attention=weights)
