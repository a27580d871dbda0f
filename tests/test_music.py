"""Music: JSB Chorales piano rolls, next-frame modelling, and MIDI written by `seqlab generate` that
pretty_midi reads back. (Every encoder models frames, reloads and scores alike in tests/test_contract.py.)"""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml
from conftest import shared, tiny

from seqlab.cli import main
from seqlab.data import music
from seqlab.errors import UserError


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


def test_transposition_moves_whole_pieces_within_the_range(chorales):
    """data.transpose: training batches play each piece in another key; evaluation sees it as written."""
    import torch

    from seqlab.tasks import PianoRollTask

    config = tiny(
        "lm",
        "gru",
        **{"data.input": "music", "data.pitch_low": 45, "data.pitch_high": 96, "data.transpose": 6},
    )
    task = PianoRollTask(config)
    examples = task.encode(chorales["train"])
    generator = torch.Generator().manual_seed(0)
    shifted = {}
    for indices, batch in task.batches(examples, 4, generator):
        for row, index in enumerate(indices):
            original, played = examples[index]["roll"], torch.cat([batch.inputs[row, :1], batch.targets[row]])
            played = played[: len(original)]
            shift = int(played.any(0).nonzero()[0] - original.any(0).nonzero()[0])
            assert abs(shift) <= 6 and played.sum() == original.sum()  # no note lost at the range's edge
            torch.testing.assert_close(torch.roll(original, shift, dims=1), played)
            shifted[index] = shift
    assert len(shifted) == len(examples) and len(set(shifted.values())) > 1
    assert all(
        torch.equal(batch.inputs[r], examples[i]["roll"][:-1][: batch.inputs.shape[1]])
        for indices, batch in task.batches(examples[:1], 1)
        for r, i in enumerate(indices)
    )


def test_eval_reads_a_roll_json_by_its_splits(tmp_path, chorales, capsys):
    from seqlab.pipeline import fit

    config = tiny("lm", "gru", **{"data.input": "music"})
    pipeline = fit(config, tmp_path / "run", splits={k: list(v) for k, v in chorales.items()})
    held_out = json.loads((tmp_path / "run" / "metrics.json").read_text())["nll"]
    assert 0 < held_out < 88 * np.log(2) * 1.5  # below 1.5 times a fair coin's for each of 88 pitches
    composed = json.loads((tmp_path / "run" / "composed.json").read_text())
    assert len(composed["frames"]) == 33 and composed["pitches"] == 88
    report = (tmp_path / "run" / "report.html").read_text()  # its piano roll and a player for it
    assert "A composed piece" in report and '<audio controls src="data:audio/wav;base64,' in report
    rolls = tmp_path / "chorales.json"
    rolls.write_text(
        json.dumps({"train": chorales["train"], "valid": chorales["val"], "test": chorales["test"]})
    )
    capsys.readouterr()
    for split in ("test", "val"):
        assert main(["eval", str(tmp_path / "run"), "--data", str(rolls), "--split", split]) == 0
        nll = json.loads(capsys.readouterr().out)["nll"]
        assert nll == pytest.approx(pipeline.evaluate(chorales[split])["nll"], rel=1e-5)


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
    path.write_text(
        json.dumps({"train": chorales["train"], "valid": chorales["val"], "test": chorales["test"]})
    )
    run = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--task",
                "lm",
                "--data",
                str(path),
                "data.input=music",
                "--encoder",
                "gru",
                "--out",
                str(run),
                "model.hidden_size=16",
                "train.max_steps=3",
            ]
        )
        == 0
    )
    out = tmp_path / "new.mid"
    assert (
        main(
            ["generate", str(run), "--prompt", "60 64 67", "--frames", "16", "--seed", "1", "--out", str(out)]
        )
        == 0
    )
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
    path.write_text(
        json.dumps({"train": [[[60], [130]]] * 4, "valid": [[[60], [62]]], "test": [[[60], [62]]]})
    )
    assert (
        main(["train", "--task", "lm", "--data", str(path), "data.input=music", "--out", str(tmp_path / "r")])
        == 2
    )
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
    nll = torch.nn.functional.binary_cross_entropy_with_logits(logits, batch.targets, reduction="none").sum(
        -1
    )
    assert float(torch.exp(-nll).sum()) == pytest.approx(1.0, abs=1e-5)
    drawn = head.sample(hidden[:3, 0], torch.Generator().manual_seed(1))
    assert drawn.shape == (3, 4) and set(drawn.unique().tolist()) <= {0.0, 1.0}


