from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch
from conftest import tiny

from seqlab.errors import UserError
from seqlab.pipeline import fit
from seqlab.training.optim import learning_rate


def _meta(run):
    return json.loads((run / "meta.json").read_text())


def test_resume_continues_from_the_last_checkpoint(splits, tmp_path):
    run = tmp_path / "run"
    fit(tiny("classify", "gru", **{"train.max_steps": 4, "train.eval_every": 2}), run, splits["classify"])
    assert _meta(run)["steps"] == 4
    fit(
        tiny("classify", "gru", **{"train.max_steps": 6, "train.eval_every": 2}),
        run,
        splits["classify"],
        resume=True,
    )
    assert _meta(run)["steps"] == 6
    with (run / "history.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [int(r["step"]) for r in rows] == [2, 4, 6]
    # each row counts the evaluations before it (none before the first); resuming carries the sum on
    evaluating = [float(r["eval_seconds"]) for r in rows]
    assert evaluating[0] == 0.0 < evaluating[1] <= evaluating[2] < float(rows[2]["seconds"])


def test_time_budget_stops_training(splits, tmp_path):
    fit(
        tiny("lm", "lstm", **{"train.max_steps": 10_000, "train.max_minutes": 1e-9}),
        tmp_path / "r",
        splits["lm"],
    )
    meta = _meta(tmp_path / "r")
    assert meta["stopped_by"] == "time budget" and meta["steps"] == 1


def test_learning_rate_warms_up_over_its_share_then_decays_to_the_floor():
    rates = [learning_rate(1e-3, done, warmup=0.1) for done in (0.05, 0.1, 0.55, 1.0)]
    assert rates == pytest.approx([5e-4, 1e-3, 5.5e-4, 1e-4])


def test_early_stopping_after_patience(splits, tmp_path):
    config = tiny(
        "classify",
        "rnn",
        **{"train.lr": 1e-12, "train.max_steps": 100, "train.eval_every": 1, "train.patience": 1},
    )  # a rate too small to change a prediction: validation accuracy never improves
    fit(config, tmp_path / "r", splits["classify"])
    meta = _meta(tmp_path / "r")
    assert meta["stopped_by"] == "early stopping" and meta["steps"] == 3


def test_accumulation_and_epochs_count_optimizer_steps(splits, tmp_path):
    config = tiny("classify", "lstm", **{"train.max_steps": None, "train.epochs": 2, "train.accumulate": 2})
    fit(config, tmp_path / "r", splits["classify"])
    # 100 training texts in batches of 8 → 13 micro-batches → 6 steps of 2 per epoch
    assert _meta(tmp_path / "r")["steps"] == 12


def test_init_from_reuses_a_language_models_encoder(splits, tmp_path):
    from safetensors.torch import load_file

    lm_text = {
        "train": [" ".join(r["text"] for r in splits["classify"]["train"])],
        "val": [" ".join(r["text"] for r in splits["classify"]["val"])],
    }
    fit(
        tiny("lm", "lstm", **{"data.tokenizer": "word", "model.bidirectional": False}),
        tmp_path / "lm",
        lm_text,
    )
    config = tiny(
        "classify",
        "rnn",
        **{"train.init_from": str(tmp_path / "lm"), "train.lr": 1e-12, "model.bidirectional": False},
    )
    pipeline = fit(config, tmp_path / "clf", splits["classify"])
    assert pipeline.config.model.encoder == "lstm" and pipeline.config.data.tokenizer == "word"
    lm, clf = (
        load_file(str(tmp_path / "lm" / "model.safetensors")),
        load_file(str(tmp_path / "clf" / "model.safetensors")),
    )
    assert all(torch.allclose(lm[k], clf[k], atol=1e-6) for k in lm if k.startswith("encoder."))


def test_report_and_confusion_matrix(splits, tmp_path):
    fit(tiny("classify", "gru"), tmp_path / "r", splits["classify"])
    confusion = json.loads((tmp_path / "r" / "confusion.json").read_text())
    assert confusion["labels"] == ["ham", "spam"]
    assert sum(map(sum, confusion["matrix"])) == len(splits["classify"]["test"])
    assert (tmp_path / "r" / "plots" / "confusion.png").exists()
    assert "Held-out metrics" in (tmp_path / "r" / "report.html").read_text()


def test_monitor_picks_the_metric_for_the_best_checkpoint(splits, tmp_path):
    config = tiny("classify", "gru", **{"train.max_steps": 6, "train.eval_every": 2, "train.monitor": "loss"})
    fit(config, tmp_path / "r", splits["classify"])
    with (tmp_path / "r" / "history.csv").open() as f:
        losses = [float(row["val_loss"]) for row in csv.DictReader(f)]
    best = json.loads((tmp_path / "r" / "checkpoints" / "last.json").read_text())["best"]
    assert len(losses) == 3 and best == pytest.approx(min(losses))
    with pytest.raises(UserError, match="train.monitor must be one of"):
        tiny("classify", "gru", **{"train.monitor": "speed"})


def test_ema_keeps_a_moving_average_of_the_weights_across_resume(splits, tmp_path):
    from safetensors.torch import load_file

    run = tmp_path / "run"
    settings = {"train.ema": 0.9, "train.eval_every": 1, "train.warmup": 0}
    fit(tiny("classify", "gru", **settings, **{"train.max_steps": 1}), run, splits["classify"])
    first = load_file(_checkpoint(run) / "weights.safetensors")
    fit(tiny("classify", "gru", **settings, **{"train.max_steps": 2}), run, splits["classify"], resume=True)
    second, ema = (
        load_file(_checkpoint(run) / "weights.safetensors"),
        load_file(_checkpoint(run) / "ema.safetensors"),
    )
    assert any(not torch.equal(first[name], second[name]) for name in first)
    for name, weight in second.items():  # the first step's weights, then 0.9 of them and 0.1 of the second's
        assert torch.allclose(ema[f"module.{name}"], 0.9 * first[name] + 0.1 * weight, atol=1e-6), name
    kept = load_file(run / "model.safetensors")  # the best validated weights: averaged ones, never `second`
    averages = ({name: ema[f"module.{name}"] for name in kept}, first)
    assert any(all(torch.equal(kept[name], average[name]) for name in kept) for average in averages)


def _checkpoint(run: Path) -> Path:
    """The folder of the run's last checkpoint."""
    return run / "checkpoints" / json.loads((run / "checkpoints" / "last.json").read_text())["folder"]


def test_ema_is_checked(splits, tmp_path):
    with pytest.raises(UserError, match=r"train.ema must be in \[0, 1\)"):
        tiny("classify", "gru", **{"train.ema": 1.0})
    fit(tiny("classify", "gru", **{"train.max_steps": 1}), tmp_path / "r", splits["classify"])
    with pytest.raises(UserError, match="trained without train.ema"):
        fit(
            tiny("classify", "gru", **{"train.max_steps": 2, "train.ema": 0.9}),
            tmp_path / "r",
            splits["classify"],
            resume=True,
        )
    fit(
        tiny("classify", "gru", **{"train.max_steps": 1, "train.ema": 0.9}),
        tmp_path / "e",
        splits["classify"],
    )
    with pytest.warns(UserWarning, match="resuming with train.ema=0 drops it"):
        fit(
            tiny("classify", "gru", **{"train.max_steps": 2}), tmp_path / "e", splits["classify"], resume=True
        )


class _FlatWeights(torch.nn.Module):
    """Two weights that are views into one buffer, as cuDNN lays out a recurrent layer's on a GPU,
    and an output layer tied to an embedding."""

    def __init__(self):
        super().__init__()
        flat = torch.randn(10)
        self.w_ih, self.w_hh = (
            torch.nn.Parameter(flat[:6].view(2, 3)),
            torch.nn.Parameter(flat[6:].view(2, 2)),
        )
        self.embed = torch.nn.Embedding(3, 2)
        self.out = torch.nn.Linear(2, 3, bias=False)
        self.out.weight = self.embed.weight


def test_weights_in_one_buffer_and_tied_weights_round_trip(tmp_path):
    from safetensors.torch import load_file

    from seqlab.training import run_dir as rd

    saved, loaded = _FlatWeights(), _FlatWeights()
    assert saved.w_ih.untyped_storage().data_ptr() == saved.w_hh.untyped_storage().data_ptr()
    rd.save_weights(saved, tmp_path / "model.safetensors")
    assert rd.load_weights(loaded, tmp_path / "model.safetensors") == []
    assert torch.equal(saved.w_ih, loaded.w_ih) and torch.equal(saved.w_hh, loaded.w_hh)
    assert torch.equal(saved.embed.weight, loaded.out.weight)
    assert sorted(load_file(tmp_path / "model.safetensors")) == ["embed.weight", "w_hh", "w_ih"]  # tied: once
    with pytest.raises(UserError, match="does not fit the model"):
        rd.load_weights(torch.nn.Linear(2, 2), tmp_path / "model.safetensors")


def test_auto_precision_keeps_recurrent_models_in_fp32_on_a_gpu(monkeypatch):
    from seqlab.training import hardware

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: True)
    gpu = torch.device("cuda")
    assert hardware.use_bf16("auto", gpu) and not hardware.use_bf16("auto", gpu, recurrent=True)
    assert hardware.use_bf16("bf16", gpu, recurrent=True) and not hardware.use_bf16("fp32", gpu)
    monkeypatch.setattr(hardware, "cpu_has_bf16", lambda: True)
    assert hardware.use_bf16("auto", torch.device("cpu"), recurrent=True)  # oneDNN's bf16 LSTM is faster


