"""Audio: WAV/FLAC/OGG read with soundfile, resampled with librosa to the run's rate, and turned into
log-mel or MFCC frames (T, F) with librosa. Frames of a whole dataset are computed once and cached.

Records name their audio as an `Utterance`: one clip, or several clips of one speaker joined by
silence (spoken digit strings for recognition). Readers return records holding `"audio"`;
`featurize` adds `"values"`, the frames every numeric-input task reads.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import random
import re
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from seqlab.data import media
from seqlab.data.inputs import InputKind
from seqlab.data.media import MANIFEST_SUFFIXES
from seqlab.data.series import stack_steps
from seqlab.errors import UserError
from seqlab.files import read_text

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")
DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


@dataclass(frozen=True)
class Utterance:
    clips: tuple[str, ...]  # audio files, spoken one after another
    gap: float = 0.0  # seconds of silence between two clips


@dataclass(frozen=True)
class FrameSettings:
    """What turns samples into frames; saved with the run in its config (data.*)."""

    sample_rate: int
    features: str  # logmel | mfcc
    n_mels: int
    n_mfcc: int
    hop_ms: float
    window_ms: float
    stack: int  # consecutive frames joined into one, and the frame rate divided by as much

    @classmethod
    def of(cls, data) -> FrameSettings:
        return cls(
            data.sample_rate,
            data.features,
            data.n_mels,
            data.n_mfcc,
            data.hop_ms,
            data.window_ms,
            data.stack_frames,
        )


# ---------------------------------------------------------------------------------------------
# Samples and frames


LOWEST_RATE = 1000  # Hz: below, a file's rate is a damaged header rather than a recording


def read_audio(path: str | Path, sample_rate: int) -> np.ndarray:
    """Mono float32 samples at `sample_rate`. Several channels are averaged and another rate is
    resampled, each with a warning; an unreadable or empty file is a UserError."""
    import soundfile

    try:
        samples, rate = soundfile.read(str(path), dtype="float32", always_2d=True)  # (N, channels)
    except (soundfile.LibsndfileError, RuntimeError, OSError) as exc:
        raise UserError(f"{path} is not a readable audio file ({str(exc).splitlines()[0]})") from None
    if len(samples) == 0:
        raise UserError(f"{path} holds no audio (zero samples); remove it or replace it")
    if samples.shape[1] > 1:  # one warning for all such clips, not one per clip
        warnings.warn(f"clips with {samples.shape[1]} channels: they were averaged to mono")
    mono = samples.mean(axis=1)
    if rate < LOWEST_RATE:
        raise UserError(
            f"{path} is sampled at {rate} Hz, below the {LOWEST_RATE} Hz of any speech or music recording; "
            "its header is wrong, or it is not audio"
        )
    if rate != sample_rate:
        import librosa

        warnings.warn(f"clips sampled at {rate} Hz were resampled to data.sample_rate={sample_rate}")
        mono = librosa.resample(mono, orig_sr=rate, target_sr=sample_rate)
    return mono.astype(np.float32)


def utterance_samples(utterance: Utterance, sample_rate: int) -> np.ndarray:
    silence = np.zeros(round(utterance.gap * sample_rate), dtype=np.float32)
    parts = []
    for n, clip in enumerate(utterance.clips):
        parts += [silence, read_audio(clip, sample_rate)] if n else [read_audio(clip, sample_rate)]
    return np.concatenate(parts)


def frames(samples: np.ndarray, settings: FrameSettings) -> np.ndarray:
    """(T, F) float32: log-mel energies in dB, or MFCCs computed from them; one frame every hop_ms, or
    `stack` of them side by side every `stack` hops (the last repeated to fill the final one)."""
    import librosa

    rate = settings.sample_rate
    hop, window = round(rate * settings.hop_ms / 1000), round(rate * settings.window_ms / 1000)
    n_fft = 1 << (window - 1).bit_length()
    mel = librosa.feature.melspectrogram(
        y=samples,
        sr=rate,
        n_fft=n_fft,
        hop_length=hop,
        win_length=window,
        n_mels=settings.n_mels,
        fmax=rate / 2,
    )
    logmel = librosa.power_to_db(mel, ref=1.0, top_db=None)  # (n_mels, T)
    single = (
        librosa.feature.mfcc(S=logmel, n_mfcc=settings.n_mfcc).T if settings.features == "mfcc" else logmel.T
    )
    return stack_steps(single, settings.stack).astype(np.float32, copy=False)  # (T/stack, F*stack)


SECONDS_MOST = 10.0  # the longest speech a voice says


def most_steps(settings: FrameSettings) -> int:
    """How many decoder steps (of `stack` frames each) SECONDS_MOST of speech take."""
    return int(SECONDS_MOST * 1000 / (settings.hop_ms * settings.stack))


def voice_characters(tokenizer, n: int, text: str) -> list[int]:
    """The character ids a voice reads for text `n` (`tokenizer`: its Hugging Face Tokenizer), refused
    where the text is empty or holds a character the voice never heard."""
    vocab = tokenizer.get_vocab()
    normalised = tokenizer.normalizer.normalize_str(text) if tokenizer.normalizer else text
    if not normalised.strip():
        raise UserError(f"text {n + 1} is empty: give the voice something to say")
    unknown = sorted({c for c in normalised if c not in vocab})
    if unknown:
        known = "".join(sorted(c for c in vocab if len(c) == 1))
        raise UserError(
            f"text {n + 1} holds {''.join(unknown)!r}, which the voice never heard; it says {known!r}"
        )
    return tokenizer.encode(normalised, add_special_tokens=False).ids


def waveform(steps: np.ndarray, voice: dict, settings: FrameSettings) -> np.ndarray:
    """A voice's standardised decoder steps (T, D) → samples, by Griffin-Lim over the mel energies (32
    iterations, seeded: the same frames give the same samples); `voice`: its frames' mean and spread."""
    import librosa

    mean, spread = np.array(voice["mean"]), np.array(voice["spread"])
    logmel = (steps * spread + mean).reshape(-1, settings.n_mels)  # (T * stack, n_mels), dB
    rate = settings.sample_rate
    hop, window = round(rate * settings.hop_ms / 1000), round(rate * settings.window_ms / 1000)
    inverse, hann = _synthesis_filters(rate, window, settings.n_mels)
    power = np.maximum(inverse @ librosa.db_to_power(logmel.T), 0.0)  # (n_fft / 2 + 1, T)
    samples = librosa.griffinlim(
        np.sqrt(power), n_iter=32, hop_length=hop, win_length=window, window=hann, random_state=0
    )
    return samples.astype(np.float32)


