"""Anomaly detection from forecast error: a point is as anomalous as the one-step-ahead forecast of
it, made from the `data.lookback` points before it, is wrong (on the series' standardised scale).
With `data.anomaly_score=likelihood` the score is instead how improbable that error is among the
series' earlier errors (Numenta's anomaly likelihood, `seqlab.data.anomalies.Likelihood`).

The forecaster trains as `--task forecast` does, on the training part, without labels. A threshold is
then chosen on the validation part: the one with the best F1 where it has labelled anomalies,
otherwise its `data.anomaly_quantile` quantile of scores. A score looks only backwards, so
`Detector` gives the same numbers point by point, seeing each point once.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

import numpy as np

from seqlab import metrics
from seqlab.config import DataConfig, RunConfig
from seqlab.data.anomalies import Likelihood, likelihoods
from seqlab.data.series import Series, median_index
from seqlab.encoders import EncoderSpec
from seqlab.errors import UserError
from seqlab.tasks.base import Task
from seqlab.tasks.forecast import ForecastTask, Windows


class AnomalyTask(ForecastTask):
    name = "anomaly"
    judged_stride = 1  # every point of a judged part gets a score
    verbs = ()
    baseline = Task.baseline  # a forecaster's naive baseline is not a detector's

    @classmethod
    def check_config(cls, config: RunConfig, encoder: EncoderSpec) -> None:
        """One-step-ahead forecasts: data.horizon is 1."""
        if config.data.horizon == DataConfig.horizon:
            config.data.horizon = 1
        elif config.data.horizon != 1:
            raise UserError("task anomaly scores one-step-ahead forecasts: data.horizon must be 1")
        super().check_config(config, encoder)

    def errors(self, model, windows: Windows, batch_size: int, autocast) -> np.ndarray:
        """(M,) for each window's first forecast point: |truth - forecast| on the standardised scale."""
        forecasts, _ = self.forecast_windows(model, windows, batch_size, autocast)  # (M, h, Q), unscaled
        mean, spread = windows.stats[windows.series.numpy()].T
        truth = windows.values[windows.starts + self.config.data.lookback].numpy()
        point = forecasts[:, 0, median_index(model.head.quantiles.tolist())]
        predicted = self.scaling.to_scaled(point, mean, spread)
        return np.abs(truth - predicted)

    def scores(self, model, windows: Windows, batch_size: int, autocast) -> np.ndarray:
        """(M,) each window's score: its error, or its `Likelihood` among the earlier windows of its
        series (the windows of a series are consecutive points)."""
        errors = self.errors(model, windows, batch_size, autocast)
        if self.config.data.anomaly_score == "error":
            return errors
        L, values = self.config.data.lookback, windows.values.numpy()
        series, starts = windows.series.numpy(), windows.starts.numpy()
        scores = np.empty_like(errors)
        for s in np.unique(series):
            rows = np.flatnonzero(series == s)
            rows = rows[np.argsort(starts[rows])]
            first = starts[rows[0]]
            scores[rows] = likelihoods(values[first : first + L], errors[rows], values[starts[rows] + L])
        return scores

    def calibrate(self, model, windows: Windows, batch_size: int, autocast) -> bool:
        """Choose the threshold on validation windows; it is saved with the scaling."""
        scores = self.scores(model, windows, batch_size, autocast)
        if windows.labels is not None and windows.labels.any():
            self.stats["threshold"] = metrics.best_f1_threshold(windows.labels, scores)
        else:
            self.stats["threshold"] = float(np.quantile(scores, self.config.data.anomaly_quantile))
        return True

    def evaluate(self, model, windows: Windows, batch_size: int, autocast) -> dict[str, float]:
        result = super().evaluate(model, windows, batch_size, autocast)
        if windows.labels is not None and windows.labels.any() and not windows.labels.all():
            scores = self.scores(model, windows, batch_size, autocast)
            result.update(metrics.detection(windows.labels, scores, self.stats.get("threshold")))
        return result

    def artifacts(self, model, held_out: Windows, batch_size: int, autocast) -> dict[str, object]:
        return {"anomalies.json": self.trace(model, held_out, batch_size, autocast)}

    def trace(self, model, windows: Windows, batch_size: int, autocast, points: int = 5000) -> dict:
        """The first series' judged points (at most `points`): values, scores, labels and the threshold,
        for the report's plot."""
        owned = (windows.series == 0).nonzero()[:points, 0]
        first = windows.starts[owned] + self.config.data.lookback
        mean, spread = windows.stats[0]
        scores = self.scores(model, windows, batch_size, autocast)[owned.numpy()]
        return {
            "id": windows.ids[0],
            "origins": windows.origins[owned].tolist(),
            "values": self.scaling.from_scaled(windows.values[first].numpy(), mean, spread).tolist(),
            "scores": scores.tolist(),
            "labels": None if windows.labels is None else windows.labels[owned.numpy()].astype(int).tolist(),
            "threshold": self.stats["threshold"],
        }

    def predict(self, pipeline, records: list[Series]) -> list[dict]:
        return self.detect(pipeline.model, records, pipeline.batch_size, pipeline.autocast)

    def records_from_texts(self, texts: list[str]) -> list:
        raise UserError("anomaly detection reads series: give --data FILE")

    def prediction_rows(self, pipeline, records: list, decoding=None) -> Iterator[dict]:
        """A row per scored point, not per record."""
        yield from self.predict(pipeline, records)

    def detect(self, model, series: list[Series], batch_size: int, autocast) -> list[dict]:
        """A row per point with a full lookback before it: its score and whether it is flagged."""
        L = self.config.data.lookback
        judged = [s.head(len(s), start=L) for s in series if len(s) > L]  # shorter ones have no scored point
        windows = self.encode(judged)
        scores = self.scores(model, windows, batch_size, autocast)
        threshold = self.stats["threshold"]
        rows = []
        for s, origin, score in zip(windows.series.tolist(), windows.origins.tolist(), scores.tolist()):
            source = judged[s]
            stamp = str(source.timestamps[origin]) if source.timestamps is not None else origin
            rows.append(
                {
                    "unique_id": source.id,
                    "ds": stamp,
                    "value": float(source.values[origin]),
                    "score": score,
                    "anomaly": score >= threshold,
                }
            )
        return rows


