"""Music: JSB Chorales piano rolls, next-frame modelling with every encoder, and MIDI written by
`seqlab generate` that pretty_midi reads back."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import ENCODERS, shared, tiny
from seqlab.cli import main
from seqlab.data import music
from seqlab.errors import UserError


@pytest.fixture(scope="module")
def chorales() -> dict[str, list]:
    """The first chorales of each JSB split (quarter-note grid)."""
    splits = music.read_roll_json(shared("jsb-chorales", "jsb-chorales-quarter.json"))
    return {"train": splits["train"][:12], "val": splits["val"][:4], "test": splits["test"][:4]}


def test_registry_keeps_the_published_split():
    from seqlab.data.datasets import load_dataset

    shared("jsb-chorales")
    splits = load_dataset("jsb-chorales")
    assert {k: len(v) for k, v in splits.items()} == {"train": 229, "val": 76, "test": 77}
    assert sum(len(piece) for piece in splits["test"]) == 4725


def test_roll_matrix_and_range(chorales):
    piece = chorales["train"][0]
    roll = music.roll_matrix(piece, 21, 108, "piece 1")
    assert roll.shape == (len(piece), 88)
    assert sorted(np.flatnonzero(roll[0]) + 21) == sorted(piece[0])
    with pytest.raises(UserError, match="pitch 60 lies outside data.pitch_low=61"):
        music.roll_matrix(piece, 61, 108, "piece 1")


def test_midi_round_trip(tmp_path, chorales):
    import pretty_midi

    roll = music.roll_matrix(chorales["train"][0], 21, 108, "piece")
    music.write_midi(roll, tmp_path / "c.mid", 21, seconds_per_frame=0.5)
    back = pretty_midi.PrettyMIDI(str(tmp_path / "c.mid")).get_piano_roll(fs=2)[21:109].T > 0  # (T, 88)
    np.testing.assert_array_equal(back[: len(roll)], roll > 0)


@pytest.mark.parametrize("encoder", ENCODERS)
def test_every_encoder_models_frames(tmp_path, chorales, encoder):
    from seqlab.pipeline import fit, load

    config = tiny("lm", encoder, **{"data.input": "music", "model.bidirectional": False})
    pipeline = fit(config, tmp_path / "run", splits={k: list(v) for k, v in chorales.items()})
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert 0 < metrics["nll"] < 88 * np.log(2) * 1.5 and metrics["split"] == "test"
    again = load(tmp_path / "run")
    assert again.evaluate(chorales["test"])["nll"] == pytest.approx(pipeline.evaluate(chorales["test"])["nll"],
                                                                    rel=1e-5)


def test_nll_counts_frames_two_to_t(chorales):
    """Untrained logits of zero give every pitch probability 1/2: the NLL is 88 log 2 per predicted frame."""
    import torch

    from seqlab.model import build_model
    from seqlab.tasks import PianoRollTask

    config = tiny("lm", "gru", **{"data.input": "music", "model.bidirectional": False})
    task = PianoRollTask(config)
    model = build_model(config, **task.model_sizes())
    torch.nn.init.zeros_(model.head.out.weight)
    torch.nn.init.zeros_(model.head.out.bias)
    import contextlib

    nll = task.evaluate(model, task.encode(chorales["test"]), 3, contextlib.nullcontext)["nll"]
    assert nll == pytest.approx(88 * np.log(2), rel=1e-5)


def test_generate_writes_midi_and_refuses_bad_requests(tmp_path, chorales, capsys):
    import pretty_midi

    path = tmp_path / "rolls.json"
    path.write_text(json.dumps({"train": chorales["train"], "valid": chorales["val"], "test": chorales["test"]}))
    run = tmp_path / "run"
    assert main(["train", "--task", "lm", "--data", str(path), "data.input=music", "--encoder", "gru",
                 "--out", str(run), "model.hidden_size=16", "train.max_steps=3"]) == 0
    out = tmp_path / "new.mid"
    assert main(["generate", str(run), "--prompt", "60 64 67", "--frames", "16", "--seed", "1",
                 "--out", str(out)]) == 0
    notes = pretty_midi.PrettyMIDI(str(out)).instruments[0].notes
    assert notes and {60, 64, 67} <= {n.pitch for n in notes if n.start == 0}
    assert (tmp_path / "new.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"  # the piano-roll plot
    assert main(["generate", str(run), "--out", str(tmp_path / "x.txt")]) == 2
    assert "give --out FILE.mid" in capsys.readouterr().err
    assert main(["generate", str(run), "--prompt", "200", "--out", str(tmp_path / "y.mid")]) == 2
    assert "pitch 200 lies outside" in capsys.readouterr().err
    assert not (tmp_path / "y.mid").exists()


def test_a_pitch_out_of_range_stops_training_before_the_run_exists(tmp_path, capsys):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"train": [[[60], [130]]] * 4, "valid": [[[60], [62]]], "test": [[[60], [62]]]}))
    assert main(["train", "--task", "lm", "--data", str(path), "data.input=music", "--out", str(tmp_path / "r")]) == 2
    assert "frame 2: pitch 130 lies outside" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_nade_head_is_a_normalised_joint_distribution():
    """Over 4 pitches, the NADE's probabilities of all 16 frames sum to one, and its samples are frames."""
    from itertools import product

    import torch

    from seqlab.data.batch import Batch
    from seqlab.encoders import EncoderOutput
    from seqlab.heads.pitches import NADEHead

    torch.manual_seed(0)
    head = NADEHead(in_dim=6, num_pitches=4, nade_hidden=5)
    torch.nn.init.normal_(head.W, std=1.0)
    torch.nn.init.normal_(head.V, std=1.0)
    frames = torch.tensor(list(product((0.0, 1.0), repeat=4)))  # (16, 4)
    hidden = torch.randn(1, 1, 6).expand(16, 1, 6)
    batch = Batch(inputs=frames[:, None], mask=torch.ones(16, 1, dtype=torch.bool), targets=frames[:, None])
    with torch.no_grad():
        logits = head(EncoderOutput(hidden=hidden, pooled=hidden[:, 0]), batch).logits  # (16, 1, 4)
    nll = torch.nn.functional.binary_cross_entropy_with_logits(logits, batch.targets, reduction="none").sum(-1)
    assert float(torch.exp(-nll).sum()) == pytest.approx(1.0, abs=1e-5)
    drawn = head.sample(hidden[:3, 0], torch.Generator().manual_seed(1))
    assert drawn.shape == (3, 4) and set(drawn.unique().tolist()) <= {0.0, 1.0}


@pytest.mark.parametrize("encoder", ("lstm", "transformer"))
def test_nade_head_trains_and_generates(tmp_path, chorales, encoder, capsys):
    import pretty_midi

    path = tmp_path / "rolls.json"
    path.write_text(json.dumps({"train": chorales["train"], "valid": chorales["val"], "test": chorales["test"]}))
    run = tmp_path / "run"
    assert main(["train", "--task", "lm", "--data", str(path), "data.input=music", "--encoder", encoder,
                 "--out", str(run), "model.hidden_size=16", "model.num_heads=2", "model.nade_hidden=8",
                 "train.max_steps=3"]) == 0
    assert 0 < json.loads((run / "metrics.json").read_text())["nll"] < 88 * np.log(2) * 1.5
    assert main(["generate", str(run), "--prompt", "60 64 67", "--frames", "8", "--out", str(tmp_path / "n.mid")]) == 0
    assert pretty_midi.PrettyMIDI(str(tmp_path / "n.mid")).instruments[0].notes