@functools.lru_cache(maxsize=8)
def _synthesis_filters(rate: int, window: int, n_mels: int) -> tuple[np.ndarray, np.ndarray]:
    """The mel filter bank's pseudo-inverse (n_fft / 2 + 1, n_mels), whose product `waveform` clips at 0:
    where librosa's mel_to_stft starts its non-negative least squares, which on real FSDD frames changes
    the samples by under 0.1% of their peak (tests/test_tts.py) and took nearly as long as Griffin-Lim;
    and the Hann window (win_length,) Griffin-Lim frames with, made once."""
    import librosa

    n_fft = 1 << (window - 1).bit_length()
    bank = librosa.filters.mel(sr=rate, n_fft=n_fft, n_mels=n_mels, fmax=rate / 2)  # (n_mels, n_fft / 2 + 1)
    return np.linalg.pinv(bank), librosa.filters.get_window("hann", window, fftbins=True)


def holds_audio(records: list) -> bool:
    return bool(records) and isinstance(records[0], dict) and "audio" in records[0]


def featurize(records: list, data, cache: Path | None = None) -> list:
    """Records holding `"audio"` get `"values"`: its frames as `data` (the run's settings) defines them,
    read from `cache` when an earlier run computed them from the same files with the same settings.
    Other records pass unchanged."""
    if not holds_audio(records) or "values" in records[0]:
        return records
    settings = FrameSettings.of(data)
    utterances = [r["audio"] for r in records]
    computed = _read_cache(cache, utterances, settings)
    if computed is None:
        computed = [frames(utterance_samples(u, settings.sample_rate), settings) for u in utterances]
        _write_cache(cache, utterances, settings, computed)
    return [{**r, "values": v} for r, v in zip(records, computed)]


def _cache_file(cache: Path, utterances: list[Utterance], settings: FrameSettings) -> Path:
    digest = hashlib.sha256(json.dumps(asdict(settings), sort_keys=True).encode())
    for utterance in utterances:
        for clip in utterance.clips:
            stat = os.stat(clip)
            digest.update(f"{Path(clip).resolve()}|{stat.st_size}|{stat.st_mtime_ns}|".encode())
        digest.update(f"gap={utterance.gap};".encode())
    return cache / f"{digest.hexdigest()[:32]}.safetensors"


def _read_cache(cache: Path | None, utterances: list[Utterance], settings: FrameSettings) -> list | None:
    if cache is None:
        return None
    path = _cache_file(cache, utterances, settings)
    if not path.is_file():
        return None
    from safetensors.numpy import load_file

    stored = load_file(str(path))
    bounds = stored["offsets"].tolist()
    return [stored["frames"][a:b] for a, b in zip(bounds, bounds[1:])]


