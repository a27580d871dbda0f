"""Trajectories: the next steps of a walker at once, from every observed step's hidden state (flattened,
as the forecast head reads a window), as one path or as a bivariate Gaussian per step to sample paths from.

Outputs are displacements per step; a path is their running sum from the last observed position.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from seqlab.data.batch import Batch
from seqlab.encoders import EncoderOutput
from seqlab.heads import HeadOutput


class TrajectoryHead(nn.Module):
    """(B, T, H) hidden states → (B, P, 2) displacements (a point path), or (B, P, 5) per step: mean
    displacement (2), log standard deviations (2) and the correlation's pre-tanh value (Graves 2013's
    bivariate Gaussian, as Social LSTM predicts)."""

    def __init__(self, in_dim: int, steps: int, predicted: int, gaussian: bool, dropout: float = 0.0):
        super().__init__()
        self.predicted, self.gaussian = predicted, gaussian
        self.outputs = 5 if gaussian else 2
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(in_dim * steps, predicted * self.outputs)

    def forward(self, encoded: EncoderOutput, batch: Batch) -> HeadOutput:
        raw = self.out(self.dropout(encoded.hidden.flatten(1))).float()  # (B, P * outputs)
        params = raw.view(-1, self.predicted, self.outputs)  # (B, P, 2 | 5)
        return HeadOutput(params) if batch.targets is None else self.score(params, batch.targets)

    def score(self, params: torch.Tensor, targets: torch.Tensor) -> HeadOutput:
        """Loss summed over the walkers: the squared error of the path (positions from the last observed
        one, so that early errors count as they carry on) or the Gaussian's negative log-likelihood of
        each true displacement. `targets`: (B, P, 2) displacements."""
        if self.gaussian:
            loss = -self.log_likelihood(params, targets).sum(dim=1)  # (B,)
        else:
            loss = (params.cumsum(dim=1) - targets.cumsum(dim=1)).square().sum(dim=(1, 2))
        return HeadOutput(params, loss.sum(), torch.tensor(len(targets)))

    @staticmethod
    def log_likelihood(params: torch.Tensor, step: torch.Tensor) -> torch.Tensor:
        """log N(step; μ, Σ) per walker and step (B, P) of a bivariate Gaussian."""
        mean, log_std, rho = (
            params[..., :2],
            params[..., 2:4].clamp(-7, 5),
            torch.tanh(params[..., 4]) * 0.999,
        )
        z = (step - mean) / log_std.exp()  # (B, P, 2)
        q = (z.square().sum(-1) - 2 * rho * z[..., 0] * z[..., 1]) / (1 - rho.square())
        return -0.5 * q - log_std.sum(-1) - 0.5 * torch.log1p(-rho.square()) - math.log(2 * math.pi)

    def mean_path(self, params: torch.Tensor) -> torch.Tensor:
        """(B, P, 2) displacements of the most likely path."""
        return params[..., :2]

    def sample(self, params: torch.Tensor, k: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """(B, K, P, 2) displacements of `k` paths drawn step by step (the mean path K times without a
        Gaussian)."""
        mean = params[..., :2].unsqueeze(1).expand(-1, k, -1, -1)  # (B, K, P, 2)
        if not self.gaussian:
            return mean
        std = params[..., 2:4].clamp(-7, 5).exp().unsqueeze(1)  # (B, 1, P, 2)
        rho = (torch.tanh(params[..., 4]) * 0.999).unsqueeze(1)  # (B, 1, P)
        noise = torch.randn(mean.shape, generator=generator, device=params.device)  # (B, K, P, 2)
        second = (
            rho * noise[..., 0] + torch.sqrt(1 - rho.square()) * noise[..., 1]
        )  # correlated with the first
        return mean + std * torch.stack([noise[..., 0], second], dim=-1)
