"""The Numenta Anomaly Benchmark's scoring (Lavin & Ahmad 2015), ported.

A detector flags points (score >= threshold). Each labelled anomaly window earns the detector the
scaled sigmoid of its first flag's position in the window (early flags near +1), or costs `fn` when
no flag falls in it; a flag outside every window costs `fp` times the sigmoid of its distance past
the previous window (-1 before the first window). Flags in the probationary period, the first 15%
of a file (at most 750 points), count for nothing. A corpus is normalised so that the null detector
(no flags) scores 0 and the perfect one 100.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

PROBATION = 0.15


@dataclass(frozen=True)
class Profile:
    tp: float = 1.0
    fn: float = 1.0
    fp: float = 0.11


PROFILES = {
    "standard": Profile(),
    "reward_low_FP_rate": Profile(fp=0.22),
    "reward_low_FN_rate": Profile(fn=2.0),
}


@dataclass
class FileScore:
    score: float
    tp: int  # flagged points inside windows, after the probationary period
    tn: int
    fp: int
    fn: int
    per_point: np.ndarray  # (n,) each window's reward on its first point, each false flag's cost on its own


def probationary_length(n: int) -> int:
    return int(min(math.floor(PROBATION * n), PROBATION * 5000))


def scaled_sigmoid(position: float) -> float:
    """From about +1 to -1 as `position` goes from early (-1, a window's start) to late; -1 beyond 3."""
    return -1.0 if position > 3.0 else 2.0 / (1.0 + math.exp(5.0 * position)) - 1.0


def window_positions(n: int, windows: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """Per point, its unweighted sigmoid score and its window (-1 outside every window).

    `windows`: inclusive (first, last) point indices, in time order.
    """
    scores, owner = np.empty(n), np.full(n, -1)
    previous = None  # (last index, width) of the latest window that has ended
    for i in range(n):
        inside = next((w for w, (first, last) in enumerate(windows) if first <= i <= last), None)
        if inside is not None:
            first, last = windows[inside]
            width = last - first + 1
            scores[i] = scaled_sigmoid(-(last - i + 1) / width)
            owner[i] = inside
            if i == last:
                previous = (last, width)
        elif previous is not None:
            scores[i] = scaled_sigmoid(abs(previous[0] - i) / (previous[1] - 1))
        else:  # before the first window: the full cost, as in the scores NAB published
            scores[i] = -1.0
    return scores, owner


def score_file(
    flags: np.ndarray,
    windows: list[tuple[int, int]],
    profile: Profile,
    positions: tuple[np.ndarray, np.ndarray] | None = None,
) -> FileScore:
    """NAB's score of one file: `flags` (n,) bool, the points the detector raised. `positions`:
    `window_positions(n, windows)`, computed once when one file is scored many times."""
    n = len(flags)
    sigmoid, owner = positions if positions is not None else window_positions(n, windows)
    counted = np.arange(n) >= probationary_length(n)
    per_point = np.zeros(n)
    false = flags & counted & (owner < 0)
    per_point[false] = sigmoid[false] * profile.fp
    best = scaled_sigmoid(-1.0)  # a flag on a window's first point earns exactly `tp`
    for w, (first, last) in enumerate(windows):
        if last < len(counted) and not counted[last]:
            continue  # a window inside the probationary period is not scored
        hits = np.flatnonzero(flags & counted & (owner == w))
        per_point[first] += sigmoid[hits[0]] / best * profile.tp if len(hits) else -profile.fn
    inside = owner >= 0
    return FileScore(
        score=float(per_point.sum()),
        per_point=per_point,
        tp=int((flags & counted & inside).sum()),
        fp=int(false.sum()),
        fn=int((~flags & counted & inside).sum()),
        tn=int((~flags & counted & ~inside).sum()),
    )


def normalised(raw_total: float, windows_total: int, profile: Profile) -> float:
    """A corpus score on NAB's scale: the null detector 0, the perfect detector 100."""
    null, perfect = -profile.fn * windows_total, profile.tp * windows_total
    return 100.0 * (raw_total - null) / (perfect - null)


def window_indices(timestamps, windows: list[list[str]]) -> list[tuple[int, int]]:
    """NAB's `[start, end]` timestamp windows as inclusive point indices of `timestamps`."""
    import pandas as pd

    times = pd.DatetimeIndex(pd.to_datetime(timestamps))
    spans = []
    for start, end in windows:
        first = int(times.searchsorted(pd.Timestamp(start), side="left"))
        last = int(times.searchsorted(pd.Timestamp(end), side="right")) - 1
        spans.append((first, last))
    return spans
