"""Anomaly detection from forecast error, on the MIT-BIH ECG excerpt that sktime ships: a threshold
from validation data, point-wise metrics, and a streaming mode that never looks ahead. (Every encoder
fits, reloads and scores alike in tests/test_contract.py.)"""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import ANOMALY, tiny

from seqlab.cli import main
from seqlab.data.series import Series
from seqlab.pipeline import fit, load
from seqlab.tasks import Detector, Likelihood

pytest.importorskip("sktime")


def test_points_with_a_full_lookback_are_scored_and_flagged_over_the_threshold(ecg, tmp_path):
    pipeline = fit(tiny("anomaly", "gru", **ANOMALY), tmp_path / "run", ecg)
    assert 0.0 <= json.loads((tmp_path / "run" / "metrics.json").read_text())["roc_auc"] <= 1.0
    threshold = json.loads((tmp_path / "run" / "scaling.json").read_text())["threshold"]
    assert (tmp_path / "run" / "plots" / "anomalies.png").exists()
    rows = load(tmp_path / "run").predict(ecg["test"])
    assert len(rows) == 1500 - 32 and rows[0]["ds"] == 32  # every point with a full lookback
    assert all(r["anomaly"] == (r["score"] >= threshold) for r in rows)
    short = Series("short", ecg["test"][0].values[:20])  # no point has a full lookback: no rows
    assert pipeline.predict([short, *ecg["test"]]) == rows


@pytest.mark.parametrize("score", ["error", "likelihood"])
def test_streaming_scores_equal_the_batch_scores(score, ecg, tmp_path):
    pipeline = fit(
        tiny("anomaly", "gru", **ANOMALY, **{"data.calendar": False, "data.anomaly_score": score}),
        tmp_path / "run",
        ecg,
    )
    values = ecg["test"][0].values[1000:1200]
    batch = pipeline.predict([Series("ecg", values)])
    detector = Detector(pipeline.task, pipeline.model, pipeline.autocast, "ecg")
    streamed = [detector.update(v) for v in values]
    assert streamed[:32] == [None] * 32
    np.testing.assert_allclose(
        [s for s, _ in streamed[32:]], [r["score"] for r in batch], rtol=1e-5, atol=1e-6
    )
    assert [f for _, f in streamed[32:]] == [r["anomaly"] for r in batch]


def test_likelihood_rises_on_unusual_errors_and_out_of_range_values():
    rng = np.random.default_rng(0)
    likelihood = Likelihood()
    values = np.r_[-1.0, 1.0, rng.uniform(-1, 1, 398)]
    usual = [likelihood.update(e, v) for e, v in zip(rng.uniform(0.5, 1.5, 400), values)]
    assert usual[:20] == [0.0] * 20  # no distribution yet
    assert max(usual[20:]) < 0.5
    assert likelihood.update(1.0, 1.2) == 1.0  # a usual error, but 0.2 beyond a range 2 wide
    assert likelihood.update(1.0, 1.25) < 0.5  # within 5% of the widened range
    spike = [likelihood.update(10.0, 0.0) for _ in range(5)]
    assert spike[-1] > 0.9 and spike == sorted(spike)  # the recent mean climbs into the tail


def test_labels_must_be_zero_or_one(tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text("value,label\n" + "".join(f"{i % 7},{2 if i == 50 else 0}\n" for i in range(300)))
    assert main(["train", "--task", "anomaly", "--data", str(path), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "0 or 1" in err and err.count("\n") == 1


def test_anomaly_detector_estimator(ecg):
    import pandas as pd

    import seqlab

    series = ecg["test"][0]
    frame = pd.DataFrame({"value": series.values[:1200], "label": series.labels[:1200].astype(int)})
    detector = seqlab.AnomalyDetector(
        "rnn",
        lookback=32,
        hidden_size=8,
        embed_dim=8,
        options={"train.max_steps": 3, "model.patch_len": 8, "model.patch_stride": 4, "data.calendar": False},
    )
    detector.fit(frame)
    flags = detector.predict(frame)
    assert list(flags.columns) == ["unique_id", "ds", "value", "score", "anomaly"] and len(flags) == 1200 - 32
    assert 0.0 <= detector.score(frame) <= 1.0
    assert detector.stream("value").update(0.0) is None
    detector.set_params(anomaly_score="likelihood").fit(frame)
    assert detector.pipeline_.config.data.anomaly_score == "likelihood"
    assert detector.predict(frame)["score"].between(0.0, 1.0).all()
