"""Symbolic music: piano rolls, read from the JSB Chorales JSON layout and written as MIDI.

A piano roll is a list of frames, each the set of MIDI pitches sounding in it. The model sees a
(T, P) 0/1 matrix over the pitches `data.pitch_low` … `data.pitch_high` (88 piano keys by default);
a pitch outside that range is an error naming the piece, frame and pitch.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from seqlab.errors import UserError

JSON_SPLITS = {"train": "train", "valid": "val", "val": "val", "test": "test"}


def read_roll_json(path: Path) -> dict[str, list[list[list[int]]]]:
    """Pieces by split from `{"train": [...], "valid": [...], "test": [...]}` (each piece a list of
    frames, each frame a list of pitches), or a bare list of pieces (all train)."""
    from seqlab.data.text import read_text

    try:
        raw = json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise UserError(f"{path} is not valid JSON ({exc.msg}, line {exc.lineno})") from None
    if isinstance(raw, list):
        raw = {"train": raw}
    if not isinstance(raw, dict) or "train" not in raw:
        raise UserError(f"{path}: expected a list of pieces or a mapping with a 'train' list of pieces")
    return {JSON_SPLITS.get(name, name): pieces for name, pieces in raw.items()}


def roll_matrix(piece: list[list[int]], low: int, high: int, where: str) -> np.ndarray:
    """Frames of pitches → a (T, high - low + 1) float32 0/1 matrix."""
    if not isinstance(piece, list) or len(piece) < 2:
        raise UserError(f"{where} needs at least 2 frames of pitches")
    roll = np.zeros((len(piece), high - low + 1), dtype=np.float32)
    for t, frame in enumerate(piece):
        for pitch in frame:
            if not isinstance(pitch, (int, np.integer)) or not low <= pitch <= high:
                raise UserError(f"{where}, frame {t + 1}: pitch {pitch!r} lies outside data.pitch_low={low} … "
                                f"data.pitch_high={high}; widen the range or drop the note")
            roll[t, pitch - low] = 1.0
    return roll


def write_midi(roll: np.ndarray, path: Path, low: int, seconds_per_frame: float = 0.5, program: int = 0) -> None:
    """A (T, P) 0/1 roll as a one-track MIDI file (pretty_midi): a held pitch is one note."""
    import io

    import pretty_midi

    from seqlab.training.run_dir import atomic_write

    midi = pretty_midi.PrettyMIDI()
    track = pretty_midi.Instrument(program=program)
    padded = np.vstack([np.zeros((1, roll.shape[1])), roll, np.zeros((1, roll.shape[1]))]) > 0.5  # (T + 2, P)
    for p in range(roll.shape[1]):
        edges = np.flatnonzero(padded[1:, p] != padded[:-1, p])  # onsets and offsets, in turn
        for start, end in zip(edges[::2], edges[1::2]):
            track.notes.append(pretty_midi.Note(velocity=80, pitch=low + p, start=start * seconds_per_frame,
                                                end=end * seconds_per_frame))
    midi.instruments.append(track)
    buffer = io.BytesIO()
    midi.write(buffer)
    atomic_write(Path(path), buffer.getvalue())


def plot_roll(roll: np.ndarray, path: Path, low: int, title: str = "") -> None:
    """A (T, P) roll as a PNG piano-roll image: time across, pitch up, sounding cells dark."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from seqlab.training.run_dir import atomic_write

    sounding = np.flatnonzero(roll.any(axis=0))
    bottom, top = (sounding.min(), sounding.max()) if len(sounding) else (0, roll.shape[1] - 1)
    figure, axes = plt.subplots(figsize=(max(4.0, len(roll) / 8), 3.5))
    axes.imshow(roll[:, bottom : top + 1].T, origin="lower", aspect="auto", cmap="Greys", interpolation="nearest",
                extent=(0, len(roll), low + bottom - 0.5, low + top + 0.5))
    axes.set_xlabel("frame")
    axes.set_ylabel("MIDI pitch")
    axes.set_title(title)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    atomic_write(Path(path), buffer.getvalue())
