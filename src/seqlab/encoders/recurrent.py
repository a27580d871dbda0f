"""Recurrent encoders: `rnn`, `lstm` and `gru`, uni- or bidirectional, multi-layer.

Padded batches are packed, so padding never enters a recurrence and never changes a result.
"""

from __future__ import annotations

import contextlib
import functools
import warnings

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from seqlab.encoders import EncoderOutput

CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class RecurrentEncoder(nn.Module):
    def __init__(self, cell: str, input_dim: int, hidden_size: int, num_layers: int = 1,
                 bidirectional: bool = False, dropout: float = 0.0):
        super().__init__()
        self.cell = cell
        self.directions = 2 if bidirectional else 1
        self.rnn = CELLS[cell](
            input_dim, hidden_size, num_layers, batch_first=True, bidirectional=bidirectional,
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
    reason = ("torch.backends.cudnn.enabled is False" if not torch.backends.cudnn.enabled else
              "cuDNN is not available" if not torch.backends.cudnn.is_available() else f"cuDNN does not take {dtype}")
    warnings.warn(f"the {cell} runs on PyTorch's own GPU kernels, several times slower than cuDNN's: {reason}")


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
