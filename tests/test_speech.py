"""Speech: FSDD clips read with soundfile, log-mel and MFCC frames from librosa, spoken-digit
classification and CTC recognition, `seqlab transcribe`, and bad audio. (Every encoder recognises,
reloads and transcribes alike in tests/test_contract.py.)"""

from __future__ import annotations

import json
import math
import warnings
from itertools import product

import numpy as np
import pytest
import torch
from conftest import RATE, shared, tiny

from seqlab.cli import main
from seqlab.data import audio
from seqlab.errors import UserError
from seqlab.heads.ctc import beam_paths, greedy_paths
from seqlab.tasks.series import spec_augment


def _settings(**changes) -> audio.FrameSettings:
    values = dict(
        sample_rate=RATE, features="logmel", n_mels=40, n_mfcc=20, hop_ms=10.0, window_ms=25.0, stack=1
    )
    return audio.FrameSettings(**{**values, **changes})


def test_frames_of_a_real_clip(fsdd):
    clip = fsdd / "recordings" / "0_george_0.wav"
    samples = audio.read_audio(clip, RATE)
    assert samples.dtype == np.float32 and samples.ndim == 1
    logmel = audio.frames(samples, _settings())
    assert logmel.shape == (1 + len(samples) // 80, 40)  # one frame per 10 ms hop, centred
    assert audio.frames(samples, _settings(features="mfcc")).shape == (len(logmel), 20)
    stacked = audio.frames(samples, _settings(stack=3))
    assert stacked.shape == (math.ceil(len(logmel) / 3), 120)
    assert np.array_equal(stacked[0], logmel[:3].ravel())


def test_read_audio_repairs_stereo_and_rate_with_a_warning(tmp_path, fsdd):
    import soundfile

    mono = audio.read_audio(fsdd / "recordings" / "1_george_0.wav", RATE)
    stereo = tmp_path / "stereo.wav"
    soundfile.write(stereo, np.stack([mono, mono], axis=1), RATE)
    with pytest.warns(UserWarning, match="2 channels: they were averaged"):
        assert np.allclose(audio.read_audio(stereo, RATE), mono, atol=1e-4)
    with pytest.warns(UserWarning, match="resampled to data.sample_rate=16000"):
        assert abs(len(audio.read_audio(stereo, 16000)) - 2 * len(mono)) <= 1


def test_bad_audio_is_a_clear_error(tmp_path):
    import soundfile

    empty, corrupt = tmp_path / "empty.wav", tmp_path / "corrupt.wav"
    soundfile.write(empty, np.zeros(0, dtype=np.float32), RATE)
    corrupt.write_bytes(b"RIFF not really a wave file")
    with pytest.raises(UserError, match="holds no audio"):
        audio.read_audio(empty, RATE)
    with pytest.raises(UserError, match="not a readable audio file"):
        audio.read_audio(corrupt, RATE)


def test_frames_are_cached_once_computed(tmp_path, fsdd, monkeypatch):
    from seqlab.config import DataConfig

    data = DataConfig(sample_rate=RATE)
    records = [{"audio": audio.Utterance((str(fsdd / "recordings" / "2_jackson_3.wav"),))}]
    first = audio.featurize(records, data, tmp_path)
    monkeypatch.setattr(audio, "frames", lambda *a: pytest.fail("frames recomputed despite the cache"))
    again = audio.featurize(records, data, tmp_path)
    assert np.array_equal(first[0]["values"], again[0]["values"])
    assert audio.featurize(again, data) is again  # records with frames pass unchanged


def test_layouts_folder_subfolders_and_manifests(tmp_path, fsdd):
    clips = sorted((fsdd / "recordings").glob("*_george_1.wav"))
    assert [r["label"] for r in audio.read_clips(fsdd / "recordings")][:3] == ["0", "0", "0"]
    for clip in clips:
        (tmp_path / "classes" / f"digit{clip.name[0]}").mkdir(parents=True)
        (tmp_path / "classes" / f"digit{clip.name[0]}" / "a.wav").symlink_to(clip)
    assert [r["label"] for r in audio.read_clips(tmp_path / "classes")] == ["digit0", "digit1", "digit2"]
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("path,label\n" + "".join(f"{c},{c.name[0]}\n" for c in clips))
    assert [r["label"] for r in audio.read_clips(manifest)] == ["0", "1", "2"]
    spoken = tmp_path / "spoken.jsonl"
    spoken.write_text("".join(json.dumps({"path": str(c), "transcript": "zero"}) + "\n" for c in clips))
    assert {r["text"] for r in audio.read_clips(spoken, transcripts=True)} == {"zero"}
    with pytest.raises(UserError, match="no 'label' column"):
        audio.read_clips(spoken)
    with pytest.raises(UserError, match="one clip without a label"):
        audio.read_clips(clips[0])
    with pytest.raises(UserError, match="has no transcript: put it in"):
        audio.read_clips(tmp_path / "classes", transcripts=True)
    (tmp_path / "silent").mkdir()
    with pytest.raises(UserError, match="holds no audio files"):
        audio.read_clips(tmp_path / "silent")


def test_fsdd_split_is_by_take():
    from seqlab.data.datasets import REGISTRY
    from seqlab.data.loaders import fsdd_folder

    shared("free-spoken-digit")
    splits = audio.fsdd_words(fsdd_folder(REGISTRY["fsdd"]))
    assert {k: len(v) for k, v in splits.items()} == {"train": 2400, "val": 300, "test": 300}
    assert all(r["audio"].clips[0].endswith(tuple(f"_{t}.wav" for t in range(5))) for r in splits["test"])
    speaker = audio.fsdd_words(fsdd_folder(REGISTRY["fsdd"]), held_out_speaker="theo")
    assert len(speaker["test"]) == 500 and all("_theo_" in r["audio"].clips[0] for r in speaker["test"])
    assert not any("_theo_" in r["audio"].clips[0] for r in speaker["train"] + speaker["val"])
    assert REGISTRY["fsdd"].defaults["sample_rate"] == 8000


def test_digit_strings_keep_each_split_to_its_takes(fsdd):
    splits = audio.fsdd_digit_strings(fsdd, {"train": 30, "test": 10}, longest=4, seed=1)
    assert splits == audio.fsdd_digit_strings(fsdd, {"train": 30, "test": 10}, longest=4, seed=1)
    for split, records in splits.items():
        for record in records:
            takes = {int(c.rsplit("_", 1)[1][:-4]) for c in record["audio"].clips}
            assert {audio.fsdd_split(t) for t in takes} == {split}
            assert len(record["text"].split()) == len(record["audio"].clips) <= 4
            assert len({c.split("_")[-2] for c in record["audio"].clips}) == 1  # one speaker


def test_ctc_greedy_and_beam_decoding():
    log_probs = torch.tensor(
        [[[0.1, 0.8, 0.1], [0.1, 0.8, 0.1], [0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6]]]
    ).log()  # blank, a, b
    assert greedy_paths(log_probs, torch.tensor([5])) == [[1, 1, 2]]
    assert greedy_paths(log_probs, torch.tensor([2])) == [[1]]
    generator = torch.Generator().manual_seed(0)
    frames = torch.randn(2, 4, 3, generator=generator).log_softmax(-1)
    for row in range(2):  # a wide beam finds the labelling with the most probability over all alignments
        totals: dict[tuple, float] = {}
        for alignment in product(range(3), repeat=4):
            path, previous = [], 0
            for s in alignment:
                if s != previous and s != 0:
                    path.append(s)
                previous = s
            score = sum(float(frames[row, t, s]) for t, s in enumerate(alignment))
            totals[tuple(path)] = np.logaddexp(totals.get(tuple(path), -np.inf), score)
        assert tuple(beam_paths(frames[row : row + 1], torch.tensor([4]), beam=16)[0]) == max(
            totals, key=totals.get
        )


def test_compare_and_auto_serve_recognition(tmp_path, strings):
    pytest.importorskip("optuna")
    from seqlab.compare import compare
    from seqlab.search import search

    config = tiny("ctc", **{"data.sample_rate": RATE, "data.stack_frames": 3, "data.max_length": 200})
    result = compare(config, ["gru", "transformer"], 1, 1.0, tmp_path / "cmp", splits=strings)
    assert result["metric"] == "wer" and [t["status"] for t in result["trials"]] == ["ok", "ok"]
    search(config, tmp_path / "auto", 1.0, strings, max_trials=2)
    assert "wer" in json.loads((tmp_path / "auto" / "metrics.json").read_text())


def test_spec_augment_masks_training_frames_only(strings):
    values = torch.ones(60, 40)
    masked = spec_augment(values, torch.Generator().manual_seed(3))
    assert masked.shape == values.shape and (masked == 0).any() and (values == 1).all()


@pytest.fixture(scope="module")
def recogniser(tmp_path_factory, strings):
    from seqlab.pipeline import fit

    out = tmp_path_factory.mktemp("ctc") / "run"
    fit(
        tiny(
            "ctc",
            "gru",
            **{
                "data.sample_rate": RATE,
                "data.stack_frames": 3,
                "data.max_length": 200,
                "data.spec_augment": True,
            },
        ),
        out,
        strings,
    )
    return out


def test_beam_search_transcribes_every_utterance_in_the_alphabet(recogniser, strings):
    from seqlab.pipeline import load

    assert json.loads((recogniser / "metrics.json").read_text())["cer"] >= 0
    pipeline = load(recogniser)
    transcripts = pipeline.transcribe(strings["test"], beam=4)
    assert len(transcripts) == len(strings["test"]) and all(isinstance(t, str) for t in transcripts)
    assert set("".join(transcripts)) <= set(pipeline.task.alphabet)


def test_transcribe_cli(recogniser, fsdd, capsys):
    clips = [str(fsdd / "recordings" / "0_george_0.wav"), str(fsdd / "recordings" / "1_jackson_2.wav")]
    assert main(["transcribe", str(recogniser), *clips, "--beam", "3"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["path"] for line in lines] == clips and all("transcript" in line for line in lines)
    assert main(["transcribe", str(recogniser), clips[0], "--beam", "0"]) == 2
    assert "--beam: must be at least 1" in capsys.readouterr().err
    assert main(["transcribe", str(recogniser), "missing.wav"]) == 2
    assert "missing.wav does not exist" in capsys.readouterr().err


def test_spoken_digits_classified_from_a_folder_of_clips(tmp_path, fsdd, capsys):
    out = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--task",
                "classify",
                "--data",
                str(fsdd / "recordings"),
                "--encoder",
                "gru",
                "--out",
                str(out),
                "--max-steps",
                "3",
                "data.sample_rate=8000",
                "data.features=mfcc",
                "model.hidden_size=16",
                "train.precision=fp32",
            ]
        )
        == 0
    )
    config = (out / "config.yaml").read_text()
    assert "input: audio" in config and "features: mfcc" in config
    report = (out / "report.html").read_text()  # the first held-out clip as the model hears it
    assert "A held-out clip" in report and "20 MFCCs" in report and "It predicts" in report
    capsys.readouterr()
    clip = fsdd / "recordings" / "2_george_0.wav"
    assert main(["predict", str(out), "--data", str(clip)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["path"] == str(clip) and set(result["probabilities"]) == {"0", "1", "2"}
    assert main(["transcribe", str(out), str(clip)]) == 2
    assert "needs a model of task ctc" in capsys.readouterr().err


def test_ctc_refuses_text_input(capsys):
    assert main(["train", "--task", "ctc", "--data", "x.csv", "data.input=text"]) == 2
    assert "task ctc reads audio: data.input=text is not for it" in capsys.readouterr().err
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert main(["train", "--task", "ctc", "--data", "x", "data.features=spectrum"]) == 2
    assert "data.features must be one of logmel, mfcc" in capsys.readouterr().err


def test_espeak_digits_hold_out_voices(tmp_path):
    import shutil

    if shutil.which("espeak-ng") is None:
        pytest.skip("apt-get install espeak-ng")
    splits = audio.espeak_digits(tmp_path, speeds=(160,), pitches=(50,))
    assert {k: len(v) for k, v in splits.items()} == {"train": 70, "val": 20, "test": 20}
    assert all("_m7_" in r["audio"].clips[0] or "_f4_" in r["audio"].clips[0] for r in splits["test"])
    assert sorted({r["label"] for r in splits["train"]}) == [str(d) for d in range(10)]
    assert len(audio.read_audio(splits["test"][0]["audio"].clips[0], 22050)) > 22050 // 4


def test_espeak_sentences_are_said_by_each_voice_and_dealt_by_sentence(tmp_path):
    import shutil

    if shutil.which("espeak-ng") is None:
        pytest.skip("apt-get install espeak-ng")
    sentences = [f"this is sentence number {word}." for word in audio.DIGITS]
    splits = audio.espeak_sentences(tmp_path, sentences, voices=("m3", "f2"))
    assert {k: len(v) for k, v in splits.items()} == {"train": 16, "val": 2, "test": 2}
    assert {r["text"] for r in splits["test"]} == {sentences[9]}
    assert sorted(r["speaker"] for r in splits["test"]) == ["f2", "m3"]
    assert len(audio.read_audio(splits["test"][0]["audio"].clips[0], 22050)) > 22050