class Detector:
    """Streaming detection for one series: `update(value)` sees each point once, never a later one.

    Returns None until `data.lookback` points have been seen, then (score, flagged). The series is
    scaled as the training series `series_id` was.
    """

    def __init__(self, task: AnomalyTask, model, autocast, series_id: str):
        if any(task.stats["features"].values()):
            raise UserError(
                "streaming detection needs a model trained without calendar features or "
                "covariates (data.calendar=false)"
            )
        if series_id not in task.stats["series"]:
            raise UserError(
                f"'{series_id}' is not a training series; stream one of: "
                f"{', '.join(list(task.stats['series'])[:5])}"
            )
        self.task, self.model, self.autocast, self.series_id = task, model, autocast, series_id
        self.history: deque[float] = deque(maxlen=task.config.data.lookback)
        self.likelihood: Likelihood | None = (
            None  # data.anomaly_score=likelihood: made at the first scored point
        )

    def update(self, value: float) -> tuple[float, bool] | None:
        result = None
        if len(self.history) == self.history.maxlen:
            window = self.task.encode(
                [Series(self.series_id, np.array([*self.history, value]), start=len(self.history))]
            )
            score = float(self.task.errors(self.model, window, 1, self.autocast)[0])
            if self.task.config.data.anomaly_score == "likelihood":
                *lookback, scaled = window.values.tolist()
                if self.likelihood is None:  # the first lookback sets the range, as in the batch path
                    self.likelihood = Likelihood(seen=lookback)
                score = self.likelihood.update(score, scaled)
            result = (score, score >= self.task.stats["threshold"])
        self.history.append(value)
        return result
