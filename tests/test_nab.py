"""The NAB scorer reproduces NAB's published scores from a published detector's own outputs."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from conftest import shared

from seqlab import nab


def test_scaled_sigmoid_and_probation():
    assert nab.scaled_sigmoid(-1.0) == pytest.approx(0.98661, abs=1e-5)
    assert nab.scaled_sigmoid(0.0) == 0.0 and nab.scaled_sigmoid(3.5) == -1.0
    assert nab.probationary_length(1000) == 150 and nab.probationary_length(100_000) == 750


def test_a_toy_file_scores_by_hand():
    flags = np.zeros(40, bool)
    flags[[10, 20, 25, 38]] = True  # 10: before any window (probation ends at 6); 20, 25: in the window
    result = nab.score_file(flags, [(20, 29)], nab.PROFILES["standard"])
    early = nab.scaled_sigmoid(-1.0) / nab.scaled_sigmoid(-1.0)  # the window's first point: tp = 1
    late = nab.scaled_sigmoid((38 - 29) / 9) * 0.11
    assert result.score == pytest.approx(-0.11 + early + late)
    assert (result.tp, result.fp) == (2, 2)


def test_windowed_gaussian_published_scores_are_reproduced():
    """NAB's windowedGaussian outputs at its published threshold give its per-point scores, per-file
    scores and counts, and the scoreboard's normalised 39.65 / 20.87 / 47.41."""
    root = shared("NAB")
    windows = json.loads((root / "labels" / "combined_windows.json").read_text())
    published = json.loads((root / "final_results.json").read_text())["windowedGaussian"]
    results = root / "results" / "windowedGaussian"
    import pandas as pd

    for name, profile in nab.PROFILES.items():
        rows = list(csv.DictReader(open(results / f"windowedGaussian_{name}_scores.csv")))
        summary = {row["File"] or row["Detector"]: row for row in rows}  # the last row: Detector "Totals"
        total = 0.0
        for path, spans in windows.items():
            category, file = path.split("/")
            frame = pd.read_csv(results / category / f"windowedGaussian_{file}")
            flags = frame["anomaly_score"].to_numpy() >= 1.0
            result = nab.score_file(flags, nab.window_indices(frame["timestamp"], spans), profile)
            np.testing.assert_allclose(result.per_point, frame[f"S(t)_{name}"].to_numpy(), atol=1e-9)
            row = summary[path]
            assert result.score == pytest.approx(float(row["Score"]), abs=1e-6)
            assert (result.tp, result.tn, result.fp, result.fn) == tuple(
                int(row[k]) for k in ("TP", "TN", "FP", "FN")
            )
            total += result.score
        assert total == pytest.approx(float(summary["Totals"]["Score"]), abs=1e-8)
        windows_total = sum(len(spans) for spans in windows.values())
        assert nab.normalised(total, windows_total, profile) == pytest.approx(published[name], abs=1e-8)


def test_the_nab_registry_entry_labels_every_window_and_splits_in_time():
    from seqlab.config import load_config
    from seqlab.data.datasets import load_splits

    shared("NAB", "labels", "combined_windows.json")
    windows = json.loads(shared("NAB", "labels", "combined_windows.json").read_text())
    config = load_config(None, task="anomaly", **{"data.path": "nab"})
    splits = load_splits("anomaly", config.data)
    test = {s.id: s for s in splits["test"]}
    assert len(test) == 58 and config.data.lookback == 32
    runs = sum(int(np.diff(np.r_[0, s.labels.astype(int), 0]).clip(0).sum()) for s in test.values())
    assert runs == sum(len(spans) for spans in windows.values()) == 116  # one labelled run per window
    tweets, trained = test["realTweets/Twitter_volume_AAPL"], {s.id: len(s) for s in splits["train"]}
    assert trained[tweets.id] < tweets.start and nab.probationary_length(len(tweets)) <= tweets.start
