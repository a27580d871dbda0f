"""`seqlab compare`: every encoder on the same splits and budget over seeds, the noise test, the
report files, failures and interruptions kept as rows, and bad input."""

from __future__ import annotations

import json

import pytest
from conftest import tiny

from seqlab.cli import main
from seqlab.compare import Trial, compare, markdown, summarise
from seqlab.data.datasets import load_splits


def _trial(encoder: str, seed: int, accuracy: float, status: str = "ok") -> Trial:
    return Trial(
        encoder,
        seed,
        f"runs/{encoder}-{seed}",
        status,
        {"accuracy": accuracy, "loss": 1 - accuracy},
        parameters=100,
        train_seconds=10.0,
        steps=5,
        items_per_second=50.0,
        latency_ms=1.0,
    )


def test_ranking_and_the_noise_test():
    trials = [_trial("gru", s, a) for s, a in enumerate((0.90, 0.91, 0.92))]
    trials += [_trial("lstm", s, a) for s, a in enumerate((0.80, 0.81, 0.79))]  # clearly worse
    trials += [_trial("rnn", s, a) for s, a in enumerate((0.89, 0.93, 0.90))]  # as good, within the noise
    trials += [_trial("transformer", 0, 0.5, "failed: RuntimeError: boom")]
    summary = summarise(trials, "accuracy")
    assert [summary[e]["rank"] for e in ("gru", "rnn", "lstm")] == [1, 2, 3]
    assert summary["gru"]["metrics"]["accuracy"]["mean"] == pytest.approx(0.91)
    assert summary["gru"]["metrics"]["accuracy"]["std"] == pytest.approx(0.01)
    assert summary["lstm"]["beyond_noise"] is True and summary["lstm"]["p_vs_best"] < 0.05
    assert summary["rnn"]["beyond_noise"] is False
    assert summary["transformer"] == {**summary["transformer"], "runs": 0, "failed": 1}
    assert "rank" not in summary["transformer"]
    by_loss = summarise(trials, "loss")  # lower is better: the same order
    assert [by_loss[e]["rank"] for e in ("gru", "rnn", "lstm")] == [1, 2, 3]


def test_the_terminal_table_wraps_its_cells_at_80_columns():
    from rich.console import Console

    from seqlab.compare import table

    trials = [
        _trial(e, s, 0.9 - 0.01 * s) for e in ("rnn", "lstm", "gru", "transformer", "tcn") for s in range(3)
    ]
    result = {
        "task": "classify",
        "data": "runs/compare-classify-20261206-071500/gunpoint",
        "seeds": 3,
        "budget_minutes": 0.2,
        "metric": "accuracy",
        "summary": summarise(trials, "accuracy"),
    }
    console = Console(width=80, record=True)
    console.print(table(result))
    shown = console.export_text()
    assert max(len(line) for line in shown.splitlines()) <= 80 and "…" not in shown
    assert all(name[:6] in shown for name in ("rnn", "lstm", "gru", "transformer", "tcn"))  # folded, not cut


def test_encoders_at_or_below_the_baseline_are_not_ranked_and_the_conclusion_says_so():
    from seqlab.compare import baseline, conclusion

    majority = {"baseline": "the majority class", "accuracy": 0.5, "loss": 0.5}
    chance = [
        _trial(e, s, a)
        for e, s, a in (("gru", 0, 0.49), ("gru", 1, 0.5), ("lstm", 0, 0.48), ("lstm", 1, 0.5))
    ]
    for trial in chance:
        trial.baseline = majority
    summary = summarise(chance, "accuracy")
    assert not any("rank" in s for s in summary.values())
    result = {"metric": "accuracy", "summary": summary, "baseline": baseline(chance, "accuracy")}
    assert conclusion(result).startswith("No encoder beat the baseline (the majority class: accuracy 0.5)")

    learned = [_trial("gru", s, a) for s, a in enumerate((0.90, 0.91, 0.92))]
    learned += [_trial("rnn", s, a) for s, a in enumerate((0.89, 0.93, 0.90))]
    for trial in learned + chance[2:]:
        trial.baseline = majority
    summary = summarise(learned + chance[2:], "accuracy")
    assert summary["lstm"]["beats_baseline"] is False and "rank" not in summary["lstm"]
    said = conclusion({"metric": "accuracy", "summary": summary, "baseline": majority})
    assert said == (
        "gru ranks first; rnn is within the noise of it; lstm did not beat the baseline (the majority "
        "class). At this budget the ranked encoders are interchangeable."
    )


