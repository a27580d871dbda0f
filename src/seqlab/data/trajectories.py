"""Pedestrian trajectories: scenes of tracked positions, as Social-GAN distributes ETH/UCY (`frame ped x y`
per line, tab or space separated, world coordinates in metres, rows in frame order), the windows a model
observes and predicts, the neighbours around each walker, and the two classic baselines.

A scene is one file, read whole: {"scene": its name, "frames": (N,), "peds": (N,), "xy": (N, 2)}. A fold
of the leave-one-scene-out protocol is a folder with train/, val/ and test/ folders of scene files.

Windows follow Social-GAN's loader: over a scene's distinct frames in order, every run of `observed +
predicted` consecutive frames in which a pedestrian is present throughout gives that pedestrian a window,
when at least two pedestrians are (a walker alone is not kept, as the published tables count).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from seqlab.errors import UserError
from seqlab.files import read_text

SUFFIXES = (".txt", ".tsv", ".csv")


def read_scene(path: Path) -> dict:
    """One scene file; rows out of frame order or that are not four numbers are refused."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"data file not found: {path}")
    rows = []
    for n, line in enumerate(read_text(path).splitlines(), 1):
        cells = line.replace(",", " ").split()
        if not cells:
            continue
        try:
            frame, ped, x, y = (float(c) for c in cells)
        except ValueError:
            raise UserError(f"line {n} of {path} is not 'frame pedestrian x y' (four numbers)") from None
        if rows and frame < rows[-1][0]:
            raise UserError(
                f"line {n} of {path}: frame {frame:g} comes after frame {rows[-1][0]:g}; "
                "sort the rows by frame"
            )
        rows.append((frame, ped, x, y))
    if not rows:
        raise UserError(f"{path} holds no positions")
    table = np.array(rows)
    return {"scene": path.stem, "frames": table[:, 0], "peds": table[:, 1], "xy": table[:, 2:4]}


def read_scenes(path: Path) -> list[dict]:
    """The scenes of one file or of a folder of them."""
    path = Path(path)
    if path.is_file():
        return [read_scene(path)]
    files = (
        sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)
        if path.is_dir()
        else []
    )
    if not files:
        raise UserError(f"{path} holds no scene files ({', '.join(SUFFIXES)} of 'frame pedestrian x y' rows)")
    return [read_scene(p) for p in files]


def read_fold(folder: Path) -> dict[str, list[dict]] | None:
    """A fold of Social-GAN's layout (train/, val/, test/ folders of scenes); None for other paths."""
    folder = Path(folder)
    if not (folder / "train").is_dir():
        return None
    return {
        split: read_scenes(folder / split) for split in ("train", "val", "test") if (folder / split).is_dir()
    }


def windows(scene: dict, observed: int, predicted: int) -> tuple[list[dict], int]:
    """The scene's windows {"scene", "ped", "frame" and "step" (its first frame and that frame's place
    among the scene's), "track": (observed + predicted, 2)},
    and how many pedestrians were skipped for a track shorter than one window."""
    length = observed + predicted
    frames = np.unique(scene["frames"])  # (F,) in order
    step_of = {f: i for i, f in enumerate(frames)}
    steps = np.array([step_of[f] for f in scene["frames"]])
    tracks: dict[float, dict[int, np.ndarray]] = {}
    for ped, step, xy in zip(scene["peds"], steps, scene["xy"]):
        tracks.setdefault(float(ped), {})[int(step)] = xy
    short = sum(len(t) < length for t in tracks.values())
    found: dict[int, list[dict]] = {}  # first step → the windows that start there
    for ped, track in tracks.items():
        if len(track) < length:
            continue
        for start in sorted(track):
            if all(s in track for s in range(start, start + length)):
                found.setdefault(start, []).append(
                    {
                        "scene": scene["scene"],
                        "ped": ped,
                        "frame": float(frames[start]),
                        "step": start,
                        "track": np.stack([track[s] for s in range(start, start + length)]),
                    }
                )
    kept = [w for start in sorted(found) if len(found[start]) > 1 for w in found[start]]
    return kept, short


