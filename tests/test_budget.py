"""The budget rule: a run with a time budget takes its sizes and schedule from it, for the keys its user
left unset; the naive baselines a run is judged beside."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import tiny

from seqlab.budget import apply_budget_rule
from seqlab.config import load_config
from seqlab.pipeline import fit
from seqlab.training import run_dir as rd


def test_a_short_budget_sizes_a_language_model_for_many_steps():
    transformer = load_config(None, task="lm", **{"model.encoder": "transformer", "train.max_minutes": 1})
    chosen = apply_budget_rule(transformer)
    assert chosen["model.hidden_size"] == 128 and chosen["model.num_layers"] == 4
    assert (
        transformer.data.block_size == 64 and transformer.train.lr == 3e-3 and transformer.model.dropout == 0
    )
    gru = load_config(None, task="lm", **{"model.encoder": "gru", "train.max_minutes": 1})
    apply_budget_rule(gru)
    assert (gru.model.num_layers, gru.model.hidden_size, gru.train.lr) == (1, 384, 5e-3)
    long = load_config(None, task="lm", **{"model.encoder": "gru", "train.max_minutes": 30})
    apply_budget_rule(long)
    assert long.model.hidden_size == 768 and long.model.dropout == 0.2


def test_the_rule_leaves_the_users_keys_and_runs_without_a_time_budget_alone():
    mine = load_config(None, ["model.hidden_size=64", "train.lr=0.01"], task="lm", **{"train.max_minutes": 1})
    chosen = apply_budget_rule(mine)
    assert "model.hidden_size" not in chosen and "train.lr" not in chosen
    assert (mine.model.hidden_size, mine.train.lr, mine.model.num_layers) == (64, 0.01, 1)
    assert apply_budget_rule(load_config(None, task="lm")) == {}  # no time budget: the static defaults


def test_a_saved_run_config_takes_nothing_from_the_rule():
    import yaml

    from seqlab.config import RunConfig

    config = load_config(None, task="classify", **{"train.max_minutes": 2})
    apply_budget_rule(config)
    again = RunConfig.from_dict(yaml.safe_load(config.to_yaml()))  # as a run directory's config.yaml reads
    assert apply_budget_rule(again) == {} and again.to_dict() == config.to_dict()


def test_series_take_the_ucr_rows_config_and_dna_the_static_sizes():
    series = load_config(None, task="classify", **{"train.max_minutes": 1, "data.input": "series"})
    assert apply_budget_rule(series)["model.hidden_size"] == 128 and series.model.pooling == "mean"
    dna = load_config(None, task="classify", **{"train.max_minutes": 1, "data.input": "dna"})
    assert apply_budget_rule(dna) == {"train.epochs": 10_000}  # trained until the budget ends


def test_a_run_records_what_the_rule_chose_and_evaluates_within_its_budget(spam_records, tmp_path):
    splits = {"train": spam_records[:120], "val": spam_records[120:]}
    config = load_config(
        None,
        task="classify",
        **{"train.max_minutes": 0.02, "train.max_steps": 6, "train.precision": "fp32", "train.epochs": 1},
    )
    fit(config, tmp_path / "run", splits)
    meta = json.loads((tmp_path / "run" / "meta.json").read_text())
    assert meta["budget_rule"]["model.hidden_size"] == 128 and meta["budget_rule"]["model.pooling"] == "mean"
    assert rd.read_config(tmp_path / "run").model.hidden_size == 128
    assert "Set by the budget rule" in (tmp_path / "run" / "report.html").read_text()
    assert 1 <= len(rd.read_history(tmp_path / "run" / "history.csv")) <= 9  # an eighth of the budget apart


def test_a_resumed_run_keeps_the_sizes_the_rule_gave_it(spam_records, tmp_path):
    splits = {"train": spam_records[:120], "val": spam_records[120:]}
    settings = {"train.precision": "fp32", "train.eval_every": 2}
    fit(
        load_config(None, task="classify", **{**settings, "train.max_minutes": 1, "train.max_steps": 2}),
        tmp_path / "r",
        splits,
    )
    longer = {**settings, "train.max_minutes": 30, "train.max_steps": 4}  # a long budget: other sizes
    fit(load_config(None, task="classify", **longer), tmp_path / "r", splits, resume=True)
    meta = json.loads((tmp_path / "r" / "meta.json").read_text())
    assert meta["steps"] == 4 and meta["budget_rule"]["model.hidden_size"] == 128


def test_the_forecast_baseline_is_seasonal_naive(tmp_path):
    from seqlab.data.series import Series
    from seqlab.tasks import task_type

    wave = np.sin(np.arange(24 * 30) * 2 * np.pi / 24) + 5  # a daily cycle, the same every day
    drift = wave + np.arange(len(wave)) * 0.01  # … that rises a little every hour
    config = tiny("forecast", **{"data.lookback": 48, "data.horizon": 12, "data.season": 24})
    task = task_type(config)(config)
    task.fit([Series("w", wave), Series("d", drift)])
    cycle = task.baseline(None, task.encode([Series("w", wave, start=600)]))
    assert cycle["baseline"].startswith("seasonal naive") and cycle["mae"] < 1e-9
    rising = task.baseline(None, task.encode([Series("d", drift, start=600)]))
    assert rising["mae"] == pytest.approx(0.24, abs=1e-6)  # one day behind its rise of 0.01 an hour


def test_the_piano_roll_baseline_is_each_pitchs_frequency():
    from seqlab.tasks import task_type

    config = tiny("lm", **{"data.input": "music", "data.pitch_low": 60, "data.pitch_high": 61})
    task = task_type(config)(config)
    train = [{"roll": torch.tensor([[1, 0], [1, 0], [1, 1]])}]  # after the first frame: C twice, C# once
    held_out = [{"roll": torch.tensor([[0, 0], [1, 0]])}]
    p = np.array([3 / 4, 2 / 4])  # add-one smoothed frequencies of C and C#
    expected = -(np.log(p[0]) + np.log(1 - p[1]))
    assert task.baseline(train, held_out)["nll"] == pytest.approx(expected)