def _write_cache(
    cache: Path | None, utterances: list[Utterance], settings: FrameSettings, computed: list
) -> None:
    """Best effort: a cache folder that cannot be written only costs the next run the same work."""
    if cache is None:
        return
    from safetensors.numpy import save_file

    offsets = np.cumsum([0] + [len(v) for v in computed]).astype(np.int64)
    try:
        cache.mkdir(parents=True, exist_ok=True)
        path = _cache_file(cache, utterances, settings)
        partial = path.with_suffix(".partial")
        save_file(
            {"frames": np.ascontiguousarray(np.concatenate(computed)), "offsets": offsets}, str(partial)
        )
        os.replace(partial, path)
    except OSError:
        pass


# ---------------------------------------------------------------------------------------------
# Layouts: one file, a folder of clips, a manifest


def is_audio(path: Path) -> bool:
    """An audio file, or a folder whose files (or class subfolders) hold audio."""
    return media.holds(path, AUDIO_SUFFIXES)


def read_clips(path: Path, transcripts: bool = False, labelled: bool = True) -> list[dict]:
    """Records `{"audio", "label"}` (or `"text"` with `transcripts`) from one audio file (unlabelled),
    a manifest (`path` and `label` or `transcript` columns; paths relative to the manifest), or a
    folder: class subfolders, or clips named `LABEL_….wav` (the Free Spoken Digit layout), with a
    `.txt` transcript beside each clip for recognition."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path} does not exist")
    if path.is_file() and path.suffix.lower() in MANIFEST_SUFFIXES:
        return _read_manifest(path, transcripts, labelled)
    if path.is_file():
        if labelled:
            raise UserError(f"{path} is one clip without a label: give a folder of clips or a manifest")
        return [{"audio": Utterance((str(path),))}]
    records = []
    for clip in media.files_in(path, AUDIO_SUFFIXES, "audio files"):
        record = {"audio": Utterance((str(clip),))}
        if labelled and transcripts:
            sidecar = clip.with_suffix(".txt")
            if not sidecar.is_file():
                raise UserError(f"{clip} has no transcript: put it in {sidecar.name} beside the clip")
            record["text"] = read_text(sidecar).strip()
        elif labelled:
            record["label"] = clip.parent.name if clip.parent != path else clip.stem.split("_")[0]
        records.append(record)
    return records


def _read_manifest(path: Path, transcripts: bool, labelled: bool) -> list[dict]:
    columns = ("transcript", "text") if transcripts else ("label",)
    records = []
    for clip, value in media.read_manifest(path, columns, labelled):
        record = {"audio": Utterance((str(clip),))}
        if labelled:
            record["text" if transcripts else "label"] = value
        records.append(record)
    return records


# ---------------------------------------------------------------------------------------------
# Spoken digits synthesised with espeak-ng: built-in data for machines without FSDD

ESPEAK_VOICES = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4")
ESPEAK_HELD_OUT = {"m7": "test", "f4": "test", "m6": "val", "f3": "val"}  # voices never heard in training


def espeak_clip(path: Path, text: str, voice: str, speed: int = 175, pitch: int = 50) -> Path:
    """`text` said by espeak-ng's en-us voice variant `voice` into the WAV file `path` (22,050 Hz), once:
    a file made earlier is kept."""
    import shutil
    import subprocess

    if not path.is_file():
        if shutil.which("espeak-ng") is None:
            raise UserError("this dataset is synthesised by espeak-ng: apt-get install espeak-ng")
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial.wav")
        command = [
            "espeak-ng",
            "-v",
            f"en-us+{voice}",
            "-s",
            str(speed),
            "-p",
            str(pitch),
            "-w",
            str(partial),
        ]
        subprocess.run([*command, text], check=True, capture_output=True)
        os.replace(partial, path)
    return path


def espeak_digits(
    folder: Path, speeds: tuple[int, ...] = (140, 175), pitches: tuple[int, ...] = (35, 65)
) -> dict[str, list[dict]]:
    """The digits zero to nine spoken by eleven espeak-ng voice variants at two speeds and two pitches
    (22,050 Hz), synthesised once into `folder`; two voices test and two validate."""
    splits: dict[str, list[dict]] = {"train": [], "val": [], "test": []}
    for voice in ESPEAK_VOICES:
        for speed in speeds:
            for pitch in pitches:
                for digit, word in enumerate(DIGITS):
                    clip = espeak_clip(
                        folder / f"{digit}_{voice}_{speed}_{pitch}.wav", word, voice, speed, pitch
                    )
                    splits[ESPEAK_HELD_OUT.get(voice, "train")].append(
                        {"audio": Utterance((str(clip),)), "label": str(digit)}
                    )
    return splits


def espeak_sentences(folder: Path, sentences: list[str], voices: tuple[str, ...] = ("m3", "f2")) -> dict:
    """English sentences said by espeak-ng voice variants, synthesised once into `folder`, for speech
    generation: {"audio", "text", "speaker"}; of every ten sentences one tests and one validates."""
    splits: dict[str, list[dict]] = {"train": [], "val": [], "test": []}
    for n, sentence in enumerate(sentences):
        split = "test" if n % 10 == 9 else "val" if n % 10 == 8 else "train"
        for voice in voices:
            clip = espeak_clip(folder / f"{n}_{voice}.wav", sentence, voice)
            splits[split].append({"audio": Utterance((str(clip),)), "text": sentence, "speaker": voice})
    return splits


# ---------------------------------------------------------------------------------------------
# The Free Spoken Digit Dataset: 6 speakers x 10 digits x 50 takes; takes 0-4 are its test split


_FSDD_NAME = re.compile(r"(\d)_([a-z]+)_(\d+)\.wav$")


def fsdd_clips(folder: Path) -> list[tuple[int, str, int, str]]:
    """(digit, speaker, take, path) of every recording."""
    recordings = folder / "recordings"
    clips = [
        (int(m[1]), m[2], int(m[3]), str(p))
        for p in sorted(recordings.glob("*.wav"))
        if (m := _FSDD_NAME.search(p.name))
    ]
    if not clips:
        raise UserError(f"{recordings} holds no FSDD recordings (DIGIT_SPEAKER_TAKE.wav)")
    return clips


def fsdd_split(take: int) -> str:
    """The official test split is takes 0-4; takes 5-9 serve for validation, 10-49 for training."""
    return "test" if take < 5 else "val" if take < 10 else "train"


def fsdd_words(folder: Path, held_out_speaker: str | None = None) -> dict[str, list[dict]]:
    """Spoken-digit classification. With `held_out_speaker`, that speaker is the test split and takes
    0-4 of the others validate."""
    splits: dict[str, list[dict]] = {"train": [], "val": [], "test": []}
    for digit, speaker, take, path in fsdd_clips(folder):
        if held_out_speaker is None:
            split = fsdd_split(take)
        else:
            split = "test" if speaker == held_out_speaker else "val" if take < 5 else "train"
        splits[split].append({"audio": Utterance((path,)), "label": str(digit)})
    return splits


def fsdd_speech(folder: Path) -> dict[str, list[dict]]:
    """Speech to learn to say: each recording as the digit's word, in its speaker's voice, dealt by take as
    the official split."""
    splits: dict[str, list[dict]] = {"train": [], "val": [], "test": []}
    for digit, speaker, take, path in fsdd_clips(folder):
        splits[fsdd_split(take)].append(
            {"audio": Utterance((path,)), "text": DIGITS[digit], "speaker": speaker}
        )
    return splits


def fsdd_digit_strings(
    folder: Path, sizes: dict[str, int], longest: int = 5, seed: int = 0
) -> dict[str, list[dict]]:
    """Spoken digit strings for recognition: 1 to `longest` clips of one speaker joined by 50-250 ms
    of silence, transcribed as words ("four one nine"), with the speaker's name. Each split draws only on
    its own takes."""
    rng = random.Random(seed)
    pools: dict[tuple[str, str], list[tuple[int, str]]] = {}
    for digit, speaker, take, path in fsdd_clips(folder):
        pools.setdefault((fsdd_split(take), speaker), []).append((digit, path))
    speakers = sorted({speaker for _, speaker in pools})
    splits = {}
    for split, count in sizes.items():
        records = []
        for _ in range(count):
            speaker = rng.choice(speakers)
            pool = pools[(split, speaker)]
            chosen = [rng.choice(pool) for _ in range(rng.randint(1, longest))]
            utterance = Utterance(tuple(p for _, p in chosen), gap=round(rng.uniform(0.05, 0.25), 3))
            records.append(
                {"audio": utterance, "text": " ".join(DIGITS[d] for d, _ in chosen), "speaker": speaker}
            )
        splits[split] = records
    return splits


def _read(shape: str, path: Path, data, labelled: bool) -> list[dict]:
    return read_clips(path, transcripts=shape == "transcribed", labelled=labelled)


AUDIO = InputKind(
    "audio",
    read=_read,
    reads=("labelled", "transcribed"),
    detect=lambda path, data: is_audio(path),
    holds=holds_audio,
    tasks={"classify": "seqlab.tasks.series:SeriesClassifyTask"},
    folders=True,
    prepare=featurize,
    stacked=True,
)
