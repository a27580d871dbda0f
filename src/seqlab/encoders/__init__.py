"""Interchangeable encoders, and what the rest of seqlab may know about one.

An encoder maps (B, T, D) vectors and a (B, T) mask to an `EncoderOutput`; its decoder, the family's
counterpart for sequence to sequence, maps target embeddings and a `DecoderState` to hidden vectors.
A family (one module: `recurrent.py`, `transformer.py`, `tcn.py`, or a plug-in's) describes itself
with an `EncoderSpec`, registered by name in `seqlab.registry.ENCODERS`. Callers read the spec's
declared properties; none of them tests an encoder's name or the Python type of its state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import nn


@dataclass
class EncoderOutput:
    hidden: torch.Tensor  # (B, T, H) one vector per position
    pooled: torch.Tensor  # (B, H) one vector per sequence
    state: Any = None  # what generation carries to the next step: RNN state, KV cache, past frames


@dataclass
class DecoderState:
    memory: torch.Tensor  # (B, S, M) the encoder's states
    mask: torch.Tensor  # (B, S) True at real source positions
    keys: Any  # what attention precomputes from the memory once per source
    cache: Any  # what the decoder carries between calls: RNN state, per-layer K and V, past frames
    cache_dim: int = 0  # the batch dimension of the cache's tensors
    positions: int = 0  # target positions decoded so far
    attention: torch.Tensor | None = None  # (B, T, S) the latest call's attention weights (evaluation only)
    copy_ids: torch.Tensor | None = None  # (B, S) the source's tokens in the target vocabulary, for a head
    # that copies (PAD where a token has no target id)

    def select(self, index: torch.Tensor) -> DecoderState:
        """The state of batch rows `index` (beam search: a row per surviving hypothesis)."""
        return replace(
            self,
            memory=self.memory[index],
            mask=self.mask[index],
            keys=_rows(self.keys, index, 0),
            cache=_rows(self.cache, index, self.cache_dim),
            attention=None,
            copy_ids=_rows(self.copy_ids, index, 0),
        )


def _rows(value, index: torch.Tensor, dim: int):
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return type(value)(_rows(v, index, dim) for v in value)
    return value.index_select(dim, index)


def cast_state(value, dtype: torch.dtype):
    """A state's tensors (nested in lists and tuples) in `dtype`."""
    if isinstance(value, (list, tuple)):
        return type(value)(cast_state(v, dtype) for v in value)
    return value.to(dtype)


@dataclass(frozen=True)
class EncoderSpec:
    """An encoder family: how to build it from the `model.` settings, and what it can do.

    The builders take the run's model settings (`config.model`, with the family's own `settings` keys
    merged in) and turn them into the modules' flat arguments.
    """

    name: str
    build: Callable[[Any, int, int, bool], nn.Module]  # (model settings, input_dim, max_len, causal)
    cache: str  # what generation carries from step to step, in words
    build_decoder: Callable[[Any, int, int], nn.Module] | None = None  # (model settings, memory_dim,
    # max_len): the family's seq2seq decoder; None: the family does not write sequences from a source
    recurrent: bool = False  # steps through time one position after the other (kept in fp32 on a GPU)
    bounded_context: bool = False  # sees at most `max_len` positions: generation keeps a window of them
    token_embedding_std: float | None = None  # a token embedding that feeds it starts at N(0, std);
    # None: PyTorch's N(0, 1)
    settings: type | None = None  # a dataclass of the family's own `model.` keys
    check: Callable[[Any], None] | None = None  # refuses model settings the family cannot build (UserError)
    width_multiple: Callable[[Any], int] = lambda model: 1  # hidden_size must be a multiple of this
