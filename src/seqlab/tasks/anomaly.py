"""Anomaly detection from forecast error: a point is as anomalous as the one-step-ahead forecast of
it, made from the `data.lookback` points before it, is wrong (on the series' standardised scale).

The forecaster trains as `--task forecast` does, on the training part, without labels. A threshold is
then chosen on the validation part: the one with the best F1 where it has labelled anomalies,
otherwise its `data.anomaly_quantile` quantile of scores. A score looks only backwards, so
`Detector` gives the same numbers point by point, seeing each point once.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from seqlab import metrics
from seqlab.data.series import Series
from seqlab.errors import UserError
from seqlab.heads.forecast import median_index
from seqlab.tasks.forecast import ForecastTask, Windows


class AnomalyTask(ForecastTask):
    name = "anomaly"
    judged_stride = 1  # every point of a judged part gets a score

    def scores(self, model, windows: Windows, batch_size: int, autocast) -> np.ndarray:
        """(M,) for each window's first forecast point: |truth - forecast| on the standardised scale."""
        forecasts, _ = self.forecast(model, windows, batch_size, autocast)  # (M, h, Q), unscaled
        mean, spread = windows.stats[windows.series.numpy()].T
        truth = windows.values[windows.starts + self.config.data.lookback].numpy()
        predicted = (forecasts[:, 0, median_index(model.head.quantiles.tolist())] - mean) / spread
        return np.abs(truth - predicted)

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
        return {"id": windows.ids[0], "origins": windows.origins[owned].tolist(),
                "values": (windows.values[first].numpy() * spread + mean).tolist(), "scores": scores.tolist(),
                "labels": None if windows.labels is None else windows.labels[owned.numpy()].astype(int).tolist(),
                "threshold": self.stats["threshold"]}

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
            rows.append({"unique_id": source.id, "ds": stamp, "value": float(source.values[origin]),
                         "score": score, "anomaly": score >= threshold})
        return rows


class Detector:
    """Streaming detection for one series: `update(value)` sees each point once, never a later one.

    Returns None until `data.lookback` points have been seen, then (score, flagged). The series is
    scaled as the training series `series_id` was.
    """

    def __init__(self, task: AnomalyTask, model, autocast, series_id: str):
        if any(task.stats["features"].values()):
            raise UserError("streaming detection needs a model trained without calendar features or "
                            "covariates (data.calendar=false)")
        if series_id not in task.stats["series"]:
            raise UserError(f"'{series_id}' is not a training series; stream one of: "
                            f"{', '.join(list(task.stats['series'])[:5])}")
        self.task, self.model, self.autocast, self.series_id = task, model, autocast, series_id
        self.history: deque[float] = deque(maxlen=task.config.data.lookback)

    def update(self, value: float) -> tuple[float, bool] | None:
        result = None
        if len(self.history) == self.history.maxlen:
            window = Series(self.series_id, np.array([*self.history, value]), start=len(self.history))
            score = float(self.task.scores(self.model, self.task.encode([window]), 1, self.autocast)[0])
            result = (score, score >= self.task.stats["threshold"])
        self.history.append(value)
        return result
