"""The benchmark protocol: the committed results keep their declarations, choices are made on
validation data, the statistics and verdicts are right on worked cases, and folds deal the training
data into disjoint validation parts."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from seqlab.bench import quality
from seqlab.config import load_config
from seqlab.data.splits import complete_splits
from seqlab.errors import UserError
from seqlab.registry import TASKS

ROOT = Path(__file__).resolve().parents[1]
RESULTS = json.loads((ROOT / "benchmarks" / "results.json").read_text())


@pytest.mark.parametrize("name", sorted(RESULTS["rows"]))
def test_every_recorded_row_keeps_its_declaration_seeds_and_a_selection_split_apart_from_test(name):
    row, entry = quality.ROWS[name], RESULTS["rows"][name]
    task = load_config(ROOT / "configs" / row.config, **row.overrides).task
    counts_examples = TASKS[task].records != "series"  # a forecast's sizes count series, not its windows
    assert entry["declaration"] == quality.declaration(row, ROOT), "declaration changed: rerun the row"
    assert sorted(s["seed"] for s in entry["seeds"]) == list(range(row.seeds))
    assert entry["declaration"]["selection_split"] != "test"
    for seed in entry["seeds"]:
        assert seed["steps"] <= row.steps
        assert "val" in seed and (row.split == "val" or "test" in seed)
        if counts_examples and seed["split_sizes"].get("test", math.inf) < quality.FEW_TEST_EXAMPLES:
            assert row.seeds >= 5, f"{name} has {seed['split_sizes']['test']} test examples and 3 seeds"


def test_rows_are_declared_with_step_budgets_and_enough_seeds():
    for row in quality.ROWS.values():
        assert row.steps > 0 and row.seeds >= 3, row.name
        assert not row.folds or row.seeds % row.folds == 0, row.name
        assert "max_minutes" not in " ".join(row.overrides), row.name
    for row in {(r.config, r.pretrain, r.minutes): r for r in quality.ROWS.values()}.values():
        quality.require_step_budget(row, ROOT)  # nor in the configs of a row declared in steps
    for choice in quality.CHOICES.values():
        assert all(name in quality.ROWS for name in choice.rows)
        assert len({quality.ROWS[name].metric for name in choice.rows}) == 1


def _entry(row: quality.Row, val: list[float], test: list[float]) -> dict:
    seeds = [
        {"seed": i, "val": {row.metric: v}, "test": {row.metric: t}}
        for i, (v, t) in enumerate(zip(val, test))
    ]
    return {"row": row.name, "seeds": seeds}


def test_summary_gives_the_t_interval_of_the_mean():
    s = quality.summary([1.0, 2.0, 3.0])
    assert s["mean"] == 2.0 and s["sd"] == 1.0 and (s["min"], s["max"]) == (1.0, 3.0)
    # t(0.975, 2) = 4.3027; half-width 4.3027 * 1 / sqrt(3) = 2.4842
    assert s["ci95"] == pytest.approx((2.0 - 2.4842, 2.0 + 2.4842), abs=1e-4)


def test_verdicts_say_met_not_met_within_noise_and_incomplete():
    row = quality.Row("r", "c.yaml", "accuracy", 0.9, "", steps=10, seeds=3)
    assert quality.verdict(row, _entry(row, [0] * 3, [0.95, 0.96, 0.97])) == "met"
    assert quality.verdict(row, _entry(row, [0] * 3, [0.80, 0.81, 0.82])) == "not met"
    assert quality.verdict(row, _entry(row, [0] * 3, [0.85, 0.92, 0.96])) == "met, within noise"
    assert quality.verdict(row, _entry(row, [0] * 3, [0.80, 0.88, 0.95])) == "not met, within noise"
    assert quality.verdict(row, _entry(row, [0] * 2, [0.95, 0.96])) == "incomplete: 2 of 3 seeds"
    lower = quality.Row("r", "c.yaml", "mse", 0.4, "", steps=10, seeds=3, lower_is_better=True)
    assert quality.verdict(lower, _entry(lower, [0] * 3, [0.35, 0.36, 0.37])) == "met"


def test_an_encoder_is_chosen_by_its_validation_mean_not_its_test_mean(monkeypatch):
    rows = {
        name: quality.Row(name, "c.yaml", "mse", 0.4, "", steps=10, seeds=3, lower_is_better=True)
        for name in ("x-rnn", "x-gru")
    }
    monkeypatch.setattr(quality, "ROWS", rows)
    entries = {
        "x-rnn": _entry(rows["x-rnn"], [0.50, 0.51, 0.52], [0.30, 0.30, 0.30]),  # best on test
        "x-gru": _entry(rows["x-gru"], [0.40, 0.41, 0.42], [0.35, 0.35, 0.35]),  # best on validation
    }
    choice = quality.Choice("x", ("x-rnn", "x-gru"))
    assert quality.chosen(choice, entries) == "x-gru"
    entries["x-gru"]["seeds"].pop()
    assert quality.chosen(choice, entries) is None  # not before every candidate has its seeds


def test_an_average_over_folds_averages_each_seed_then_judges_the_mean(monkeypatch):
    rows = {
        name: quality.Row(name, "c.yaml", "ade", 0.5, "", steps=10, seeds=3, lower_is_better=True)
        for name in ("f1", "f2")
    }
    monkeypatch.setattr(quality, "ROWS", rows)
    average = quality.Average("folds", ("f1", "f2"), 0.45, "a reference", beside=("ade",))
    monkeypatch.setattr(quality, "AVERAGES", {"folds": average})
    entries = {
        "f1": _entry(rows["f1"], [0] * 3, [0.2, 0.3, 0.4]),
        "f2": _entry(rows["f2"], [0] * 3, [0.6, 0.7, 0.5]),
    }
    table = quality.average_table(entries)
    # seed averages 0.4, 0.5, 0.45: mean 0.45, sd 0.05; at most 0.45 is met
    assert (
        "| folds | ade | f1: 0.3000, f2: 0.6000 | 0.4500 ± 0.0500 | ≤ 0.4500 | met | ade 0.4500 |"
        in table[-1]
    )
    entries["f2"]["seeds"].pop()
    assert quality.average_table(entries) == []  # not before every fold has its seeds
    for average in quality.AVERAGES.values():
        assert all(name in quality.ROWS for name in average.rows)


def test_a_tie_on_the_metric_goes_to_the_lower_validation_loss(monkeypatch):
    rows = {name: quality.Row(name, "c.yaml", "accuracy", 1.0, "", steps=10, seeds=1) for name in ("a", "b")}
    monkeypatch.setattr(quality, "ROWS", rows)
    entries = {
        name: {"seeds": [{"seed": 0, "val": {"accuracy": 1.0, "loss": loss}, "test": {"accuracy": 0.9}}]}
        for name, loss in (("a", 0.30), ("b", 0.05))
    }
    assert quality.chosen(quality.Choice("x", ("a", "b")), entries) == "b"


def _toy_row(monkeypatch, *checkouts) -> list[int]:
    """A row "toy" of 3 seeds declared in each checkout, whose seeds score 0.6 + seed/100 without training;
    the seeds run, in order."""
    for root in checkouts:
        (root / "configs").mkdir(parents=True)
        (root / "benchmarks").mkdir()
        (root / "configs" / "c.yaml").write_text("task: classify\n")
    row = quality.Row("toy", "c.yaml", "accuracy", 0.5, "a reference", steps=10, seeds=3)
    monkeypatch.setitem(quality.ROWS, "toy", row)
    ran: list[int] = []

    def run_seed(row, root, seed):
        ran.append(seed)
        scores = {"accuracy": 0.6 + seed / 100}
        return {
            "seed": seed,
            "val": scores,
            "test": scores,
            "steps": 10,
            "train_seconds": 1.0,
            "split_sizes": {"test": 5000},
            "dataset": "toy",
            "encoder": "gru",
            "date": "2026-12-06",
            "extras": {},
        }

    monkeypatch.setattr(quality, "run_seed", run_seed)
    return ran


def test_the_runner_records_missing_seeds_only_and_drops_seeds_of_an_older_declaration(monkeypatch, tmp_path):
    ran = _toy_row(monkeypatch, tmp_path)
    assert quality.main(["--root", str(tmp_path), "--row", "toy", "--seeds", "2"]) == 0
    assert quality.main(["--root", str(tmp_path), "--row", "toy"]) == 0
    assert ran == [0, 1, 2]
    results = json.loads((tmp_path / "benchmarks" / "results.json").read_text())
    assert [s["seed"] for s in results["rows"]["toy"]["seeds"]] == [0, 1, 2]
    table = (tmp_path / "benchmarks" / "RESULTS.md").read_text()
    assert "| toy | toy | gru | accuracy (test) | 0.6100 ± 0.0100 | 0.6000–0.6200 |" in table
    (tmp_path / "configs" / "c.yaml").write_text("task: classify\nmodel:\n  encoder: lstm\n")
    assert quality.main(["--root", str(tmp_path), "--row", "toy", "--seeds", "1"]) == 0
    results = json.loads((tmp_path / "benchmarks" / "results.json").read_text())
    assert ran == [0, 1, 2, 0] and len(results["rows"]["toy"]["seeds"]) == 1
    assert quality.main(["--root", str(tmp_path), "--row", "toy", "--seed", "2", "--seed", "0"]) == 0
    results = json.loads((tmp_path / "benchmarks" / "results.json").read_text())
    assert ran == [0, 1, 2, 0, 2] and [s["seed"] for s in results["rows"]["toy"]["seeds"]] == [0, 2]


def test_the_runner_refuses_a_row_whose_config_has_a_wall_clock_budget(monkeypatch, tmp_path, capsys):
    from seqlab.cli import main

    ran = _toy_row(monkeypatch, tmp_path)
    (tmp_path / "configs" / "c.yaml").write_text("task: classify\ntrain:\n  max_minutes: 3\n")
    monkeypatch.chdir(tmp_path)
    assert main(["bench", "quality", "--row", "toy"]) == 2
    assert capsys.readouterr().err.endswith(
        "toy is declared in steps (10), but configs/c.yaml sets train.max_minutes, which would stop its "
        "seeds by the clock: remove it from the config\n"
    )
    assert ran == [] and not (tmp_path / "benchmarks" / "results.json").exists()


def test_the_runner_refuses_a_negative_seed(capsys):
    assert quality.main(["--row", "sms-spam-gru", "--seed", "-1"]) == 2
    assert capsys.readouterr().err == "error: --seed -1: seeds count from 0\n"


def test_seeds_run_side_by_side_in_two_checkouts_merge_into_one_row(monkeypatch, tmp_path, capsys):
    here, there = tmp_path / "here", tmp_path / "there"
    ran = _toy_row(monkeypatch, here, there)
    assert quality.main(["--root", str(here), "--row", "toy", "--seed", "0", "--seed", "1"]) == 0
    assert quality.main(["--root", str(there), "--row", "toy", "--seed", "1", "--seed", "2"]) == 0
    capsys.readouterr()
    assert quality.main(["--root", str(here), "--merge", str(there / "benchmarks" / "results.json")]) == 0
    assert capsys.readouterr().out == "toy: seed 2 added\n"  # seed 1 is here already
    results = json.loads((here / "benchmarks" / "results.json").read_text())
    assert ran == [0, 1, 1, 2] and [s["seed"] for s in results["rows"]["toy"]["seeds"]] == [0, 1, 2]
    assert (
        "| toy | toy | gru | accuracy (test) | 0.6100 ± 0.0100 |"
        in (here / "benchmarks" / "RESULTS.md").read_text()
    )
    (there / "configs" / "c.yaml").write_text("task: classify\nmodel:\n  encoder: lstm\n")
    assert quality.main(["--root", str(there), "--row", "toy", "--seeds", "3"]) == 0
    capsys.readouterr()
    assert quality.main(["--root", str(here), "--merge", str(there / "benchmarks" / "results.json")]) == 0
    assert capsys.readouterr().out == ""  # declared differently there: nothing added
    merged = json.loads((here / "benchmarks" / "results.json").read_text())
    assert merged["rows"]["toy"] == results["rows"]["toy"]
    assert quality.main(["--root", str(here), "--merge", str(tmp_path / "none.json")]) == 2
    assert capsys.readouterr().err.startswith("error: --merge ")


def test_folds_deal_the_training_data_into_disjoint_stratified_validation_parts():
    train = [{"text": f"t{i}", "label": "ab"[i % 4 == 0]} for i in range(40)]
    test = [{"text": "held", "label": "a"}]
    parts = [
        complete_splits("classify", {"train": list(train), "test": test}, 0.0, 0.0, 0, folds=5, fold=k)
        for k in range(5)
    ]
    vals = [{r["text"] for r in p["val"]} for p in parts]
    assert set().union(*vals) == {r["text"] for r in train} and sum(map(len, vals)) == 40
    for p, val in zip(parts, vals):
        assert len(val) == 8 and sum(r["label"] == "b" for r in p["val"]) == 2  # 10 b's in 40
        assert not val & {r["text"] for r in p["train"]}


def test_copies_of_one_text_land_in_one_split():
    train = [{"text": f"t{i % 50}", "label": "ab"[i % 2]} for i in range(200)]
    splits = complete_splits("classify", {"train": train}, 0.2, 0.2, seed=0)
    seen = [{r["text"] for r in splits[s]} for s in ("train", "val", "test")]
    assert not (seen[0] & seen[1] or seen[0] & seen[2] or seen[1] & seen[2])


@pytest.mark.parametrize(
    "folds, fold, given, message",
    [
        (1, 0, {}, "folds is 0 (no cross-validation) or at least 2"),
        (5, 5, {}, "fold counts from 0 to folds - 1"),
        (5, 0, {"val": [{"text": "v", "label": "a"}]}, "brings its own validation split"),
    ],
)
def test_folds_that_cannot_be_dealt_are_refused(folds, fold, given, message):
    train = [{"text": f"t{i}", "label": "a"} for i in range(10)]
    with pytest.raises(UserError, match=re.escape(message)):
        complete_splits("classify", {"train": train, **given}, 0.1, 0.1, 0, folds=folds, fold=fold)


def test_a_small_stratified_set_still_gets_a_validation_split():
    """Ten classes of five series at data.val_fraction=0.1: every class rounds to none, and the split
    takes one series from each of five classes instead of refusing the run."""
    train = [{"text": f"s{i}", "label": str(i % 10)} for i in range(50)]
    splits = complete_splits("classify", {"train": train, "test": train[:1]}, 0.1, 0.0, seed=0)
    assert len(splits["val"]) == 5 and len({r["label"] for r in splits["val"]}) == 5
    assert len(splits["train"]) == 45
