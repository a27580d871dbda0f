"""Symbolic music: piano rolls, read from the JSB Chorales JSON layout, MIDI files (pretty_midi) and
scores in ABC, MusicXML or Humdrum (music21), and written as MIDI.

A piano roll is a list of frames, each the set of MIDI pitches sounding in it. The model sees a
(T, P) 0/1 matrix over the pitches `data.pitch_low` … `data.pitch_high` (88 piano keys by default);
a pitch outside that range is an error naming the piece, frame and pitch.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from seqlab.data.inputs import InputKind
from seqlab.errors import UserError
from seqlab.files import atomic_write, read_text

JSON_SPLITS = {"train": "train", "valid": "val", "val": "val", "test": "test"}


def read_roll_json(path: Path) -> dict[str, list[list[list[int]]]]:
    """Pieces by split from `{"train": [...], "valid": [...], "test": [...]}` (each piece a list of
    frames, each frame a list of pitches), or a bare list of pieces (all train)."""
    try:
        raw = json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise UserError(f"{path} is not valid JSON ({exc.msg}, line {exc.lineno})") from None
    if isinstance(raw, list):
        raw = {"train": raw}
    if not isinstance(raw, dict) or "train" not in raw:
        raise UserError(f"{path}: expected a list of pieces or a mapping with a 'train' list of pieces")
    return {JSON_SPLITS.get(name, name): pieces for name, pieces in raw.items()}


SCORE_SUFFIXES = (".abc", ".xml", ".musicxml", ".mxl", ".krn")
MIDI_SUFFIXES = (".mid", ".midi")


def read_pieces(path: Path) -> list[list[list[int]]]:
    """Piano rolls on a beat grid from one MIDI or score file, or from every such file in a folder."""
    files = _music_files(Path(path))
    return [midi_roll(f) if f.suffix.lower() in MIDI_SUFFIXES else score_roll(f) for f in files]


def _music_files(path: Path) -> list[Path]:
    """`path` itself, or the MIDI and score files of the folder `path`."""
    if not path.exists():
        raise UserError(f"{path} does not exist")
    files = (
        sorted(p for p in path.iterdir() if p.suffix.lower() in MIDI_SUFFIXES + SCORE_SUFFIXES)
        if path.is_dir()
        else [path]
    )
    if not files:
        raise UserError(
            f"{path} holds no MIDI ({', '.join(MIDI_SUFFIXES)}) or score ({', '.join(SCORE_SUFFIXES)}) files"
        )
    return files


def midi_roll(path: Path) -> list[list[int]]:
    """The pitches sounding at every beat of a MIDI file (pretty_midi's beat tracking of its tempo map),
    drums left out."""
    import pretty_midi

    try:
        midi = pretty_midi.PrettyMIDI(str(path))
    except Exception as exc:  # pretty_midi and mido raise many kinds on a broken file
        raise UserError(f"{path} is not a readable MIDI file ({type(exc).__name__}: {exc})") from None
    notes = [n for i in midi.instruments if not i.is_drum for n in i.notes]
    if not notes:
        raise UserError(f"{path} holds no notes (drums aside): nothing to learn from")
    return [sorted({n.pitch for n in notes if n.start <= beat < n.end}) for beat in midi.get_beats()]


def score_roll(source) -> list[list[int]]:
    """The pitches sounding at every quarter note of a score: a file music21 reads (ABC, MusicXML,
    Humdrum) or a parsed music21 score."""
    if not hasattr(source, "flatten"):
        source = _parse_score(source)
    frames: list[set[int]] = [set() for _ in range(int(float(source.highestTime)))]
    for element in source.flatten().notes:  # notes and chords
        start, end = float(element.offset), float(element.offset + element.quarterLength)
        for t in range(int(np.ceil(start)), min(int(np.ceil(end)), len(frames))):
            frames[t].update(p.midi for p in element.pitches)
    if not any(frames):
        raise UserError(f"{source} holds no notes: nothing to learn from")
    return [sorted(f) for f in frames]


def bach_chorales(cache: Path) -> dict[str, list]:
    """The four-part Bach chorales of music21's corpus as quarter-note rolls, parsed once and kept in
    `cache` as JSON; every tenth chorale tests, the one before it validates."""
    if not cache.is_file():
        try:
            from music21 import corpus
        except ImportError:
            raise UserError(
                "dataset 'bach-chorales' ships in the package 'music21': pip install 'seqlab[demo]'"
            ) from None
        pieces = []
        for path in corpus.getComposer("bach"):
            score = corpus.parse(path)
            if len(score.parts) == 4:
                pieces.append(score_roll(score))
        atomic_write(cache, json.dumps(pieces))
    pieces = json.loads(cache.read_text())
    splits: dict[str, list] = {"train": [], "val": [], "test": []}
    for n, piece in enumerate(pieces):
        splits["test" if n % 10 == 9 else "val" if n % 10 == 8 else "train"].append(piece)
    return splits


# ---------------------------------------------------------------------------------------------
# Melodies as event tokens: `PITCH:BEATS` per note (MIDI pitch, length in quarter notes), `r:BEATS`
# per rest, `end` after each tune; a tune is one line of text for the word-level language model.

END = "end"


def _event(pitch: int | None, beats: float) -> str:
    return f"{'r' if pitch is None else pitch}:{round(beats, 3):g}"


def score_melody(source) -> str:
    """A tune's event tokens: the first part of a music21 score (its top note where it holds a chord)."""
    part = source.parts[0] if getattr(source, "parts", None) else source
    events = [
        _event(max(p.midi for p in e.pitches) if e.isNote or e.isChord else None, float(e.quarterLength))
        for e in part.flatten().notesAndRests
        if float(e.quarterLength) > 0
    ]
    if not any(not e.startswith("r:") for e in events):
        raise UserError(f"{source} holds no notes: nothing to learn from")
    return " ".join(events + [END])


def midi_melody(path: Path) -> str:
    """A tune's event tokens from the first instrument of a MIDI file (its top note where notes overlap)."""
    import pretty_midi

    try:
        midi = pretty_midi.PrettyMIDI(str(path))
    except Exception as exc:  # pretty_midi and mido raise many kinds on a broken file
        raise UserError(f"{path} is not a readable MIDI file ({type(exc).__name__}: {exc})") from None
    tracks = [i for i in midi.instruments if not i.is_drum and i.notes]
    if not tracks:
        raise UserError(f"{path} holds no notes (drums aside): nothing to learn from")
    beat = lambda seconds: midi.time_to_tick(seconds) / midi.resolution  # noqa: E731
    events, now = [], 0.0
    for note in sorted(tracks[0].notes, key=lambda n: (n.start, -n.pitch)):
        start = beat(note.start)
        if start < now:  # under a note already sounding: a lower voice
            continue
        if start > now:
            events.append(_event(None, start - now))
        events.append(_event(note.pitch, beat(note.end) - start))
        now = beat(note.end)
    return " ".join(events + [END])


def read_melodies(path: Path) -> list[str]:
    """One line of event tokens per tune of a MIDI or score file (an ABC file may hold many), or of
    every such file in a folder."""
    files = _music_files(Path(path))
    tunes = []
    for file in files:
        if file.suffix.lower() in MIDI_SUFFIXES:
            tunes.append(midi_melody(file))
            continue
        parsed = _parse_score(file)
        tunes += [score_melody(score) for score in getattr(parsed, "scores", [parsed])]
    return tunes


def _parse_score(path: Path):
    try:
        from music21 import converter
    except ImportError:
        raise UserError(f"reading {path} needs music21: pip install 'seqlab[demo]'") from None

    try:
        return converter.parse(str(path))
    except Exception as exc:  # music21 raises its own exception per format
        raise UserError(f"{path} is not a readable score ({type(exc).__name__}: {exc})") from None


def write_melody_midi(tokens: list[str], path: Path, seconds_per_beat: float = 0.5, program: int = 0) -> None:
    """Event tokens as a one-track MIDI file; `end` and tokens that are not events are skipped."""
    import io

    import pretty_midi

    midi = pretty_midi.PrettyMIDI()
    track = pretty_midi.Instrument(program=program)
    now = 0.0
    for token in tokens:
        pitch, _, beats = token.partition(":")
        try:
            length = float(beats) * seconds_per_beat
        except ValueError:
            continue
        if pitch.isdigit() and 0 <= int(pitch) <= 127 and length > 0:
            track.notes.append(pretty_midi.Note(velocity=80, pitch=int(pitch), start=now, end=now + length))
        now += max(length, 0.0)
    midi.instruments.append(track)
    buffer = io.BytesIO()
    midi.write(buffer)
    atomic_write(Path(path), buffer.getvalue())


def essen_melodies(
    cache: Path, files: tuple[str, ...] = ("altdeu10.abc", "altdeu20.abc", "kinder0.abc")
) -> str:
    """German folk songs of the Essen collection in music21's corpus as event-token lines, parsed once
    and kept in `cache`."""
    if not cache.is_file():
        try:
            from music21 import corpus
        except ImportError:
            raise UserError(
                "dataset 'essen-melodies' ships in the package 'music21': pip install 'seqlab[demo]'"
            ) from None
        paths = {p.name: p for p in corpus.getComposer("essenFolksong")}
        atomic_write(cache, "\n".join(tune for name in files for tune in read_melodies(paths[name])) + "\n")
    return cache.read_text()


def check_frames(frames: int, context: int) -> None:
    """Refuse to compose more frames than an encoder of a bounded context reads after the opening one."""
    if 1 + frames > context:
        raise UserError(
            f"this model reads at most {context} frames (data.max_length): compose at most {context - 1}"
        )


def roll_matrix(piece: list[list[int]], low: int, high: int, where: str) -> np.ndarray:
    """Frames of pitches → a (T, high - low + 1) float32 0/1 matrix."""
    if not isinstance(piece, list) or len(piece) < 2:
        raise UserError(f"{where} needs at least 2 frames of pitches")
    roll = np.zeros((len(piece), high - low + 1), dtype=np.float32)
    for t, frame in enumerate(piece):
        for pitch in frame:
            if not isinstance(pitch, (int, np.integer)) or not low <= pitch <= high:
                raise UserError(
                    f"{where}, frame {t + 1}: pitch {pitch!r} lies outside data.pitch_low={low} … "
                    f"data.pitch_high={high}; widen the range or drop the note"
                )
            roll[t, pitch - low] = 1.0
    return roll


def transpose(roll, most: int, generator):
    """A (T, P) roll tensor shifted by a random number of semitones, at most `most` either way and never
    past the edge of the pitch range: the same music in another key."""
    import torch

    sounding = roll.any(0).nonzero().flatten()  # the pitch columns the piece uses
    if not len(sounding):
        return roll
    lowest = max(-most, -int(sounding[0]))
    highest = min(most, roll.shape[1] - 1 - int(sounding[-1]))
    shift = int(torch.randint(lowest, highest + 1, (1,), generator=generator))
    return torch.roll(roll, shift, dims=1)  # the columns that wrap round are silent


def write_midi(
    roll: np.ndarray, path: Path, low: int, seconds_per_frame: float = 0.5, program: int = 0
) -> None:
    """A (T, P) 0/1 roll as a one-track MIDI file (pretty_midi): a held pitch is one note."""
    atomic_write(Path(path), midi_bytes(roll, low, seconds_per_frame, program))


def midi_bytes(roll: np.ndarray, low: int, seconds_per_frame: float = 0.5, program: int = 0) -> bytes:
    """The bytes of `write_midi`'s file."""
    import io

    buffer = io.BytesIO()
    roll_midi(roll, low, seconds_per_frame, program).write(buffer)
    return buffer.getvalue()


def roll_wav(roll: np.ndarray, low: int, seconds_per_frame: float = 0.5, rate: int = 16000) -> bytes:
    """A (T, P) 0/1 roll played by pretty_midi's sine-wave synthesizer, as the bytes of a 16-bit WAV file."""
    import io

    import soundfile

    audio = roll_midi(roll, low, seconds_per_frame).synthesize(fs=rate)
    audio = 0.9 * audio / max(float(np.abs(audio).max()), 1e-9)
    buffer = io.BytesIO()
    soundfile.write(buffer, audio, rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def roll_midi(roll: np.ndarray, low: int, seconds_per_frame: float = 0.5, program: int = 0):
    """A (T, P) 0/1 roll as a one-track pretty_midi.PrettyMIDI: a held pitch is one note."""
    import pretty_midi

    midi = pretty_midi.PrettyMIDI()
    track = pretty_midi.Instrument(program=program)
    padded = np.vstack([np.zeros((1, roll.shape[1])), roll, np.zeros((1, roll.shape[1]))]) > 0.5  # (T + 2, P)
    for p in range(roll.shape[1]):
        edges = np.flatnonzero(padded[1:, p] != padded[:-1, p])  # onsets and offsets, in turn
        for start, end in zip(edges[::2], edges[1::2]):
            track.notes.append(
                pretty_midi.Note(
                    velocity=80, pitch=low + p, start=start * seconds_per_frame, end=end * seconds_per_frame
                )
            )
    midi.instruments.append(track)
    return midi


def write_piece(roll: np.ndarray, path: Path, low: int, title: str) -> None:
    """A generated roll as MIDI at `path` and as a piano-roll plot beside it (the same name, .png)."""
    write_midi(roll, path, low)
    plot_roll(roll, Path(path).with_suffix(".png"), low, title)


def plot_roll(roll: np.ndarray, path: Path, low: int, title: str = "") -> None:
    """A (T, P) roll as a PNG piano-roll image: time across, pitch up, sounding cells dark."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sounding = np.flatnonzero(roll.any(axis=0))
    bottom, top = (sounding.min(), sounding.max()) if len(sounding) else (0, roll.shape[1] - 1)
    figure, axes = plt.subplots(figsize=(max(4.0, len(roll) / 8), 3.5))
    axes.imshow(
        roll[:, bottom : top + 1].T,
        origin="lower",
        aspect="auto",
        cmap="Greys",
        interpolation="nearest",
        extent=(0, len(roll), low + bottom - 0.5, low + top + 0.5),
    )
    axes.set_xlabel("frame")
    axes.set_ylabel("MIDI pitch")
    axes.set_title(title)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    atomic_write(Path(path), buffer.getvalue())


def is_music(path: Path) -> bool:
    """A MIDI file, or a folder that holds MIDI files: piano rolls where data.input is auto."""
    if path.is_file():
        return path.suffix.lower() in MIDI_SUFFIXES
    return path.is_dir() and any(p.suffix.lower() in MIDI_SUFFIXES for p in path.iterdir())


def _roll_splits(path: Path) -> dict[str, list] | None:
    return read_roll_json(path) if path.suffix.lower() == ".json" else None


def _read_pieces(shape: str, path: Path, data, labelled: bool) -> list:
    splits = _roll_splits(Path(path))
    return [p for pieces in splits.values() for p in pieces] if splits is not None else read_pieces(path)


def _read_melodies(shape: str, path: Path, data, labelled: bool) -> list[str]:
    return ["\n".join(read_melodies(path)) + "\n"]


def _write_melody(samples: list[str], path: Path) -> None:
    write_melody_midi(samples[0].split(), path)


# Piano rolls (the JSB Chorales JSON layout, MIDI, MusicXML): a frame's pitches at once, modelled by their
# own task.
MUSIC = InputKind(
    "music",
    read=_read_pieces,
    detect=lambda path, data: is_music(path),
    holds=lambda records: bool(records) and isinstance(records[0], list),  # pieces: lists of frames
    reads=("stream",),
    folders=True,
    split_file=_roll_splits,
    tasks={"lm": "seqlab.tasks.music:PianoRollTask"},
)
# Melodies as event tokens ("60_1.0", "rest_0.5"): text to a language model, MIDI when written.
MELODY = InputKind(
    "melody",
    read=_read_melodies,
    reads=("stream",),
    folders=True,
    tokenizers=("word",),
    pretokenized=True,
    start=END,
    write=_write_melody,
    suffixes=(".mid", ".midi"),
)