def test_step_lines_go_to_the_runs_train_log_and_to_stderr_only_with_verbose(spam_file, tmp_path, capsys):
    from seqlab.cli import main

    args = ["train", "--task", "classify", "--data", str(spam_file), "--encoder", "gru"]
    settings = ["train.max_steps=4", "train.eval_every=2", "train.log_every=2", "model.hidden_size=8"]
    assert main([*args, "--out", str(tmp_path / "quiet"), *settings]) == 0
    log = (tmp_path / "quiet" / "train.log").read_text()
    assert "step 2/4" in log and "eval step 4:" in log
    assert "eval step" not in capsys.readouterr().err
    assert main([*args, "--out", str(tmp_path / "loud"), "-v", *settings]) == 0
    assert "eval step 4:" in capsys.readouterr().err


def test_taggers_read_each_words_characters_unless_told_not_to(splits):
    from seqlab.model import build_model
    from seqlab.tasks.text import TagTask

    for settings, expected in (({}, True), ({"model.char_dim": 0}, False)):
        config = tiny("tag", "gru", **settings)
        task = TagTask(config)
        task.fit(splits["tag"]["train"])
        model = build_model(config, **task.model_sizes())
        assert (model.adapter.chars is not None) is expected
    dna = tiny("tag", "gru", **{"data.input": "dna"})
    assert TagTask.char_dim(dna) == 0  # a base is one letter
