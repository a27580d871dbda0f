"""Forecasting: from the last `data.lookback` points of a series, the next `data.horizon` points.

One global model learns every series. Each series is scaled by its own training mean and spread
(saved in the run directory); each window is then centred on its own lookback (reversible instance
normalisation), and the head puts the forecast back on that level. Windows are index arithmetic over
one flat tensor of all series, never copies of them.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from seqlab import metrics
from seqlab.config import RunConfig, points_per_pass
from seqlab.data.batch import Batch
from seqlab.data.series import (
    Series,
    SeriesScaling,
    forecast_rows,
    median_index,
    patch_count,
    read_series,
)
from seqlab.encoders import EncoderSpec
from seqlab.errors import UserError
from seqlab.files import read_json, write_json
from seqlab.heads import mean_loss
from seqlab.heads.forecast import ForecastHead
from seqlab.modules.adapters import PatchAdapter
from seqlab.tasks.base import HeadParts, Task

_EPS = 1e-5


@dataclass
class Windows:
    """Encoded series: every point's features in one flat tensor, and the windows over it."""

    values: torch.Tensor  # (P,) scaled targets of all series, end to end (NaN past a series' end)
    features: torch.Tensor  # (P, F) per point: the scaled target, the K known-ahead features, the covariates
    future: torch.Tensor | None  # (P, K) per point: the features known ahead (calendar, future covariates)
    starts: torch.Tensor  # (M,) flat index of each window's first lookback point
    series: torch.Tensor  # (M,) which series each window belongs to
    origins: torch.Tensor  # (M,) index in its series of each window's first forecast point
    offsets: torch.Tensor  # (S,) flat index of each series' first point
    labels: np.ndarray | None  # (M,) whether each window's first forecast point is a labelled anomaly
    ids: list[str]  # series ids
    stats: np.ndarray  # (S, 2) mean and spread of each series' scaling


