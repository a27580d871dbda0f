"""Ensembles: runs of one task on the same data, predicting as one through the mean of their
predictive distributions."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import tiny

from seqlab.cli import main
from seqlab.heads import mean_of_sigmoid, mean_of_softmax
from seqlab.pipeline import fit, load, load_ensemble


def test_mixed_logits_give_the_mean_probabilities():
    logits = [
        torch.tensor([[30.0, -30.0, 0.5], [-4.0, 2.0, 0.0]]),
        torch.tensor([[-30.0, 25.0, 1.0], [3.0, 0.0, 1.0]]),
    ]
    torch.testing.assert_close(
        mean_of_softmax(logits).softmax(-1), torch.stack([l.softmax(-1) for l in logits]).mean(0)
    )
    torch.testing.assert_close(
        mean_of_sigmoid(logits).sigmoid(), torch.stack([l.sigmoid() for l in logits]).mean(0)
    )
    # p = 1 - (e^-60 + e^-80) / 2 rounds to 1 in floats; its logit, 60 + log 2, does not
    assert float(mean_of_sigmoid([torch.tensor(60.0), torch.tensor(80.0)])) == pytest.approx(
        60 + np.log(2), abs=1e-3
    )


@pytest.fixture
def chorale_runs(tmp_path, chorales):
    config = {"data.input": "music", "model.bidirectional": False, "train.max_steps": 6}
    runs = [tmp_path / "gru", tmp_path / "transformer"]
    for run, encoder in zip(runs, ("gru", "transformer")):
        fit(tiny("lm", encoder, **config), run, splits={k: list(v) for k, v in chorales.items()})
    return runs


def test_an_ensemble_scores_no_worse_than_its_members_on_average(chorale_runs, chorales):
    """A mixture's log-likelihood is at least the mean of its members' (Jensen's inequality), and a
    run ensembled with itself is the run."""
    members = [load(run).evaluate(chorales["test"])["nll"] for run in chorale_runs]
    both = load_ensemble(chorale_runs).evaluate(chorales["test"])["nll"]
    assert both <= np.mean(members) and both not in members
    alone = load_ensemble([chorale_runs[0]] * 2).evaluate(chorales["test"])["nll"]
    assert alone == pytest.approx(members[0], rel=1e-5)


def test_seqlab_eval_takes_several_runs(chorale_runs, capsys):
    from seqlab.data.datasets import load_splits, retarget

    pipeline = load_ensemble(chorale_runs)
    test = load_splits("lm", retarget(pipeline.config.data, "jsb-chorales"))["test"]
    expected = pipeline.evaluate(test)["nll"]
    assert main(["eval", *map(str, chorale_runs), "--data", "jsb-chorales"]) == 0
    assert json.loads(capsys.readouterr().out)["nll"] == pytest.approx(expected, rel=1e-5)


def test_forecasts_are_averaged_quantile_by_quantile(tmp_path, ett_file):
    from seqlab.data.series import read_series

    settings = {
        "data.path": str(ett_file),
        "data.lookback": 48,
        "data.horizon": 12,
        "model.patch_len": 8,
        "model.patch_stride": 4,
        "model.quantiles": [0.1, 0.5, 0.9],
        "train.max_steps": 3,
    }
    runs = [tmp_path / "lstm", tmp_path / "transformer"]
    for run, encoder in zip(runs, ("lstm", "transformer")):
        fit(tiny("forecast", encoder, **settings), run)
    history = read_series(ett_file, load(runs[0]).config.data)
    each = [load(run).forecast(history) for run in runs]
    together = load_ensemble(runs).forecast(history)
    for key in ("forecast", "q0.1", "q0.9"):
        np.testing.assert_allclose(
            [row[key] for row in together],
            np.mean([[row[key] for row in rows] for rows in each], axis=0),
            rtol=1e-5,
        )


def test_runs_that_cannot_be_ensembled_are_clear_errors(tmp_path, chorales, chorale_runs, splits, capsys):
    music = {"data.input": "music", "model.bidirectional": False, "train.max_steps": 1}
    rolls = {k: list(v) for k, v in chorales.items()}
    fit(tiny("lm", "gru", **music, **{"data.pitch_low": 24}), tmp_path / "range", splits=rolls)
    fit(tiny("lm", "gru", **music, **{"data.transpose": 3}), tmp_path / "transposed", splits=rolls)
    for run in ("nade-1", "nade-2"):
        fit(tiny("lm", "gru", **music, **{"model.nade_hidden": 8}), tmp_path / run, splits=rolls)
    fit(tiny("classify", "gru", **{"train.max_steps": 1}), tmp_path / "spam", splits=splits["classify"])
    fit(
        tiny("tag", "gru", **{"train.max_steps": 1, "model.crf": True}),
        tmp_path / "crf",
        splits=splits["tag"],
    )
    cases = {
        ("gru", "spam"): "an ensemble needs runs of one task; ",
        ("gru", "range"): "differs from " + str(tmp_path / "gru") + " in data.pitch_low",
        ("nade-1", "nade-2"): "lm runs of this kind cannot be averaged",
        ("crf", "crf"): "tag runs of this kind cannot be averaged",
    }
    capsys.readouterr()
    for (first, second), message in cases.items():
        assert main(["eval", str(tmp_path / first), str(tmp_path / second), "--data", "jsb-chorales"]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1
    assert main(["eval", str(tmp_path / "gru"), str(tmp_path / "transposed"), "--data", "jsb-chorales"]) == 0
