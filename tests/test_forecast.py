"""Forecasting on slices of ETTh1 and M4 Hourly: readers, splits in time, scaling, windows, metrics,
quantile forecasts and the bad-input cases. (Every encoder forecasts, and forecasts alike once reloaded,
in tests/test_contract.py.)"""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch
from conftest import FORECAST, shared, tiny

from seqlab.cli import main
from seqlab.config import load_config
from seqlab.data.datasets import load_splits, retarget
from seqlab.data.series import Series, read_series, split_in_time
from seqlab.errors import UserError
from seqlab.pipeline import fit, load
from seqlab.tasks import ForecastTask


def small(encoder: str = "gru", **settings):
    return tiny("forecast", encoder, **{**FORECAST, **settings})


@pytest.fixture
def m4_folder(tmp_path):
    folder = tmp_path / "m4"
    folder.mkdir()
    for split, name in (("train", "Train/Hourly-train.csv"), ("test", "Test/Hourly-test.csv")):
        lines = shared("m4", *name.split("/")).read_text().splitlines()[:5]  # header + 4 series
        (folder / f"{split}.csv").write_text("\n".join(lines) + "\n")
    return folder


def test_wide_layout_gives_one_series_per_column(ett_file):
    series = read_series(ett_file, small().data)
    assert [s.id for s in series] == ["HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT"]
    assert all(len(s) == 400 and s.timestamps is not None for s in series)
    assert series[-1].values[0] == pytest.approx(30.5310001373291)


def test_long_layout_with_covariates(tmp_path, ett_file):
    import pandas as pd

    wide = pd.read_csv(ett_file)
    long = pd.concat(
        [
            pd.DataFrame({"unique_id": c, "ds": wide["date"], "y": wide[c], "load": wide["HUFL"]})
            for c in ("OT", "LULL")
        ]
    )
    path = tmp_path / "long.csv"
    long.to_csv(path, index=False)
    series = read_series(path, small().data)
    assert [s.id for s in series] == ["OT", "LULL"]
    assert series[0].covariates.shape == (400, 1)
    np.testing.assert_allclose(series[1].values, wide["LULL"].to_numpy())


@pytest.fixture
def covariate_frame(ett_file):
    """OT and LULL in the long layout, with HUFL as a covariate known ahead and MUFL as one known only
    up to each point."""
    import pandas as pd

    wide = pd.read_csv(ett_file)
    return pd.concat(
        [
            pd.DataFrame(
                {"unique_id": c, "ds": wide["date"], "y": wide[c], "plan": wide["HUFL"], "load": wide["MUFL"]}
            )
            for c in ("OT", "LULL")
        ]
    )


def _long_splits(frame, config):
    from seqlab.data.series import series_from_frame

    return split_in_time(
        series_from_frame(frame, config.data), 0.2, 0.2, config.data.horizon, config.data.lookback
    )


def test_covariates_known_ahead_reach_the_head_and_are_needed_to_forecast(covariate_frame, tmp_path):
    from seqlab.data.series import with_future

    config = small(**{"data.future_covariates": ["plan"], "train.max_steps": 2})
    splits = _long_splits(covariate_frame, config)
    assert splits["train"][0].covariates.shape[1] == 1 and splits["train"][0].future_covariates.shape[1] == 1
    pipeline = fit(config, tmp_path / "run", splits)
    windows = pipeline.task.encode(splits["test"])
    _, batch = next(pipeline.task.batches(windows, 4))
    assert batch.inputs.shape == (4, 48, 1 + 4 + 1 + 1) and batch.future.shape == (4, 12, 4 + 1)
    history = [s.head(300) for s in splits["test"]]
    with pytest.raises(UserError, match="forecasting 12 points needs them"):
        pipeline.forecast(history)
    future = covariate_frame.groupby("unique_id").nth(slice(300, 312)).drop(columns="y")
    rows = pipeline.forecast(with_future(history, future, 12, config.data))
    assert len(rows) == 2 * 12 and rows[0]["ds"] == str(covariate_frame["ds"].iloc[300])
    shifted = future.assign(plan=future["plan"] + 10.0)  # another plan ahead: another forecast
    assert (
        pipeline.forecast(with_future(history, shifted, 12, config.data))[0]["forecast"]
        != rows[0]["forecast"]
    )