class ForecastTask(Task):
    name = "forecast"
    files = ("scaling.json",)
    judged_stride: int | None = None  # origins of judged windows this far apart (None: data.eval_stride)
    primary_metric = "loss"
    higher_is_better = False
    records = "series"
    verbs = ("forecast", "evaluate_baselines")

    @classmethod
    def read(cls, path: Path, data, labelled: bool) -> list[Series]:
        return read_series(path, data)

    @classmethod
    def check_config(cls, config: RunConfig, encoder: EncoderSpec) -> None:
        super().check_config(config, encoder)
        m = config.model
        if m.strategy == "autoregressive" and (m.ar_step < 1 or config.data.horizon % m.ar_step):
            raise UserError(
                f"model.ar_step ({config.model.ar_step}) must divide data.horizon ({config.data.horizon})"
            )

    @classmethod
    def build_adapter(cls, config: RunConfig, sizes: dict[str, int], encoder: EncoderSpec) -> nn.Module:
        """Patches of the lookback window (PatchTST's input), each with its features."""
        m, d = config.model, config.data
        return PatchAdapter(
            sizes["num_features"], d.lookback, m.patch_len, m.patch_stride, m.embed_dim, m.dropout
        )

    @classmethod
    def context_length(cls, config: RunConfig, adapter: nn.Module) -> int:
        return adapter.num_patches

    @classmethod
    def build_head(cls, config, parts: HeadParts) -> nn.Module:
        m = config.model
        return ForecastHead(
            parts.width,
            parts.adapter.num_patches,
            points_per_pass(config),
            parts.sizes.get("num_future", 0),
            m.quantiles,
            m.loss,
            m.dropout,
        )

    def __init__(self, config: RunConfig, stats: dict | None = None):
        super().__init__(config)
        self.stats = stats or {}  # series id → [mean, spread]; "features": sizes learned in fit

    @property
    def scaling(self) -> SeriesScaling:
        d = self.config.data
        return SeriesScaling(d.transform, d.scaling, d.season, self.stats)

    # -- what is learned from the training series ---------------------------------------------

    def fit(self, train: list[Series]) -> None:
        d = self.config.data
        scaled = d.scaling != "none"
        scaling = self.scaling
        self.stats = {
            "series": {
                s.id: [*scaling.mean_and_spread(scaling.transformed(s))] if scaled else [0.0, 1.0]
                for s in train
            }
        }
        constant = [s.id for s in train if scaled and s.values.std() == 0]
        if constant:
            warnings.warn(
                f"{len(constant)} series are constant in training (e.g. '{constant[0]}'); "
                "they are centred but not rescaled"
            )
        timed = d.calendar and all(s.timestamps is not None for s in train)
        self.stats["features"] = {
            "calendar": 4 if timed else 0,
            "covariates": _width(train, "covariates"),
            "future_covariates": _width(train, "future_covariates"),
        }
        if self.config.model.strategy == "autoregressive" and self.stats["features"]["covariates"]:
            raise UserError(
                "autoregressive forecasts need every covariate known ahead; name the covariate "
                "columns in data.future_covariates, or use model.strategy=direct"
            )

    def with_history(self, records: list[Series]) -> list[Series]:
        """Series too short to be judged alone (a test file of the points after each training series)
        continue the run's own training series of the same id, as M4's Train and Test files do; judged
        from the join. The training data is read again from data.path."""
        d = self.config.data
        if all(len(s) >= d.lookback + d.horizon for s in records):
            return records
        from seqlab.data.datasets import load_splits
        from seqlab.data.series import continue_series

        history: dict[str, Series] = {}
        try:
            for part in load_splits(self.name, d).values():
                for s in part:
                    if len(s) > len(history.get(s.id, ())):
                        history[s.id] = s.head(len(s))
        except UserError as exc:
            short = next(s for s in records if len(s) < d.lookback + d.horizon)
            raise UserError(
                f"series '{short.id}' has {len(short)} points, too few to judge alone (data.lookback="
                f"{d.lookback} + data.horizon={d.horizon}), and the run's training data that it may continue "
                f"cannot be read: {exc}"
            ) from None
        for s in records:
            past = history.get(s.id)
            if past is not None and past.timestamps is not None and s.timestamps is not None:
                if s.timestamps[0] <= past.timestamps[-1]:
                    raise UserError(
                        f"series '{s.id}' starts at {s.timestamps[0]}, not after its training data, which "
                        f"ends at {past.timestamps[-1]}; give the points that follow the training series"
                    )
        return continue_series(list(history.values()), records)

    def model_sizes(self) -> dict[str, int]:
        f = self.stats["features"]
        ahead = f["calendar"] + f["future_covariates"]
        return {"num_features": 1 + ahead + f["covariates"], "num_future": ahead}

    def save(self, run_dir: Path) -> None:
        write_json(run_dir / "scaling.json", self.stats)

    @classmethod
    def load(cls, config: RunConfig, run_dir: Path) -> ForecastTask:
        return cls(config, read_json(run_dir / "scaling.json"))

    # -- windows ------------------------------------------------------------------------------

    def encode(self, records: list[Series], with_targets: bool = True) -> Windows:
        """Judged windows (`with_targets`): every origin from a series' `start` on, `eval_stride`
        apart (training: every origin). Otherwise one window per series: the forecast after its end."""
        d = self.config.data
        L, h = d.lookback, d.horizon
        values, features, future, starts, owners, origins, stats, offsets = [], [], [], [], [], [], [], []
        offset, scaling = 0, self.scaling
        for n, s in enumerate(records):
            model_values = scaling.transformed(s)  # (T,)
            mean, spread = scaling.stats_of(s.id, model_values)
            if len(s) < L:
                raise UserError(
                    f"series '{s.id}' has {len(s)} points, fewer than data.lookback={L}; "
                    "lower data.lookback or give a longer history"
                )
            extra = 0 if with_targets else h  # room for the forecast after the end
            y = np.concatenate([(model_values - mean) / spread, np.full(extra, np.nan)])
            values.append(y)
            known = scaling.known_ahead(s, extra)  # (T + extra, K) or None
            if known is not None:
                future.append(known)
            features.append(scaling.features(s, y, known, extra))
            if with_targets:
                first = max(s.start, L)
                stride = 1 if s.start == 0 else (self.judged_stride or d.eval_stride)
                window_origins = np.arange(first, len(s) - h + 1, stride)
            else:
                window_origins = np.array([len(s)])
            starts.append(offset + window_origins - L)
            owners.append(np.full(len(window_origins), n))
            origins.append(window_origins)
            stats.append((mean, spread))
            offsets.append(offset)
            offset += len(y)
        windows = Windows(
            values=torch.tensor(np.concatenate(values), dtype=torch.float32),
            features=torch.tensor(np.concatenate(features), dtype=torch.float32),
            future=torch.tensor(np.concatenate(future), dtype=torch.float32) if future else None,
            starts=torch.tensor(np.concatenate(starts), dtype=torch.long),
            series=torch.tensor(np.concatenate(owners), dtype=torch.long),
            origins=torch.tensor(np.concatenate(origins), dtype=torch.long),
            offsets=torch.tensor(offsets, dtype=torch.long),
            labels=None
            if not with_targets or any(s.labels is None for s in records)
            else np.concatenate([s.labels[o] for s, o in zip(records, origins)]).astype(bool),
            ids=[s.id for s in records],
            stats=np.array(stats),
        )
        if not len(windows.starts):
            raise UserError(
                f"no series is long enough for one window of data.lookback={L} + data.horizon={h} "
                "points; lower them or give longer series"
            )
        return windows

    def batches(
        self, windows: Windows, batch_size: int, generator: torch.Generator | None = None
    ) -> Iterator[tuple[list[int], Batch]]:
        order = (
            torch.randperm(len(windows.starts), generator=generator)
            if generator is not None
            else torch.arange(len(windows.starts))
        )
        for b in range(0, len(order), batch_size):
            chosen = order[b : b + batch_size]
            yield chosen.tolist(), self._batch(windows, chosen)

    def _batch(self, windows: Windows, chosen: torch.Tensor) -> Batch:
        """The windows `chosen` with the targets of one pass of the model."""
        past = windows.starts[chosen].unsqueeze(1) + torch.arange(
            self.config.data.lookback
        )  # (B, L) flat indices
        ahead = past[:, -1:] + 1 + torch.arange(points_per_pass(self.config))  # (B, k)
        targets = windows.values[ahead]  # (B, k)
        return self._pass(
            windows.features[past],
            None if windows.future is None else windows.future[ahead],
            None if targets.isnan().any() else targets,
        )

    def _pass(self, inputs: torch.Tensor, future: torch.Tensor | None, targets: torch.Tensor | None) -> Batch:
        """(B, L, F) lookback features, each window centred on its own history, as a model input."""
        history = inputs[..., 0]  # (B, L)
        loc = history.mean(dim=1, keepdim=True)  # (B, 1)
        scale = history.std(dim=1, keepdim=True, unbiased=False) + _EPS  # (B, 1)
        inputs = torch.cat([((history - loc) / scale).unsqueeze(-1), inputs[..., 1:]], dim=-1)
        m = self.config.model
        steps = patch_count(
            self.config.data.lookback, m.patch_len, m.patch_stride
        )  # patches, none of them padding
        return Batch(
            inputs=inputs,
            mask=torch.ones(len(inputs), steps, dtype=torch.bool),
            targets=targets,
            future=future,
            loc=loc,
            scale=scale,
        )

    def _rollout(self, model, windows: Windows, chosen: torch.Tensor) -> torch.Tensor:
        """(B, h, Q) forecasts of the windows `chosen`, `model.ar_step` points a pass, each pass's point
        forecast fed back as the history of the next."""
        L, h = self.config.data.lookback, self.config.data.horizon
        k, point = points_per_pass(self.config), median_index(model.head.quantiles.tolist())
        span = windows.starts[chosen].unsqueeze(1) + torch.arange(L + h)  # (B, L + h)
        inputs = windows.features[span]  # (B, L + h, F): the targets after L are overwritten before use
        passes = []
        for t in range(0, h, k):
            ahead = span[:, L + t : L + t + k]  # (B, k)
            forecast = model(
                self._pass(
                    inputs[:, t : t + L], None if windows.future is None else windows.future[ahead], None
                )
            ).logits.float()
            inputs[:, L + t : L + t + k, 0] = forecast[..., point]
            passes.append(forecast)  # (B, k, Q)
        return torch.cat(passes, dim=1)

    def num_batches(self, windows: Windows, batch_size: int) -> int:
        return -(-len(windows.starts) // batch_size)

    # -- use ----------------------------------------------------------------------------------

    @torch.no_grad()
    def forecast_windows(
        self, model, windows: Windows, batch_size: int, autocast
    ) -> tuple[np.ndarray, float]:
        """(M, h, Q) forecasts of every window on the series' own scale, and the mean loss."""
        model.eval()
        L, h = self.config.data.lookback, self.config.data.horizon
        out = torch.empty(len(windows.starts), h, model.head.outputs)
        loss_sum, count = 0.0, 0
        for chosen in torch.arange(len(windows.starts)).split(batch_size):
            with autocast():
                if self.config.model.strategy == "autoregressive":
                    forecast = self._rollout(model, windows, chosen)
                else:
                    forecast = model(self._batch(windows, chosen)).logits.float()  # (B, h, Q)
            out[chosen] = forecast
            targets = windows.values[windows.starts[chosen].unsqueeze(1) + L + torch.arange(h)]  # (B, h)
            if not targets.isnan().any():
                loss_sum += float(model.head.loss(forecast, targets).sum())
                count += len(chosen)
        mean, spread = windows.stats[windows.series.numpy()].T  # (M,) each
        unscaled = self.scaling.from_scaled(out.numpy(), mean[:, None, None], spread[:, None, None])
        return unscaled, (mean_loss(loss_sum, count) if count else float("nan"))

    def evaluate(self, model, windows: Windows, batch_size: int, autocast) -> dict[str, float]:
        forecasts, loss = self.forecast_windows(model, windows, batch_size, autocast)
        return {**self.judge(windows, forecasts, model.head.quantiles.tolist()), "loss": loss}

    def baseline(self, train: Windows, held_out: Windows) -> dict | None:
        """Seasonal naive: every window's last season (data.season points; the last point where the
        lookback is shorter) repeated over the horizon."""
        d = self.config.data
        season = d.season if d.season <= d.lookback else 1
        repeat = (np.arange(d.horizon) % season) - season  # (h,): offsets back from the origin
        origin = held_out.starts + d.lookback  # (M,)
        scaled = held_out.values[origin.unsqueeze(1) + torch.as_tensor(repeat)].numpy()  # (M, h)
        stats = held_out.stats[held_out.series.numpy()]
        forecasts = self.scaling.from_scaled(scaled, stats[:, :1], stats[:, 1:])
        what = f"the last {season} points, repeated" if season > 1 else "the last point, repeated"
        return {"baseline": f"seasonal naive ({what})", **self.judge(held_out, forecasts[..., None], [])}

    def artifacts(self, model, held_out: Windows, batch_size: int, autocast) -> dict[str, object]:
        return {"forecasts.json": self.examples(model, held_out, autocast)}

    def examples(self, model, windows: Windows, autocast, count: int = 4) -> list[dict]:
        """The last judged window of the first `count` series: lookback, truth, forecast and the outer
        quantiles, on the series' own scale (for the report's plot)."""
        L, h = self.config.data.lookback, self.config.data.horizon
        chosen = [
            int((windows.series == s).nonzero()[-1, 0]) for s in windows.series.unique()[:count].tolist()
        ]
        picked = dataclasses.replace(
            windows,
            starts=windows.starts[chosen],
            series=windows.series[chosen],
            origins=windows.origins[chosen],
            labels=None,
        )
        forecasts, _ = self.forecast_windows(model, picked, len(chosen), autocast)  # (n, h, Q)
        mean, spread = picked.stats[picked.series.numpy()].T
        span = picked.starts.unsqueeze(1) + torch.arange(L + h)  # (n, L + h)
        observed = self.scaling.from_scaled(picked.values[span].numpy(), mean[:, None], spread[:, None])
        point = median_index(model.head.quantiles.tolist())
        return [
            {
                "id": picked.ids[s],
                "origin": int(o),
                "observed": observed[i].tolist(),
                "lookback": L,
                "forecast": forecasts[i, :, point].tolist(),
                "low": forecasts[i, :, 0].tolist(),
                "high": forecasts[i, :, -1].tolist(),
            }
            for i, (s, o) in enumerate(zip(picked.series.tolist(), picked.origins.tolist()))
        ]

    def predict(self, pipeline, records: list[Series]) -> list[dict]:
        return self.forecast(pipeline, records)

    def records_from_texts(self, texts: list[str]) -> list:
        raise UserError("a forecaster predicts with: seqlab forecast RUN_DIR --data FILE")

    def prediction_rows(self, pipeline, records: list, decoding=None) -> Iterator[dict]:
        raise UserError("a forecaster predicts with: seqlab forecast RUN_DIR --data FILE")

    def forecast(self, pipeline, series: list[Series], horizon: int | None = None) -> list[dict]:
        """The next `horizon` points (at most the trained horizon) after the end of every series: one
        row per series and step, with the point forecast and any quantiles."""
        trained = self.config.data.horizon
        horizon = horizon or trained
        if not 1 <= horizon <= trained:
            raise UserError(
                f"this model forecasts at most {trained} points ahead (data.horizon); got {horizon}"
            )
        windows = self.encode(series, with_targets=False)
        values, _ = self.forecast_windows(pipeline.model, windows, pipeline.batch_size, pipeline.autocast)
        return forecast_rows(series, values[:, :horizon], pipeline.model.head.quantiles.tolist())

    def evaluate_baselines(
        self, pipeline, series: list[Series], names: list[str]
    ) -> dict[str, dict[str, float]]:
        """The metrics of the model (`"model"`) and of statsforecast baselines on the last horizon of
        every series: one forecast origin per series, as in M4, each method seeing only the points
        before it."""
        from seqlab.baselines import forecast_baselines

        d = self.config.data
        last = [s.head(len(s), start=len(s) - d.horizon) for s in series]
        windows = self.encode(last)
        forecasts = forecast_baselines(last, d.horizon, d.season, names)
        return {
            "model": pipeline.evaluate(last),
            **{name: self.judge(windows, values[..., None], []) for name, values in forecasts.items()},
        }

    def judge(self, windows: Windows, forecasts: np.ndarray, quantiles: list[float]) -> dict[str, float]:
        """Metrics of (M, h, Q) forecasts of `windows` (quantiles: the Q levels, or [] for points)."""
        h, season = self.config.data.horizon, self.config.data.season
        ahead = windows.starts.unsqueeze(1) + self.config.data.lookback + torch.arange(h)  # (M, h)
        scaled_truth = windows.values[ahead].numpy()
        stats = windows.stats[windows.series.numpy()]  # (M, 2)
        mean, spread = stats[:, :1], stats[:, 1:]  # (M, 1) each
        truth = self.scaling.from_scaled(scaled_truth, mean, spread)
        point = forecasts[..., median_index(quantiles)]  # (M, h)
        naive_error = np.array([self._seasonal_error(windows, i, season) for i in range(len(windows.ids))])
        names = [f"{windows.ids[s]}@{o}" for s, o in zip(windows.series.tolist(), windows.origins.tolist())]
        return metrics.forecast(
            names,
            truth,
            point,
            standardised=(scaled_truth, self.scaling.to_scaled(point, mean, spread)),
            naive_error=naive_error[windows.series.numpy()],
            quantiles=quantiles,
            quantile_forecasts=forecasts if quantiles else None,
        )

    def _seasonal_error(self, windows: Windows, series: int, season: int) -> float:
        """Mean absolute seasonal difference of a series before its first judged origin (MASE's scale)."""
        owned = windows.series == series
        if not owned.any():
            return float("nan")
        begin = int(windows.offsets[series])
        history = self.scaling.from_scaled(
            windows.values[begin : begin + int(windows.origins[owned].min())].numpy(), *windows.stats[series]
        )
        diffs = np.abs(history[season:] - history[:-season])
        return float(diffs.mean()) if len(diffs) else float("nan")


def _width(series: list[Series], field: str) -> int:
    """How many columns the `field` covariates of every series have (the same for all of them)."""
    widths = {0 if getattr(s, field) is None else getattr(s, field).shape[1] for s in series}
    if len(widths) > 1:
        raise UserError(
            f"the series carry different numbers of {field.replace('_', ' ')} ({sorted(widths)}); "
            "every series needs the same covariate columns"
        )
    return widths.pop()
