"""`--encoder auto`: the search sees train and validation only, the winner becomes a normal run
directory with test metrics, the study's table stays beside it, and bad input is refused."""

from __future__ import annotations

import csv
import json

import pytest
from conftest import tiny

from seqlab.cli import main
from seqlab.registry import ENCODERS

pytest.importorskip("optuna")


def test_search_ends_in_the_best_trials_run_directory(splits, tmp_path):
    from seqlab.pipeline import load
    from seqlab.search import HIDDEN_SIZES, PRUNE_FROM, search

    config = tiny("classify", **{"train.max_steps": 4, "train.eval_every": 1})
    search(config, tmp_path / "auto", 10.0, splits["classify"], max_trials=6)
    out = tmp_path / "auto"
    rows = list(csv.DictReader((out / "search" / "study.csv").open()))
    assert len(rows) == 6 and {r["encoder"] for r in rows} <= set(ENCODERS)
    assert all(int(r["evaluations"]) >= PRUNE_FROM for r in rows if r["state"] == "pruned")
    first = rows[0]  # the search starts from the config as given, its size moved into the search space
    assert (first["encoder"], first["hidden_size"], float(first["lr"])) == (
        config.model.encoder,
        str(min(HIDDEN_SIZES, key=lambda h: abs(h - config.model.hidden_size))),
        config.train.lr,
    )
    done = [r for r in rows if r["state"] == "complete"]
    best = max(done, key=lambda r: float(r["val_accuracy"]))
    chosen = json.loads((out / "search.json").read_text())
    assert chosen["winner"] == int(best["trial"]) and chosen["params"]["encoder"] == best["encoder"]
    for trial in (out / "search").glob("trial-*/meta.json"):  # trials never saw the test split
        assert "test" not in json.loads(trial.read_text())["split_sizes"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["split"] == "test"
    pipeline = load(out)
    assert pipeline.config.model.encoder == best["encoder"]
    assert pipeline.evaluate(splits["classify"]["test"])["accuracy"] == pytest.approx(metrics["accuracy"])


def test_estimator_takes_encoder_auto(splits, tmp_path):
    from seqlab import SequenceClassifier

    records = splits["classify"]["train"]
    clf = SequenceClassifier(
        encoder="auto",
        max_minutes=0.1,
        hidden_size=16,
        embed_dim=12,
        options={"train.max_steps": 2, "train.eval_every": 1},
        out=str(tmp_path / "auto"),
    )
    clf.fit([r["text"] for r in records], [r["label"] for r in records])
    assert clf.run_dir_ == tmp_path / "auto" and clf.pipeline_.config.model.encoder in ENCODERS
    assert len(clf.predict(["WINNER!! Claim your free prize now"])) == 1


def test_encoder_auto_needs_a_budget(spam_file, tmp_path, capsys):
    code = main(
        [
            "train",
            "--task",
            "classify",
            "--data",
            str(spam_file),
            "--encoder",
            "auto",
            "--out",
            str(tmp_path / "auto"),
        ]
    )
    assert code == 2
    assert "--encoder auto needs a total budget: --max-minutes N" in capsys.readouterr().err
    assert not (tmp_path / "auto").exists()