@pytest.mark.parametrize("encoder", ("lstm", "transformer"))
def test_nade_head_trains_and_generates(tmp_path, chorales, encoder, capsys):
    import pretty_midi

    path = tmp_path / "rolls.json"
    path.write_text(
        json.dumps({"train": chorales["train"], "valid": chorales["val"], "test": chorales["test"]})
    )
    run = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--task",
                "lm",
                "--data",
                str(path),
                "data.input=music",
                "--encoder",
                encoder,
                "--out",
                str(run),
                "model.hidden_size=16",
                "model.num_heads=2",
                "model.nade_hidden=8",
                "train.max_steps=3",
            ]
        )
        == 0
    )
    assert 0 < json.loads((run / "metrics.json").read_text())["nll"] < 88 * np.log(2) * 1.5
    assert (
        main(
            ["generate", str(run), "--prompt", "60 64 67", "--frames", "8", "--out", str(tmp_path / "n.mid")]
        )
        == 0
    )
    assert pretty_midi.PrettyMIDI(str(tmp_path / "n.mid")).instruments[0].notes


def test_midi_files_read_back_on_the_beat_grid(tmp_path, chorales):
    """A chorale written as MIDI (120 bpm: a beat per 0.5 s frame) reads back frame for frame."""
    piece = chorales["train"][1]
    music.write_midi(
        music.roll_matrix(piece, 21, 108, "piece"), tmp_path / "c.mid", 21, seconds_per_frame=0.5
    )
    assert music.read_pieces(tmp_path / "c.mid")[0][: len(piece)] == [sorted(f) for f in piece]


def test_scores_read_with_music21(tmp_path):
    pytest.importorskip("music21")
    abc = tmp_path / "scale.abc"
    abc.write_text("X:1\nT:scale\nM:4/4\nL:1/4\nK:C\nCDEF|G4|]\n")
    assert music.read_pieces(abc)[0] == [[60], [62], [64], [65], [67], [67], [67], [67]]
    from music21 import corpus

    chorale = music.score_roll(corpus.parse("bach/bwv66.6"))
    assert len(chorale) == 36 and max(len(f) for f in chorale) == 4 and all(chorale)


def test_bad_music_files_are_clear_errors(tmp_path):
    import pretty_midi

    silent = tmp_path / "silent.mid"
    pretty_midi.PrettyMIDI().write(str(silent))
    with pytest.raises(UserError, match="holds no notes"):
        music.read_pieces(silent)
    broken = tmp_path / "broken.mid"
    broken.write_bytes(b"MThd not really")
    with pytest.raises(UserError, match="not a readable MIDI file"):
        music.read_pieces(broken)
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="holds no MIDI"):
        music.read_pieces(tmp_path / "empty")


def test_training_on_a_folder_of_midi_files(tmp_path, chorales):
    folder = tmp_path / "midi"
    folder.mkdir()
    for n, piece in enumerate(chorales["train"]):
        music.write_midi(music.roll_matrix(piece, 21, 108, "piece"), folder / f"{n}.mid", 21)
    assert (
        main(
            [
                "train",
                "--task",
                "lm",
                "--data",
                str(folder),
                "data.input=music",
                "--encoder",
                "gru",
                "--out",
                str(tmp_path / "run"),
                "model.hidden_size=16",
                "train.max_steps=2",
                "data.val_fraction=0.2",
                "data.test_fraction=0.2",
            ]
        )
        == 0
    )


