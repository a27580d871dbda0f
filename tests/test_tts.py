"""Speech from text: the decoder's loss over real frames only, synthesis that stops, Griffin-Lim's waveform,
`seqlab speak` writing a WAV that soundfile opens, and the refusals. (Every encoder trains, reloads and
speaks alike in tests/test_contract.py.)"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import RATE, tiny

from seqlab.cli import main
from seqlab.data.batch import Batch
from seqlab.encoders import EncoderOutput
from seqlab.errors import UserError
from seqlab.heads.speech import SpeechDecoder
from seqlab.pipeline import fit

pytest.importorskip("librosa")
SETTINGS = {"data.sample_rate": RATE, "data.stack_frames": 2}


@pytest.fixture(scope="module")
def voice(voices, tmp_path_factory):
    out = tmp_path_factory.mktemp("tts") / "run"
    fit(tiny("tts", "gru", **SETTINGS), out, voices)
    return out


def _batch(frames: list[torch.Tensor], characters: int = 3) -> Batch:
    width = max(len(f) for f in frames)
    targets = torch.stack([torch.cat([f, torch.zeros(width - len(f), f.shape[1])]) for f in frames])
    real = torch.arange(width)[None] < torch.tensor([len(f) for f in frames])[:, None]
    inputs = torch.ones(len(frames), characters, dtype=torch.long)
    mask = torch.ones(len(frames), characters, dtype=torch.bool)
    return Batch(
        inputs=inputs,
        mask=mask,
        targets=targets,
        target_mask=real,
        speakers=torch.zeros(len(frames), dtype=torch.long),
    )


def _encoded(hidden: torch.Tensor) -> EncoderOutput:
    return EncoderOutput(hidden=hidden, pooled=hidden.mean(1))


def test_the_loss_counts_real_frames_only():
    torch.manual_seed(0)
    decoder = SpeechDecoder(memory_dim=8, frame_dim=4, speakers=1).eval()
    memory = _encoded(torch.randn(1, 3, 8))
    short, long = torch.randn(5, 4), torch.randn(9, 4)
    alone = [decoder(memory, _batch([f])) for f in (short, long)]
    together = decoder(_encoded(memory.hidden.expand(2, -1, -1)), _batch([short, long]))
    assert int(together.count) == 14
    torch.testing.assert_close(together.loss_sum, alone[0].loss_sum + alone[1].loss_sum)


def test_synthesis_stops_where_the_stop_flag_says():
    decoder = SpeechDecoder(memory_dim=8, frame_dim=4, speakers=1).eval()
    with torch.no_grad():
        decoder.stop.bias.fill_(10.0)  # certain to stop at once
    batch = _batch([torch.zeros(2, 4)])
    (frames,) = decoder.synthesise(_encoded(torch.randn(1, 3, 8)), batch, most=50)
    assert frames.shape == (1, 4)
    with torch.no_grad():
        decoder.stop.bias.fill_(-10.0)  # never stops: cut at the most steps
    (frames,) = decoder.synthesise(_encoded(torch.randn(1, 3, 8)), batch, most=50)
    assert frames.shape == (50, 4)


def test_speak_writes_a_wav_that_soundfile_opens(voice, capsys, tmp_path):
    import soundfile

    out = tmp_path / "two.wav"
    assert main(["speak", str(voice), "--text", "two", "--speaker", "george", "--out", str(out)]) == 0
    said = json.loads(capsys.readouterr().out)
    samples, rate = soundfile.read(out)
    assert rate == RATE and len(samples) == pytest.approx(said["seconds"] * RATE, abs=1)
    assert np.isfinite(samples).all() and len(samples) > 0
    assert json.loads((voice / "voice.json").read_text())["speakers"] == ["george", "jackson"]


@pytest.mark.parametrize(
    "args,message",
    [
        (["--text", "two!"], "text 1 holds '!', which the voice never heard"),
        (
            ["--text", "two", "--speaker", "nobody"],
            "speaker 'nobody' is not one of the voice's: george, jackson",
        ),
        (["--text", " "], "text 1 is empty"),
    ],
)
def test_speak_refuses_what_the_voice_cannot_say(voice, capsys, tmp_path, args, message):
    out = tmp_path / "x.wav"
    assert main(["speak", str(voice), *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and message in err and not out.exists()


def test_a_voice_needs_log_mel_frames():
    with pytest.raises(UserError, match="data.features=logmel"):
        tiny("tts", **SETTINGS, **{"data.features": "mfcc"})


def test_a_listener_hears_what_a_voice_says(voice, voices, fsdd, tmp_path):
    from seqlab.bench import measurements
    from seqlab.data import audio
    from seqlab.pipeline import load

    listener = tmp_path / "listener"
    fit(tiny("classify", "gru", **{"data.sample_rate": RATE}), listener, audio.fsdd_words(fsdd))
    heard = measurements.heard(load(voice), listener, voices["test"])
    assert set(heard) == {"heard_accuracy", "stopped", "real_time_factor", "mcd", "mcd_griffin_lim"}
    assert 0 <= heard["heard_accuracy"] <= 1 and 0 <= heard["stopped"] <= 1 and heard["real_time_factor"] > 0
    assert 0 < heard["mcd_griffin_lim"] < heard["mcd"]  # an untrained voice is further off than the floor


def test_a_recogniser_hears_a_voice_too(voice, voices, strings, tmp_path):
    from seqlab.bench import measurements
    from seqlab.pipeline import load

    recogniser = tmp_path / "asr"
    settings = {"data.sample_rate": RATE, "data.stack_frames": 3, "data.max_length": 200}
    fit(tiny("ctc", "gru", **settings), recogniser, strings)
    heard = measurements.heard(load(voice), recogniser, voices["test"])
    assert {"heard_accuracy", "heard_wer", "mcd"} <= set(heard)
    assert heard["heard_wer"] >= 0


def test_mel_cepstral_distortion_is_zero_for_the_same_sound_and_grows_with_noise():
    from seqlab.bench.measurements import mel_cepstral_distortion

    rate = 8000
    tone = np.sin(2 * np.pi * 440 * np.arange(rate // 2) / rate).astype(np.float32)
    noisy = tone + 0.3 * np.random.default_rng(0).standard_normal(len(tone)).astype(np.float32)
    assert mel_cepstral_distortion(tone, tone, rate) == pytest.approx(0.0, abs=1e-6)
    assert mel_cepstral_distortion(noisy, tone, rate) > 1.0


def test_the_waveform_is_librosas_griffin_lim_of_the_mel_energies(voices):
    """`waveform` maps mel energies back through the filter bank's clipped pseudo-inverse, where librosa's
    mel_to_stft refines that start by non-negative least squares: on real frames the samples agree."""
    import librosa

    from seqlab.config import DataConfig
    from seqlab.data import audio

    settings = audio.FrameSettings.of(DataConfig(sample_rate=RATE, stack_frames=2))
    hop, window = RATE // 100, RATE * 25 // 1000
    for record in voices["test"][:3]:
        steps = np.asarray(record["values"])
        voice = {"mean": [0.0] * steps.shape[1], "spread": [1.0] * steps.shape[1]}  # the frames as they are
        logmel = steps.reshape(-1, settings.n_mels)
        magnitudes = librosa.feature.inverse.mel_to_stft(
            librosa.db_to_power(logmel.T), sr=RATE, n_fft=256, fmax=RATE / 2
        )
        expected = librosa.griffinlim(
            magnitudes, n_iter=32, hop_length=hop, win_length=window, random_state=0
        )
        samples = audio.waveform(steps, voice, settings)
        assert samples.dtype == np.float32 and samples.shape == expected.shape
        assert np.abs(samples - expected).max() < 1e-3 * np.abs(expected).max()
