"""Classifying numeric series with the text classifier's head: UCR/UEA files, stacked points, several
channels. (Every encoder, padding of variable lengths and reloading: tests/test_contract.py.)"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import shared, tiny

from seqlab.cli import main
from seqlab.data.datasets import load_dataset
from seqlab.data.splits import read_records
from seqlab.errors import UserError
from seqlab.pipeline import fit, load
from seqlab.tasks import SeriesClassifyTask

pytest.importorskip("sktime")


def test_ucr_table_and_ts_files_are_read(tmp_path):
    ecg = read_records(
        "classify", shared("ucr-ecg200", "ECG200_TRAIN.txt"), tiny("classify", **{"data.format": "ucr"}).data
    )
    assert len(ecg) == 100 and ecg[0]["values"].shape == (96, 1)
    assert sorted({r["label"] for r in ecg}) == ["-1", "1"]
    motions = load_dataset("basic-motions")
    assert motions["train"][0]["values"].shape == (100, 6) and len(motions["test"]) == 40


def test_stacked_points_make_fewer_wider_steps_and_reload(vowels, tmp_path):
    config = tiny("classify", "gru", **{"data.stack_frames": 4})
    pipeline = fit(config, tmp_path / "run", vowels)
    assert load(tmp_path / "run").config.data.input == "series"  # as the records hold: no data.input given
    record = vowels["test"][0]
    steps = pipeline.task.encode([record], with_targets=False)[0]["values"]  # (ceil(T/4), 12*4)
    unstacked = SeriesClassifyTask(tiny("classify", "gru"), stats=pipeline.task.stats)
    single = unstacked.encode([record], False)[0]["values"]
    assert steps.shape == (-(-len(record["values"]) // 4), 48)
    torch.testing.assert_close(steps[0], single[:4].flatten())
    records = [{"values": r["values"]} for r in vowels["test"][:8]]
    assert load(tmp_path / "run").predict(records) == pipeline.predict(records)


def test_predict_command_on_a_ucr_file(tmp_path, capsys):
    lines = shared("ucr-ecg200", "ECG200_TRAIN.txt").read_text().splitlines()
    (tmp_path / "train.txt").write_text("\n".join(lines[:80]) + "\n")
    (tmp_path / "test.txt").write_text("\n".join(lines[80:]) + "\n")
    run = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--task",
                "classify",
                "--data",
                str(tmp_path),
                "--out",
                str(run),
                "data.format=ucr",
                "model.hidden_size=8",
                "model.embed_dim=8",
                "train.max_steps=2",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["predict", str(run), "--data", str(tmp_path / "test.txt")]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 20 and {r["label"] for r in rows} <= {"-1", "1"}


def test_a_series_with_other_channels_is_refused(vowels, tmp_path):
    from seqlab.errors import UserError

    pipeline = fit(tiny("classify", "rnn", **{"train.max_steps": 1}), tmp_path / "run", vowels)
    with pytest.raises(UserError, match="12"):
        pipeline.predict([{"values": np.zeros((10, 3))}])


def test_bad_ucr_line_exits_2(tmp_path, capsys):
    path = tmp_path / "bad.txt"
    path.write_text("1 0.5 0.25\n2 0.5 high\n")
    assert (
        main(
            [
                "train",
                "--task",
                "classify",
                "--data",
                str(path),
                "--out",
                str(tmp_path / "run"),
                "data.format=ucr",
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "bad.txt:2:" in err and err.count("\n") == 1 and not (tmp_path / "run").exists()


def test_natops_poses_are_read_from_the_cache():
    shared("uea-natops")
    natops = load_dataset("natops")
    assert natops["train"][0]["values"].shape == (51, 24)  # x, y, z of 8 joints over 51 frames
    assert len(natops["test"]) == 180 and len(natops["train"]) + len(natops["val"]) == 180
    assert sorted({r["label"] for r in natops["test"]}) == ["1.0", "2.0", "3.0", "4.0", "5.0", "6.0"]


def test_jitter_and_channel_scaling_alter_training_batches_only(vowels):
    config = tiny("classify", "gru", **{"data.jitter": 0.1, "data.scale_jitter": 0.2})
    task = SeriesClassifyTask(config)
    task.fit(vowels["train"])
    examples = task.encode(vowels["train"][:8])

    def drawn(generator):
        return torch.cat([batch.inputs.flatten() for _, batch in task.batches(examples, 4, generator)])

    plain = torch.cat([batch.inputs.flatten() for _, batch in task.batches(examples, 4)])
    first, again = drawn(torch.Generator().manual_seed(1)), drawn(torch.Generator().manual_seed(1))
    assert torch.equal(first, again)  # the same draws from the same seed
    assert sorted(first.tolist()) != sorted(plain.tolist())  # the training copies moved
    still = torch.cat([batch.inputs.flatten() for _, batch in task.batches(examples, 4)])
    assert torch.equal(plain, still)  # evaluation reads every example as it is
    with pytest.raises(UserError, match="data.jitter must be at least 0"):
        tiny("classify", **{"data.jitter": -1})
