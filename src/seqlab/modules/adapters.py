"""Input adapters: whatever the data is, they turn a `Batch` into vectors (B, T, D) for an encoder."""

from __future__ import annotations

import torch
from torch import nn

from seqlab.data.batch import PAD_ID, Batch
from seqlab.data.series import patch_count


class CharCNN(nn.Module):
    """A word's characters → one vector: embed, convolve (width 3), max over the characters."""

    def __init__(self, num_chars: int, char_dim: int, filters: int):
        super().__init__()
        self.embed = nn.Embedding(num_chars, char_dim, padding_idx=PAD_ID)
        self.conv = nn.Conv1d(char_dim, filters, kernel_size=3, padding=1)
        self.out_dim = filters

    def forward(self, chars: torch.Tensor) -> torch.Tensor:
        B, T, C = chars.shape
        x = self.embed(chars.view(B * T, C)).transpose(1, 2)  # (B*T, char_dim, C)
        x = self.conv(x)  # (B*T, filters, C)
        x = x.masked_fill((chars.view(B * T, 1, C) == PAD_ID), float("-inf")).amax(dim=2)
        x = torch.nan_to_num(x, neginf=0.0)  # words that are all padding
        return x.view(B, T, -1)  # (B, T, filters)


class TokenAdapter(nn.Module):
    """Token ids (and, optionally, each word's characters) → embeddings."""

    def __init__(
        self,
        vocab_size: int,
        embed_dim: int,
        dropout: float = 0.0,
        num_chars: int = 0,
        char_dim: int = 0,
        char_filters: int = 0,
    ):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=PAD_ID)
        self.chars = CharCNN(num_chars, char_dim, char_filters) if char_dim > 0 else None
        self.dropout = nn.Dropout(dropout)
        self.out_dim = embed_dim + (char_filters if self.chars is not None else 0)

    def forward(self, batch: Batch) -> torch.Tensor:
        x = self.embed(batch.inputs)  # (B, T, E)
        if self.chars is not None:
            x = torch.cat([x, self.chars(batch.chars)], dim=-1)  # (B, T, E + F)
        return self.dropout(x)


class SentenceAdapter(nn.Module):
    """Word ids per sentence (B, S, W) → one vector per sentence (B, S, H): the words of every real
    sentence are embedded and read by a sentence encoder, whose summary is the sentence's vector.
    The document encoder then reads the sentences: a hierarchical encoder."""

    def __init__(self, vocab_size: int, embed_dim: int, sentence_encoder: nn.Module, dropout: float = 0.0):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=PAD_ID)
        self.sentences = sentence_encoder
        self.dropout = nn.Dropout(dropout)
        self.out_dim = sentence_encoder.out_dim

    def forward(self, batch: Batch) -> torch.Tensor:
        B, S, W = batch.inputs.shape
        real = batch.mask.reshape(-1)  # (B*S,) sentences that exist: no work on padding
        words = batch.inputs.reshape(B * S, W)[real]  # (N, W)
        pooled = self.sentences(self.dropout(self.embed(words)), words != PAD_ID).pooled  # (N, H)
        out = pooled.new_zeros(B * S, pooled.shape[-1])
        out[real] = pooled
        return self.dropout(out.view(B, S, -1))  # (B, S, H)


class FeatureAdapter(nn.Module):
    """Float features per step (B, T, F) → (B, T, D) with one linear map."""

    def __init__(self, num_features: int, embed_dim: int, dropout: float = 0.0):
        super().__init__()
        self.proj = nn.Linear(num_features, embed_dim)
        self.dropout = nn.Dropout(dropout)
        self.out_dim = embed_dim

    def forward(self, batch: Batch) -> torch.Tensor:
        return self.dropout(self.proj(batch.inputs))  # (B, T, D)


class PatchAdapter(nn.Module):
    """Float features (B, L, F) → patches of `patch_len` points every `stride` points → (B, N, D).

    The series end is repeated `stride` times first, as in PatchTST, so the last points get a patch
    of their own. With `patch_len = stride = 1` every point is a step.
    """

    def __init__(
        self,
        num_features: int,
        lookback: int,
        patch_len: int,
        stride: int,
        embed_dim: int,
        dropout: float = 0.0,
    ):
        super().__init__()
        self.patch_len, self.stride = min(patch_len, lookback), stride
        self.pad = stride if patch_len > 1 else 0
        self.num_patches = patch_count(lookback, patch_len, stride)
        self.proj = nn.Linear(self.patch_len * num_features, embed_dim)
        self.dropout = nn.Dropout(dropout)
        self.out_dim = embed_dim
        starts = torch.arange(self.num_patches) * stride
        self.register_buffer("positions", starts[:, None] + torch.arange(self.patch_len), persistent=False)
        # (N, P): the points of each patch

    def forward(self, batch: Batch) -> torch.Tensor:
        x = batch.inputs  # (B, L, F)
        if self.pad:
            x = torch.cat([x, x[:, -1:].expand(-1, self.pad, -1)], dim=1)  # (B, L + pad, F)
        patches = x[:, self.positions].transpose(2, 3)  # (B, N, F, P), as x.unfold(1, P, stride)
        return self.dropout(self.proj(patches.flatten(2)))  # (B, N, D)
