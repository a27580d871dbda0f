"""Recurrent encoders: `rnn`, `lstm` and `gru`, uni- or bidirectional, multi-layer, and their
attention decoder for sequence to sequence.

Padded batches are packed, so padding never enters a recurrence and never changes a result.

`RecurrentDecoder` attends over the encoder's states. Bahdanau: the previous hidden state queries
the source and the context joins the next input, one step at a time. Luong: the recurrence runs
first (over the whole target in training) and its output queries.
"""

from __future__ import annotations

import contextlib
import functools
import warnings
from dataclasses import replace

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from seqlab.encoders import DecoderState, EncoderOutput, EncoderSpec, cast_state
from seqlab.modules.attention import ATTENTION, attend

CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class RecurrentEncoder(nn.Module):
    def __init__(
        self,
        cell: str,
        input_dim: int,
        hidden_size: int,
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
    ):
        super().__init__()
        self.cell = cell
        self.directions = 2 if bidirectional else 1
        self.rnn = CELLS[cell](
            input_dim,
            hidden_size,
            num_layers,
            batch_first=True,
            bidirectional=bidirectional,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        self.out_dim = hidden_size * self.directions

    def forward(self, x: torch.Tensor, mask: torch.Tensor, state=None) -> EncoderOutput:
        x, precision = recurrent_precision(x)
        if x.is_cuda and not torch.backends.cudnn.is_acceptable(x):
            _warn_off_cudnn(self.cell, x.dtype)
        with precision:
            hidden, final = self._recur(x, mask, state)
        h_n = final[0] if self.cell == "lstm" else final  # (layers * dirs, B, H)
        pooled = h_n[-self.directions :].transpose(0, 1).reshape(x.shape[0], -1)  # (B, dirs * H)
        return EncoderOutput(hidden=hidden, pooled=pooled, state=final)

    def _recur(self, x: torch.Tensor, mask: torch.Tensor, state):
        T = x.shape[1]
        if mask.all():
            hidden, final = self.rnn(x, state)  # (B, T, dirs * H)
        else:
            lengths = mask.sum(1).clamp(min=1).cpu()
            packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
            out, final = self.rnn(packed, state)
            hidden, _ = pad_packed_sequence(out, batch_first=True, total_length=T)  # (B, T, dirs * H)
        return hidden, final


@functools.cache
def _warn_off_cudnn(cell: str, dtype: torch.dtype) -> None:
    reason = (
        "torch.backends.cudnn.enabled is False"
        if not torch.backends.cudnn.enabled
        else "cuDNN is not available"
        if not torch.backends.cudnn.is_available()
        else f"cuDNN does not take {dtype}"
    )
    warnings.warn(
        f"the {cell} runs on PyTorch's own GPU kernels, several times slower than cuDNN's: {reason}"
    )


def recurrent_precision(x: torch.Tensor):
    """The input and the precision context for a recurrence: fp32 inside CUDA autocast, whose cuDNN
    RNN runs in fp16 whatever dtype autocast was asked for (fp16 with no loss scaling: gradients
    overflow to NaN), and inside CPU bf16 autocast on a CPU without native bf16 (no AMX, no
    AVX512-BF16), where oneDNN has no emulated bf16 LSTM kernel and fp32 is faster anyway;
    unchanged elsewhere."""
    from seqlab.training.hardware import cpu_has_bf16

    if x.is_cuda and torch.is_autocast_enabled("cuda"):
        return x.float(), torch.autocast("cuda", enabled=False)
    if x.device.type == "cpu" and torch.is_autocast_enabled("cpu") and not cpu_has_bf16():
        return x.float(), torch.autocast("cpu", enabled=False)
    return x, contextlib.nullcontext()


class RecurrentDecoder(nn.Module):
    def __init__(
        self,
        cell: str,
        input_dim: int,
        hidden_size: int,
        num_layers: int,
        memory_dim: int,
        attention: str = "bahdanau",
        dropout: float = 0.0,
    ):
        super().__init__()
        self.cell, self.kind, self.num_layers = cell, attention, num_layers
        feed = input_dim + memory_dim if attention == "bahdanau" else input_dim
        self.rnn = CELLS[cell](
            feed, hidden_size, num_layers, batch_first=True, dropout=dropout if num_layers > 1 else 0.0
        )
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
            if not torch.is_autocast_enabled(
                x.device.type
            ):  # states from a bf16 encoder join an fp32 recurrence
                state = replace(
                    state,
                    memory=state.memory.to(x.dtype),
                    keys=state.keys.to(x.dtype),
                    cache=cast_state(state.cache, x.dtype),
                )
            if self.kind == "luong":
                out, cache = self.rnn(x, state.cache)  # (B, T, H)
                context, weights = attend(self.attention, out, state.keys, state.memory, state.mask)
            else:
                out, context, weights, cache = self._bahdanau(x, state)
            hidden = torch.tanh(self.combine(torch.cat([out, context.to(out.dtype)], dim=-1)))  # (B, T, H)
        T = x.shape[1]
        return hidden, replace(
            state, cache=cache, positions=state.positions + T, attention=None if self.training else weights
        )

    def _bahdanau(self, x: torch.Tensor, state: DecoderState):
        """One step per target position: the last layer's previous state queries the source."""
        cache, outs, contexts, weights = state.cache, [], [], []
        for t in range(x.shape[1]):
            top = (cache[0] if self.cell == "lstm" else cache)[-1].unsqueeze(1)  # (B, 1, H)
            context, w = attend(
                self.attention, top, state.keys, state.memory, state.mask
            )  # (B, 1, M), (B, 1, S)
            out, cache = self.rnn(torch.cat([x[:, t : t + 1], context.to(x.dtype)], dim=-1), cache)
            outs.append(out)
            contexts.append(context)
            weights.append(w)
        return torch.cat(outs, 1), torch.cat(contexts, 1), torch.cat(weights, 1), cache


def build_encoder(cell: str, m, input_dim: int, max_len: int, causal: bool) -> RecurrentEncoder:
    return RecurrentEncoder(cell, input_dim, m.hidden_size, m.num_layers, bool(m.bidirectional), m.dropout)


def build_decoder(cell: str, m, memory_dim: int, max_len: int) -> RecurrentDecoder:
    return RecurrentDecoder(
        cell, m.embed_dim, m.hidden_size, m.num_layers, memory_dim, m.attention, m.dropout
    )


def _spec(cell: str) -> EncoderSpec:
    return EncoderSpec(
        cell,
        functools.partial(build_encoder, cell),
        "the hidden state (and an LSTM's cell state)",
        functools.partial(build_decoder, cell),
        recurrent=True,
    )


RNN, LSTM, GRU = _spec("rnn"), _spec("lstm"), _spec("gru")