def last_windows(scene: dict, observed: int) -> list[dict]:
    """Each pedestrian's last `observed` positions, where they are consecutive frames: what a prediction
    continues."""
    frames = np.unique(scene["frames"])
    step_of = {f: i for i, f in enumerate(frames)}
    kept = []
    for ped in dict.fromkeys(scene["peds"].tolist()):
        rows = scene["peds"] == ped
        steps = np.array([step_of[f] for f in scene["frames"][rows]])  # in frame order
        if len(steps) >= observed and steps[-1] - steps[-observed] == observed - 1:
            start = int(steps[-observed])
            track = scene["xy"][rows][-observed:]
            kept.append(
                {
                    "scene": scene["scene"],
                    "ped": ped,
                    "frame": float(frames[start]),
                    "step": start,
                    "track": track,
                }
            )
    return kept


def by_frame(scene: dict) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per distinct frame, in order: the pedestrians there (M,) and their positions (M, 2)."""
    frames, first = np.unique(scene["frames"], return_index=True)
    ends = [*first[1:], len(scene["frames"])]  # rows come in frame order
    return [(scene["peds"][a:b], scene["xy"][a:b]) for a, b in zip(first, ends)]


def neighbour_grid(
    frames: list[tuple[np.ndarray, np.ndarray]], window: dict, observed: int, grid: int, cell: float
) -> np.ndarray:
    """(observed, grid * grid): at each observed step, how many other pedestrians stand in each cell of a
    grid of `cell`-metre squares centred on the window's pedestrian (Alahi et al. 2016's occupancy map).
    `frames`: the scene's `by_frame`."""
    counts = np.zeros((observed, grid * grid), dtype=np.float32)
    half = grid * cell / 2
    for step in range(observed):
        peds, xy = frames[window["step"] + step]
        others = xy[peds != window["ped"]] - window["track"][step]  # (M, 2)
        inside = others[(np.abs(others) < half).all(axis=1)]
        cells = np.floor((inside + half) / cell).astype(int).clip(0, grid - 1)  # (M', 2): column, row
        np.add.at(counts[step], cells[:, 1] * grid + cells[:, 0], 1.0)
    return counts


def walker_inputs(window: dict, frames: list, observed: int, grid: int, cell: float) -> np.ndarray:
    """(observed, 2 + grid * grid) float32, what a model reads of a window's walker: each observed step's
    displacement (the first 0) and, with `grid` > 0, the others around it (`neighbour_grid`)."""
    seen = window["track"][:observed]
    steps = np.diff(seen, axis=0, prepend=seen[:1])  # (observed, 2)
    if grid:
        steps = np.concatenate([steps, neighbour_grid(frames, window, observed, grid, cell)], axis=1)
    return steps.astype(np.float32)


# ---------------------------------------------------------------------------------------------
# Baselines: from the observed positions (B, observed, 2) to the predicted ones (B, predicted, 2)


def constant_velocity(seen: np.ndarray, predicted: int) -> np.ndarray:
    """Each walker keeps its last step's displacement."""
    velocity = seen[:, -1] - seen[:, -2]  # (B, 2)
    return seen[:, -1:] + velocity[:, None] * np.arange(1, predicted + 1)[None, :, None]


def linear(seen: np.ndarray, predicted: int) -> np.ndarray:
    """A straight line fitted by least squares to each walker's observed positions, extended in time."""
    observed = seen.shape[1]
    times = np.arange(observed)
    ahead = np.arange(observed, observed + predicted)
    design = np.stack([times, np.ones(observed)], axis=1)  # (observed, 2)
    coefficients = np.linalg.lstsq(design, seen.transpose(1, 0, 2).reshape(observed, -1), rcond=None)[0]
    fitted = np.stack([ahead, np.ones(predicted)], axis=1) @ coefficients  # (predicted, B * 2)
    return fitted.reshape(predicted, -1, 2).transpose(1, 0, 2)