def test_one_seed_gives_no_noise_estimate():
    summary = summarise([_trial("gru", 0, 0.9), _trial("lstm", 0, 0.8)], "accuracy")
    assert summary["lstm"]["p_vs_best"] is None and summary["lstm"]["beyond_noise"] is None


def test_compare_trains_every_encoder_and_seed_on_the_same_splits(splits, tmp_path):
    config = tiny("classify", **{"train.max_steps": 3})
    result = compare(config, ["rnn", "transformer"], 2, 1.0, tmp_path / "cmp", splits=splits["classify"])
    assert [(t["encoder"], t["seed"], t["status"]) for t in result["trials"]] == [
        ("rnn", 0, "ok"),
        ("rnn", 1, "ok"),
        ("transformer", 0, "ok"),
        ("transformer", 1, "ok"),
    ]
    for trial in result["trials"]:
        run = tmp_path / "cmp" / f"{trial['encoder']}-seed{trial['seed']}"
        assert json.loads((run / "metrics.json").read_text())["accuracy"] == trial["metrics"]["accuracy"]
        assert (run / "config.yaml").read_text().count(f"seed: {trial['seed']}") == 1
        assert json.loads((run / "meta.json").read_text())["split_sizes"] == {
            "train": 100,
            "val": 30,
            "test": 30,
        }
        assert trial["parameters"] > 0 and trial["items_per_second"] > 0 and trial["latency_ms"] > 0
    saved = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    assert saved["summary"]["rnn"]["runs"] == 2 and saved["metric"] == "accuracy"
    ranks = {saved["summary"][e].get("rank") for e in ("rnn", "transformer")}  # three steps: maybe at chance
    assert ranks <= {1, 2, None} and all(
        "rank" in s or s["beats_baseline"] is False for s in saved["summary"].values()
    )
    assert saved["baseline"]["baseline"] == "the majority class"
    assert (tmp_path / "cmp" / "compare.png").stat().st_size > 0
    page = (tmp_path / "cmp" / "compare.html").read_text()
    assert "compare.png" in page and "rnn-seed1/report.html" in page
    lines = markdown(result).splitlines()
    assert (
        lines[0].startswith("| rank | encoder | accuracy |") and len(lines) == 6 and lines[-1].endswith(".")
    )
    assert lines[2].endswith("| best |") or lines[2].endswith("| not above the baseline |")


def _case(task: str, request) -> tuple:
    """A tiny config and its splits for `task`, from the shared slices of real data; records held out a
    few at a time (what is checked is the comparison's and the search's bookkeeping, not a score)."""
    config, data = _whole_case(task, request)
    if isinstance(data["val"], list) and len(data["val"]) > 1:
        data = {name: records if name == "train" else records[:HELD_OUT] for name, records in data.items()}
    return config, data


HELD_OUT = 8  # records of each held-out split in `_case`


def _whole_case(task: str, request) -> tuple:
    if task == "forecast":
        config = tiny(
            "forecast",
            **{
                "data.path": str(request.getfixturevalue("ett_file")),
                "data.lookback": 48,
                "data.horizon": 12,
                "data.eval_stride": 24,
                "model.patch_len": 8,
                "model.patch_stride": 4,
            },
        )
        return config, load_splits("forecast", config.data)
    if task == "music":
        music = tiny("lm", **{"data.input": "music", "model.bidirectional": False})
        return music, request.getfixturevalue("chorales")
    if task == "extract":
        return tiny("extract", **{"data.sentence_length": 30}), request.getfixturevalue("bbc")
    if task == "anomaly":
        return (
            tiny(
                "anomaly",
                **{"data.lookback": 32, "data.horizon": 1, "model.patch_len": 8, "model.patch_stride": 4},
            ),
            request.getfixturevalue("ecg"),
        )
    settings = {"data.max_length": 40} if task == "seq2seq" else {}
    return tiny(task, **settings), request.getfixturevalue("splits")[task]