def test_melodies_become_event_tokens(tmp_path, chorales):
    import pretty_midi

    pytest.importorskip("music21")
    abc = tmp_path / "tunes.abc"
    abc.write_text(
        "X:1\nT:scale\nM:4/4\nL:1/4\nK:C\nCDEF|G4|]\n\nX:2\nT:rest\nM:2/4\nL:1/8\nK:G\nG2 z B|d4|]\n"
    )
    assert music.read_melodies(abc) == ["60:1 62:1 64:1 65:1 67:4 end", "67:1 r:0.5 71:0.5 74:2 end"]
    midi = tmp_path / "tune.mid"
    music.write_melody_midi("60:1 r:1 64:0.5 67:1.5 end".split(), midi)
    assert music.read_melodies(midi) == ["60:1 r:1 64:0.5 67:1.5 end"]
    assert [n.pitch for n in pretty_midi.PrettyMIDI(str(midi)).instruments[0].notes] == [60, 64, 67]


def test_melody_language_model_writes_midi(tmp_path, capsys):
    """Eight Essen folk songs (music21's corpus file teste.abc) train an event-token language model."""
    import pretty_midi

    pytest.importorskip("music21")
    from music21 import corpus

    folder = tmp_path / "tunes"
    folder.mkdir()
    source = next(p for p in corpus.getComposer("essenFolksong") if p.name == "teste.abc")
    (folder / "teste.abc").symlink_to(source)
    run = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--task",
                "lm",
                "--data",
                str(folder),
                "data.input=melody",
                "--encoder",
                "lstm",
                "--out",
                str(run),
                "model.hidden_size=16",
                "train.max_steps=3",
                "data.block_size=16",
            ]
        )
        == 0
    )
    assert "tokenizer: word" in (run / "config.yaml").read_text()
    assert (
        main(
            [
                "generate",
                str(run),
                "--prompt",
                "67:1",
                "--max-new-tokens",
                "24",
                "--seed",
                "0",
                "--out",
                str(tmp_path / "tune.mid"),
            ]
        )
        == 0
    )
    notes = pretty_midi.PrettyMIDI(str(tmp_path / "tune.mid")).instruments[0].notes
    assert notes and notes[0].pitch == 67
    assert main(["generate", str(run), "--out", str(tmp_path / "tune.txt")]) == 2
    assert "give --out FILE.mid" in capsys.readouterr().err


def _midi_folder(folder, pieces: int, frames: int):
    """`pieces` MIDI files of one note per beat (120 bpm), `frames` beats each."""
    import pretty_midi

    folder.mkdir()
    for k in range(pieces):
        midi = pretty_midi.PrettyMIDI(initial_tempo=120)
        piano = pretty_midi.Instrument(0)
        piano.notes += [
            pretty_midi.Note(80, 60 + (k + t) % 12, t * 0.5, t * 0.5 + 0.5) for t in range(frames)
        ]
        midi.instruments.append(piano)
        midi.write(str(folder / f"piece{k}.mid"))
    return folder


def test_a_folder_of_midi_files_is_music_and_long_pieces_train_in_windows(tmp_path):
    from seqlab.tasks.music import PianoRollTask

    folder = _midi_folder(tmp_path / "midi", pieces=10, frames=40)
    train = f"train --task lm --data {folder} --encoder gru --out {tmp_path / 'run'}".split()
    with pytest.warns(UserWarning, match="cut into windows of 17 frames"):
        assert main([*train, "train.max_steps=2", "data.max_length=16", "model.hidden_size=8"]) == 0
    assert yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())["data"]["input"] == "music"
    task = PianoRollTask(tiny("lm", **{"data.input": "music", "data.max_length": 16}))
    windows = task.encode([[[60]] * 40])
    assert [len(w["roll"]) for w in windows] == [17, 17, 8]  # frames 2-40 predicted once each
    assert sum(len(w["roll"]) - 1 for w in windows) == 39
    strict = PianoRollTask(
        tiny("lm", **{"data.input": "music", "data.max_length": 16, "data.truncate": False})
    )
    with pytest.raises(UserError, match="piece 1 has 40 frames, over the model's limit"):
        strict.encode([[[60]] * 40])
