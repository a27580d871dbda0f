"""Forecasting: the whole horizon at once (multi-output), as points or as quantiles."""

from __future__ import annotations

import torch
from torch import nn

from seqlab.data.batch import Batch
from seqlab.data.series import median_index
from seqlab.encoders import EncoderOutput
from seqlab.heads import HeadOutput


class ForecastHead(nn.Module):
    """Every step's hidden state (flattened, as PatchTST's head) and the known future covariates →
    (B, h, Q) forecasts, put back on each window's level and spread (`batch.loc`, `batch.scale`).

    Without quantiles Q = 1 and the loss is `point_loss` (mse or mae); with them, the pinball loss.
    """

    def __init__(
        self,
        in_dim: int,
        steps: int,
        horizon: int,
        num_future: int = 0,
        quantiles: list[float] | None = None,
        point_loss: str = "mse",
        dropout: float = 0.0,
    ):
        super().__init__()
        self.horizon = horizon
        self.register_buffer("quantiles", torch.tensor(quantiles or []), persistent=False)
        self.outputs = max(1, len(quantiles or []))
        self.point_loss = point_loss
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(in_dim * steps + num_future * horizon, horizon * self.outputs)

    def forward(self, encoded: EncoderOutput, batch: Batch) -> HeadOutput:
        features = encoded.hidden.flatten(1)  # (B, N * H)
        if batch.future is not None:
            features = torch.cat([features, batch.future.flatten(1).to(features.dtype)], dim=1)
        raw = self.out(self.dropout(features)).float().view(-1, self.horizon, self.outputs)  # (B, h, Q)
        forecast = raw * batch.scale.unsqueeze(-1) + batch.loc.unsqueeze(-1)  # (B, h, Q)
        return HeadOutput(forecast) if batch.targets is None else self.score(forecast, batch)

    def score(self, forecast: torch.Tensor, batch: Batch) -> HeadOutput:
        return HeadOutput(forecast, self.loss(forecast, batch.targets).sum(), torch.tensor(len(batch)))

    def mixture(self, forecasts: list[torch.Tensor]) -> torch.Tensor:
        """Several models' (B, h, Q) forecasts averaged: points, and quantiles level by level."""
        return torch.stack(forecasts).mean(dim=0)

    def loss(self, forecast: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """(B, h, Q) forecasts and (B, h) targets → (B,) each window's mean loss per point."""
        error = targets.unsqueeze(-1) - forecast  # (B, h, Q)
        if len(self.quantiles):
            per_point = torch.maximum(self.quantiles * error, (self.quantiles - 1) * error)
        elif self.point_loss == "mae":
            per_point = error.abs()
        else:
            per_point = error.square()
        return per_point.mean(dim=(1, 2))

    def point(self, forecast: torch.Tensor) -> torch.Tensor:
        """(B, h, Q) → (B, h): the point forecast, the median where quantiles are predicted."""
        return forecast[..., median_index(self.quantiles.tolist())]