@pytest.mark.parametrize("task", ["tag", "lm", "seq2seq", "extract", "forecast", "anomaly", "music"])
def test_compare_and_auto_serve_other_tasks(task, request, tmp_path):
    """The same comparison and search over tagging, language modelling, translation, summarisation,
    forecasting, anomaly detection and music."""
    from seqlab.search import search

    config, data = _case(task, request)
    result = compare(config, ["gru", "transformer"], 1, 1.0, tmp_path / "cmp", splits=data)
    metric = result["metric"]
    assert [t["status"] for t in result["trials"]] == ["ok", "ok"]
    assert all(metric in t["metrics"] for t in result["trials"])
    assert len([line for line in markdown(result).splitlines() if line.startswith("|")]) == 4
    search(config, tmp_path / "auto", 1.0, data, max_trials=2)
    found = json.loads((tmp_path / "auto" / "search.json").read_text())
    assert found["metric"] == metric and found["trials"] == 2
    assert metric in json.loads((tmp_path / "auto" / "metrics.json").read_text())


def test_equal_parameters_sizes_every_encoder_to_the_first(splits, tmp_path):
    config = tiny("classify", **{"train.max_steps": 2, "model.hidden_size": 32})
    result = compare(
        config,
        ["lstm", "rnn", "transformer"],
        1,
        1.0,
        tmp_path / "cmp",
        equal="params",
        splits=splits["classify"],
    )
    counts = {t["encoder"]: t["parameters"] for t in result["trials"]}
    sizes = {t["encoder"]: t["hidden_size"] for t in result["trials"]}
    assert sizes["lstm"] == 32 and sizes["rnn"] > 32  # an RNN cell has a quarter of an LSTM's weights
    assert all(abs(c - counts["lstm"]) / counts["lstm"] < 0.15 for c in counts.values())


def test_a_failed_run_is_a_row_and_an_interrupt_keeps_the_finished_ones(splits, tmp_path, monkeypatch):
    from seqlab import pipeline

    real_fit, calls = pipeline.fit, []

    def fit(config, out, given):
        calls.append(config.model.encoder)
        if config.model.encoder == "gru":
            raise RuntimeError("out of memory")
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_fit(config, out, given)

    monkeypatch.setattr(pipeline, "fit", fit)
    config = tiny("classify", **{"train.max_steps": 2})
    with pytest.raises(KeyboardInterrupt):
        compare(config, ["rnn", "gru", "lstm"], 1, 1.0, tmp_path / "cmp", splits=splits["classify"])
    saved = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    assert [(t["encoder"], t["status"]) for t in saved["trials"]] == [
        ("rnn", "ok"),
        ("gru", "failed: RuntimeError: out of memory"),
        ("lstm", "interrupted"),
    ]
    assert saved["summary"]["gru"]["failed"] == 1 and saved["summary"]["rnn"]["runs"] == 1


@pytest.mark.parametrize(
    "args,message",
    [
        (["--encoders", "lstm,cnn"], "unknown encoder 'cnn' in --encoders"),
        (["--budget-minutes", "0.00001"], "too small to finish one evaluation"),
        (["--budget-minutes", "-1"], "--budget-minutes: must be more than 0"),
        (["--seeds", "0"], "--seeds: must be at least 1"),
    ],
)
def test_compare_refuses_bad_input(args, message, spam_file, tmp_path, capsys):
    code = main(
        ["compare", "--task", "classify", "--data", str(spam_file), "--out", str(tmp_path / "cmp"), *args]
    )
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "cmp").exists()
