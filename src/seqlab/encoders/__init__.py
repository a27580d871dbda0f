"""Interchangeable encoders. Each maps (B, T, D) vectors and a (B, T) mask to an `EncoderOutput`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch


@dataclass
class EncoderOutput:
    hidden: torch.Tensor  # (B, T, H) one vector per position
    pooled: torch.Tensor  # (B, H) one vector per sequence
    state: Any = None  # what generation carries to the next step: RNN state or KV cache
