"""Baselines judged on the same data as the model: statsforecast's forecasting models, and for text
classification the majority class and a TF-IDF linear SVM (scikit-learn)."""

from __future__ import annotations

import numpy as np

from seqlab.data.series import Series
from seqlab.errors import UserError

BASELINES = ("naive", "seasonal_naive", "auto_ets", "auto_theta", "auto_arima")


def _models(names: list[str], season: int) -> list:
    from statsforecast.models import AutoARIMA, AutoETS, AutoTheta, Naive, SeasonalNaive

    make = {
        "naive": lambda: Naive(alias="naive"),
        "seasonal_naive": lambda: SeasonalNaive(season, alias="seasonal_naive"),
        "auto_ets": lambda: AutoETS(season_length=season, alias="auto_ets"),
        "auto_theta": lambda: AutoTheta(season_length=season, alias="auto_theta"),
        "auto_arima": lambda: AutoARIMA(season_length=season, alias="auto_arima"),
    }
    unknown = [n for n in names if n not in make]
    if unknown:
        raise UserError(f"unknown baseline '{unknown[0]}'; choose from {', '.join(BASELINES)}")
    return [make[n]() for n in names]


def forecast_baselines(
    series: list[Series], horizon: int, season: int, names: list[str]
) -> dict[str, np.ndarray]:
    """Each baseline's (S, h) forecasts from every series' judged start (its one forecast origin).

    The baselines see only the points before that origin, as the model does.
    """
    import pandas as pd
    from statsforecast import StatsForecast

    histories = []
    for s in series:
        if len(s) - s.start != horizon:
            raise UserError(
                f"baselines forecast once per series, and series '{s.id}' is judged over "
                f"{len(s) - s.start} points, not one horizon of {horizon}"
            )
        if s.start < 2:
            raise UserError(f"series '{s.id}' has no history before its forecast origin for the baselines")
        histories.append(
            pd.DataFrame({"unique_id": s.id, "ds": np.arange(s.start), "y": s.values[: s.start]})
        )
    frame = pd.concat(histories, ignore_index=True)
    engine = StatsForecast(models=_models(names, season), freq=1, n_jobs=1)
    predicted = engine.forecast(df=frame, h=horizon)
    order = {s.id: i for i, s in enumerate(series)}
    predicted = predicted.assign(row=predicted["unique_id"].map(order)).sort_values(["row", "ds"])
    return {name: predicted[name].to_numpy().reshape(len(series), horizon) for name in names}


def text_classification_baselines(train: list[dict], val: list[dict], test: list[dict]) -> dict[str, dict]:
    """Test accuracy of the majority class and of a linear SVM on TF-IDF word (1-2) and character (2-5)
    n-grams, the classic strong baseline for short texts; the SVM's C is chosen on `val` alone."""
    from collections import Counter

    from sklearn.base import clone
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline, make_union
    from sklearn.svm import LinearSVC

    def texts_labels(records: list[dict]) -> tuple[list[str], list[str]]:
        return [r["text"] for r in records], [str(r["label"]) for r in records]

    (x, y), (xv, yv), (xt, yt) = map(texts_labels, (train, val, test))
    majority = Counter(y).most_common(1)[0][0]
    features = make_union(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, lowercase=True),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, lowercase=True),
    )
    fitted = {c: make_pipeline(clone(features), LinearSVC(C=c)).fit(x, y) for c in (0.1, 0.3, 1.0, 3.0)}
    best = max(fitted, key=lambda c: fitted[c].score(xv, yv))
    return {
        "majority": {"accuracy": sum(label == majority for label in yt) / len(yt)},
        "tfidf_svm": {"accuracy": float(fitted[best].score(xt, yt)), "C": best},
    }
