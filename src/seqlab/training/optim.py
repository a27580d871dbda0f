"""AdamW with decoupled weight decay on matrices only, and linear warmup into cosine decay."""

from __future__ import annotations

import math

import torch
from torch import nn


def make_optimizer(model: nn.Module, lr: float, weight_decay: float) -> torch.optim.AdamW:
    """Decay weight matrices; leave biases, norms and 1-d parameters alone."""
    params = [p for p in model.parameters() if p.requires_grad]
    unique = list({id(p): p for p in params}.values())  # tied weights appear once
    decay = [p for p in unique if p.dim() >= 2]
    no_decay = [p for p in unique if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.99))


def learning_rate(step: int, base_lr: float, warmup_steps: int, progress: float, floor: float = 0.1) -> float:
    """Linear warmup to `base_lr` over `warmup_steps`, then cosine decay to `floor * base_lr`.

    `progress` in [0, 1] is how far training is towards whichever limit ends it first (steps or
    the time budget), so the decay completes when training does.
    """
    if step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    progress = min(1.0, max(0.0, progress))
    return base_lr * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress)))


def warmup_steps(warmup: float, total_steps: int) -> int:
    return int(warmup * total_steps) if warmup < 1 else int(warmup)