def test_future_covariates_must_cover_the_horizon_and_follow_the_history(covariate_frame, tmp_path, capsys):
    history, future = tmp_path / "history.csv", tmp_path / "future.csv"
    covariate_frame.groupby("unique_id").head(300).to_csv(history, index=False)
    ahead = covariate_frame.groupby("unique_id").nth(slice(300, 312)).drop(columns="y")
    run = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--task",
                "forecast",
                "--data",
                str(history),
                "--out",
                str(run),
                "train.max_steps=1",
                *[f"{k}={v}" for k, v in {**FORECAST, "data.future_covariates": "plan"}.items()],
            ]
        )
        == 0
    )
    capsys.readouterr()
    for frame, message in (
        (ahead.groupby("unique_id").head(5), "has 5 future rows"),
        (covariate_frame.groupby("unique_id").nth(slice(301, 313)), "must follow the history"),
        (ahead.drop(columns="plan"), "no column 'plan'"),
    ):
        frame.to_csv(future, index=False)
        assert main(["forecast", str(run), "--data", str(history), "--future", str(future)]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1
    ahead.to_csv(future, index=False)
    assert main(["forecast", str(run), "--data", str(history), "--future", str(future)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1 + 2 * 12


def test_autoregressive_forecasts_feed_each_pass_back(ett_splits, tmp_path):
    config = small(
        **{
            "model.strategy": "autoregressive",
            "model.ar_step": 4,
            "data.calendar": False,
            "train.max_steps": 3,
        }
    )
    pipeline = fit(config, tmp_path / "run", ett_splits)
    assert pipeline.model.head.horizon == 4
    history = [s.head(300) for s in ett_splits["test"]]
    rows = pipeline.forecast(history)
    first = np.array([r["forecast"] for r in rows if r["unique_id"] == "OT"])  # (12,)
    assert len(first) == 12
    # the second pass is the first pass of the history extended by the first pass's forecast
    ot = next(s for s in history if s.id == "OT")
    extended = Series("OT", np.concatenate([ot.values, first[:4]]))
    again = np.array([r["forecast"] for r in pipeline.forecast([extended]) if r["unique_id"] == "OT"])
    np.testing.assert_allclose(again[:4], first[4:8], rtol=1e-4, atol=1e-4)
    assert np.isfinite(json.loads((tmp_path / "run" / "metrics.json").read_text())["mse"])


def test_autoregressive_settings_are_checked(ett_splits):
    with pytest.raises(UserError, match="must divide data.horizon"):
        small(**{"model.strategy": "autoregressive", "model.ar_step": 5})
    task = ForecastTask(small(**{"model.strategy": "autoregressive"}))
    with pytest.raises(UserError, match="known ahead"):
        task.fit([Series("a", np.arange(80.0), covariates=np.ones((80, 1)))])


def test_m4_layout_trims_ragged_ends_and_test_file_continues_the_history(m4_folder):
    config = small(**{"data.format": "m4", "data.val_fraction": 0.05, "data.horizon": 48})
    config.data.path = str(m4_folder)
    splits = load_splits("forecast", config.data)
    raw = (m4_folder / "train.csv").read_text().splitlines()[1].split(",")
    history = [v for v in raw[1:] if v.strip('"')]
    test = splits["test"][0]
    assert len(test) == len(history) + 48 and test.start == len(history)
    assert splits["val"][0].start == len(history) - 48 and len(splits["train"][0]) == len(history) - 48


def test_split_in_time_keeps_history_before_each_judged_part():
    s = Series("a", np.arange(100.0))
    parts = split_in_time([s], 0.2, 0.2, horizon=10)
    assert [len(parts[k][0]) for k in ("train", "val", "test")] == [60, 80, 100]
    assert [parts[k][0].start for k in ("train", "val", "test")] == [0, 60, 80]


def test_scaling_is_fitted_on_training_points_and_round_trips(ett_splits):
    task = ForecastTask(small())
    task.fit(ett_splits["train"])
    ot = ett_splits["train"][-1]
    mean, spread = task.stats["series"]["OT"]
    assert mean == pytest.approx(ot.values.mean()) and spread == pytest.approx(ot.values.std())
    windows = task.encode(ett_splits["test"])
    # a window's truth, unscaled, is the raw series
    M = len(windows.starts)
    perfect = np.stack(
        [windows.values[windows.starts[i] + 48 : windows.starts[i] + 60].numpy() for i in range(M)]
    )
    s_mean, s_spread = windows.stats[windows.series.numpy()].T
    unscaled = perfect * s_spread[:, None] + s_mean[:, None]
    i = int((windows.series == 6).nonzero()[0, 0])
    origin = int(windows.origins[i])
    np.testing.assert_allclose(unscaled[i], ett_splits["test"][6].values[origin : origin + 12], rtol=1e-5)
    scores = task.judge(windows, unscaled[..., None], [])
    assert scores["mse"] == pytest.approx(0.0, abs=1e-8) and scores["smape"] == pytest.approx(0.0, abs=1e-6)


def test_seasonal_scaling_divides_by_the_mean_seasonal_difference(ett_splits):
    task = ForecastTask(small(**{"data.scaling": "seasonal"}))
    task.fit(ett_splits["train"])
    ot = ett_splits["train"][-1].values
    mean, spread = task.stats["series"]["OT"]
    assert mean == pytest.approx(ot.mean())
    assert spread == pytest.approx(np.abs(ot[24:] - ot[:-24]).mean()) and spread != pytest.approx(ot.std())
    windows = task.encode(ett_splits["test"])
    i = int((windows.series == 6).nonzero()[0, 0])
    start, origin = int(windows.starts[i]), int(windows.origins[i])
    truth = task.scaling.from_scaled(windows.values[start + 48 : start + 60].numpy(), mean, spread)
    np.testing.assert_allclose(truth, ett_splits["test"][6].values[origin : origin + 12], rtol=1e-5)


def test_log_transform_fits_log_values_and_judges_on_the_series_scale(m4_folder, tmp_path):
    config = small(
        **{"data.format": "m4", "data.val_fraction": 0.05, "data.horizon": 48, "data.transform": "log"}
    )
    config.data.path = str(m4_folder)
    splits = load_splits("forecast", config.data)
    task = ForecastTask(config)
    task.fit(splits["train"])
    first = splits["train"][0]
    assert task.stats["series"][first.id][0] == pytest.approx(np.log1p(first.values).mean())
    windows = task.encode(splits["test"])
    ahead = windows.starts.unsqueeze(1) + 48 + torch.arange(48)
    mean, spread = windows.stats[windows.series.numpy()].T
    truth = task.scaling.from_scaled(windows.values[ahead].numpy(), mean[:, None], spread[:, None])
    np.testing.assert_allclose(truth, np.stack([s.values[s.start :] for s in splits["test"]]), rtol=1e-4)
    perfect = task.judge(windows, truth[..., None], [])
    assert perfect["smape"] == pytest.approx(0.0, abs=1e-3) and perfect["mse_scaled"] == pytest.approx(
        0.0, abs=1e-8
    )
    doubled = task.judge(windows, 2 * truth[..., None], [])
    assert doubled["smape"] == pytest.approx(200 / 3, rel=1e-3)  # |y - 2y| / ((y + 2y) / 2), in percent
    config.train.max_steps = 1
    rows = fit(config, tmp_path / "run", splits).forecast(splits["test"][:1])
    assert all(r["forecast"] > -1 for r in rows)  # expm1 of any real number


def test_log_transform_refuses_negative_values(tmp_path, capsys):
    err = _bad(tmp_path, "negative.csv", _csv([1.0, -2.0] + list(range(18))), capsys, "data.transform=log")
    assert "data.transform=log needs values of 0 or more" in err


def test_backtest_windows_start_at_every_origin_of_the_judged_part(ett_splits):
    config = small(**{"data.eval_stride": 5})
    task = ForecastTask(config)
    task.fit(ett_splits["train"])
    windows = task.encode(ett_splits["test"])
    test = ett_splits["test"][0]
    expected = list(range(test.start, len(test) - 12 + 1, 5))
    assert windows.origins[windows.series == 0].tolist() == expected
    _, batch = next(task.batches(windows, 4))
    assert batch.inputs.shape == (4, 48, 1 + 4) and batch.targets.shape == (4, 12)
    assert batch.future.shape == (4, 12, 4)
    # reversible instance normalisation: each window's lookback has mean 0
    torch.testing.assert_close(batch.inputs[..., 0].mean(1), torch.zeros(4), atol=1e-5, rtol=0)


def test_metrics_match_their_definitions():
    from seqlab import metrics

    truth = np.array([[1.0, 2.0, 3.0], [2.0, 2.0, 2.0]])
    point = np.array([[1.0, 3.0, 1.0], [2.0, 2.0, 4.0]])
    spread = np.array([[2.0], [1.0]])
    result = metrics.forecast(
        ["a", "b"],
        truth,
        point,
        standardised=(truth / spread, point / spread),
        naive_error=np.array([1.0, 0.5]),
    )
    assert result["mae"] == pytest.approx((1 + 2 + 2) / 6)
    assert result["mse"] == pytest.approx((1 + 4 + 4) / 6)
    assert result["mse_scaled"] == pytest.approx(((1 + 4) / 3 / 4 + 4 / 3) / 2)
    assert result["mase"] == pytest.approx(((3 / 3) / 1.0 + (2 / 3) / 0.5) / 2)
    smape = [200 / 3 * (1 / 5 + 2 / 4), 200 / 3 * (2 / 6)]
    assert result["smape"] == pytest.approx(np.mean(smape))


def test_quantile_forecasts_follow_each_series_hour_by_hour(ett_splits, tmp_path):
    pipeline = fit(small("transformer", **{"model.quantiles": [0.1, 0.5, 0.9]}), tmp_path / "run", ett_splits)
    assert (tmp_path / "run" / "plots" / "forecasts.png").exists()
    rows = pipeline.forecast(ett_splits["test"])
    assert len(rows) == 7 * 12 and {"unique_id", "ds", "forecast", "q0.1", "q0.9"} <= set(rows[0])
    assert rows[0]["ds"].startswith("2016-07-17 16:00")  # the hour after the 400th


def test_forecast_command_writes_a_csv(ett_file, tmp_path):
    run = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--task",
                "forecast",
                "--data",
                str(ett_file),
                "--encoder",
                "lstm",
                "--out",
                str(run),
                *[
                    f"{k}={v}"
                    for k, v in {
                        **FORECAST,
                        "model.hidden_size": 8,
                        "model.embed_dim": 8,
                        "train.max_steps": 2,
                        "train.precision": "fp32",
                    }.items()
                ],
            ]
        )
        == 0
    )
    out = tmp_path / "forecast.csv"
    assert main(["forecast", str(run), "--data", str(ett_file), "--horizon", "6", "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 7 * 6 and all(np.isfinite(float(r["forecast"])) for r in rows)


def _bad(tmp_path, name: str, text: str, capsys, *settings: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    code = main(
        [
            "train",
            "--task",
            "forecast",
            "--data",
            str(path),
            "--out",
            str(tmp_path / "run"),
            "data.lookback=4",
            "data.horizon=2",
            "model.patch_len=2",
            "model.patch_stride=1",
            *settings,
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and not (tmp_path / "run").exists()
    return err


def _csv(values, stamps=None) -> str:
    stamps = stamps or [f"2020-01-01 {h:02d}:00" for h in range(len(values))]
    return "date,y\n" + "".join(f"{t},{v}\n" for t, v in zip(stamps, values))


@pytest.mark.parametrize(
    "case,text,message",
    [
        (
            "unsorted",
            _csv(range(20), [f"2020-01-01 {h:02d}:00" for h in [1, 0] + list(range(2, 20))]),
            "not sorted",
        ),
        (
            "duplicate",
            _csv(range(20), [f"2020-01-01 {h:02d}:00" for h in [0, 0] + list(range(2, 20))]),
            "appears twice",
        ),
        (
            "irregular",
            _csv(range(20), [f"2020-01-01 {h:02d}:00" for h in [0, 1, 3] + list(range(4, 21))]),
            "irregular",
        ),
        ("nan", _csv([1.0, float("nan")] + list(range(18))), "missing value"),
        ("inf", _csv([1.0, float("inf")] + list(range(18))), "infinite"),
        ("text", _csv(["1.0", "high"] + list(range(18))), "not a number"),
        ("short", _csv(range(5)), "too few"),
    ],
)
def test_bad_series_exit_2_with_one_line(case, text, message, tmp_path, capsys):
    assert message in _bad(tmp_path, f"{case}.csv", text, capsys)


def test_missing_values_can_be_interpolated_with_a_warning(tmp_path):
    path = tmp_path / "gap.csv"
    path.write_text(_csv([1.0, None, 3.0] + list(range(17))).replace("None", ""))
    config = small(**{"data.missing": "interpolate"})
    with pytest.warns(UserWarning, match="interpolation"):
        series = read_series(path, config.data)
    assert series[0].values[1] == pytest.approx(2.0)


def test_constant_series_are_centred_not_divided_by_zero(tmp_path):
    task = ForecastTask(small())
    with pytest.warns(UserWarning, match="constant"):
        task.fit([Series("flat", np.full(80, 3.0))])
    assert task.stats["series"]["flat"] == [3.0, 1.0]


def test_a_longer_horizon_than_trained_is_refused(ett_splits, tmp_path):
    pipeline = fit(small("rnn", **{"train.max_steps": 1}), tmp_path / "run", ett_splits)
    with pytest.raises(UserError, match="at most 12 points"):
        pipeline.forecast(ett_splits["test"], horizon=13)


def test_quantiles_must_be_probabilities():
    with pytest.raises(UserError, match="strictly between 0 and 1"):
        load_config(None, task="forecast", **{"model.quantiles": [0.5, 1.5]})


def test_statistical_baselines_are_judged_on_the_same_windows(m4_folder, tmp_path, capsys):
    run = tmp_path / "run"
    settings = {
        **FORECAST,
        "data.format": "m4",
        "data.horizon": 48,
        "data.val_fraction": 0.05,
        "model.hidden_size": 8,
        "model.embed_dim": 8,
        "train.max_steps": 1,
    }
    assert (
        main(
            [
                "train",
                "--task",
                "forecast",
                "--data",
                str(m4_folder),
                "--out",
                str(run),
                *[f"{k}={v}" for k, v in settings.items()],
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["eval", str(run), "--data", str(m4_folder), "--baselines", "naive,seasonal_naive"]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert set(scores) == {"model", "naive", "seasonal_naive"}
    test = load_splits("forecast", retarget(load(run).config.data, str(m4_folder)))["test"]
    last = np.array([s.values[s.start - 1] for s in test])  # naive: the last known value, repeated
    truth = np.stack([s.values[s.start :] for s in test])
    assert scores["naive"]["mae"] == pytest.approx(np.abs(truth - last[:, None]).mean(), rel=1e-6)


def test_forecaster_estimator_fits_predicts_scores_and_reloads(ett_file, tmp_path):
    import pandas as pd

    import seqlab

    frame = pd.read_csv(ett_file)
    model = seqlab.Forecaster(
        "gru",
        horizon=12,
        lookback=48,
        season=24,
        max_minutes=None,
        epochs=1,
        options={
            "train.max_steps": 2,
            "model.patch_len": 8,
            "model.patch_stride": 4,
            "model.hidden_size": 8,
            "model.embed_dim": 8,
        },
    )
    model.fit(frame)
    predicted = model.predict(frame)
    assert list(predicted.columns[:3]) == ["unique_id", "ds", "forecast"] and len(predicted) == 7 * 12
    assert model.score(frame) < 0
    model.save(tmp_path / "saved")
    again = seqlab.Forecaster.load(tmp_path / "saved")
    assert again.horizon == 12 and again.predict(frame).equals(predicted)


def test_registry_defaults_yield_to_the_run_settings():
    shared("ETT", "ETTh1.csv")
    chosen = load_config(None, task="forecast", **{"data.path": "etth1", "data.horizon": 192})
    default = load_config(None, task="forecast", **{"data.path": "etth1"})
    for config in (chosen, default):
        load_splits("forecast", config.data)
    assert (chosen.data.horizon, default.data.horizon, chosen.data.lookback) == (192, 96, 336)
    assert retarget(chosen.data, "other.csv").horizon == 192


def test_without_a_lookback_the_shortest_series_sets_it(tmp_path):
    """data.lookback unset: 96 points where every series has room, else what the shortest one leaves
    beside its validation and test parts and one horizon (80 points, horizon 13: 80 - 13 - 13 - 13)."""
    from seqlab.data.series import fitting_lookback

    weekly = [Series("W1", np.sin(np.arange(80) / 2.0)), Series("W2", np.cos(np.arange(200) / 3.0))]
    assert fitting_lookback(weekly, 0.1, 0.1, 13, least=1) == 41
    assert fitting_lookback(weekly[1:], 0.1, 0.1, 13, least=1) == 96
    with pytest.raises(UserError, match="leaves room for a lookback of 0 points before a horizon of 30"):
        fitting_lookback(weekly, 0.1, 0.1, 30, least=1)
    path = tmp_path / "weekly.csv"
    path.write_text("unique_id,ds,y\n" + "".join(f"W1,{t},{np.sin(t / 2.0):.4f}\n" for t in range(80)))
    config = load_config(None, task="forecast", **{**FORECAST, "data.path": str(path), "data.horizon": 13})
    config.data.lookback = None  # as a user who names no lookback
    fit(config, tmp_path / "run", None)
    assert load(tmp_path / "run").config.data.lookback == 41


def test_eval_joins_a_file_of_the_following_points_to_the_training_series(covariate_frame, tmp_path, capsys):
    """The weekly case: a test file holding only the horizon after each training series is judged as the
    continuation of the run's own training series, as M4's Train and Test files are."""
    from seqlab.data.series import continue_series, series_from_frame

    frame = covariate_frame[["unique_id", "ds", "y"]]
    train, after = tmp_path / "train.csv", tmp_path / "after.csv"
    frame.groupby("unique_id").head(300).to_csv(train, index=False)
    frame.groupby("unique_id").nth(list(range(300, 324))).to_csv(after, index=False)
    config = small(**{"data.path": str(train), "data.horizon": 24, "data.lookback": 48})
    pipeline = fit(config, tmp_path / "run", None)
    capsys.readouterr()
    assert main(["eval", str(tmp_path / "run"), "--data", str(after)]) == 0
    shown = json.loads(capsys.readouterr().out)
    history = series_from_frame(frame.groupby("unique_id").head(300), config.data)
    joined = continue_series(
        history, series_from_frame(frame.groupby("unique_id").nth(range(300, 324)), config.data)
    )
    assert shown["mase"] == pytest.approx(pipeline.evaluate(joined)["mase"], rel=1e-6)

    frame.groupby("unique_id").nth(list(range(290, 314))).to_csv(after, index=False)  # overlaps the history
    assert main(["eval", str(tmp_path / "run"), "--data", str(after)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not after its training data" in err[0]
