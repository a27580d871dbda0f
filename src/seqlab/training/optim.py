"""AdamW with decoupled weight decay on matrices only, and linear warmup into cosine decay."""

from __future__ import annotations

import math

import torch
from torch import nn


def make_optimizer(model: nn.Module, lr: float, weight_decay: float) -> torch.optim.AdamW:
    """Decay weight matrices; leave biases, norms and 1-d parameters alone. The fused kernel on a
    GPU, where `seqlab bench speed` measured it faster (1.03x on an H200); foreach on a CPU, where it
    was not (0.98x, 0.87x and 0.96x in three runs)."""
    params = [p for p in model.parameters() if p.requires_grad]
    unique = list({id(p): p for p in params}.values())  # tied weights appear once
    decay = [p for p in unique if p.dim() >= 2]
    no_decay = [p for p in unique if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    fused = bool(unique) and all(p.is_cuda for p in unique)
    return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.99), fused=fused or None)


def learning_rate(base_lr: float, done: float, warmup: float, floor: float = 0.1) -> float:
    """Linear warmup to `base_lr` over the first `warmup` of training, then cosine decay to
    `floor * base_lr`.

    `done` in (0, 1] is how far training is towards whichever limit ends it first (steps or the
    time budget), so warmup and decay keep their shares of a run however it ends.
    """
    if done < warmup:
        return base_lr * done / warmup
    progress = min(1.0, (done - warmup) / max(1e-9, 1 - warmup))
    return base_lr * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress)))
