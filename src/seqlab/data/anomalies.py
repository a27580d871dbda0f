"""Scoring points by how unusual their forecast errors are, without torch: Numenta's anomaly likelihood,
shared by the anomaly task and the runtime."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence

import numpy as np


class Likelihood:
    """Numenta's anomaly likelihood (Ahmad et al. 2017), point by point, as NAB's Numenta detector
    uses it: how improbable the mean of the latest `averaging` errors is under a normal distribution
    fitted to the earlier means (the latest `history` of them, refitted every `refit` points), on a
    log scale from 0 (usual) to 1 (one chance in 10^10). A value more than `tolerance` of the range
    seen so far outside that range scores 1.
    """

    def __init__(
        self,
        seen: Sequence[float] = (),
        averaging: int = 10,
        history: int = 8640,
        refit: int = 100,
        tolerance: float = 0.05,
        warmup: int = 20,
    ):
        self.recent: deque[float] = deque(maxlen=averaging)
        self.means: deque[float] = deque(maxlen=history)
        self.refit, self.tolerance, self.warmup = refit, tolerance, warmup
        self.normal: tuple[float, float] | None = None  # mean and spread of the recent means
        self.seen = 0  # errors seen
        self.low, self.high = math.inf, -math.inf
        for value in seen:  # values before the first scored point: they only set the range
            self.observe(value)

    def observe(self, value: float) -> bool:
        """Widen the range seen by `value`; whether it fell outside the range by more than the tolerance."""
        margin = self.tolerance * (self.high - self.low)
        outside = margin > 0 and not self.low - margin <= value <= self.high + margin
        self.low, self.high = min(self.low, value), max(self.high, value)
        return outside

    def update(self, error: float, value: float) -> float:
        """The score of the point whose value is `value` and whose forecast missed it by `error`."""
        outside = self.observe(value)
        if len(self.means) >= self.warmup and (self.normal is None or self.seen % self.refit == 0):
            means = np.fromiter(self.means, float)
            self.normal = (means.mean(), max(means.std(), 1e-6))
        self.recent.append(error)
        self.seen += 1
        mean = sum(self.recent) / len(self.recent)
        self.means.append(mean)
        if outside:
            return 1.0
        if self.normal is None:
            return 0.0
        tail = 0.5 * math.erfc((mean - self.normal[0]) / self.normal[1] / math.sqrt(2))
        return math.log(tail + 1e-10) / math.log(1e-10)


def likelihoods(seen: np.ndarray, errors: np.ndarray, values: np.ndarray) -> list[float]:
    """The `Likelihood` score of each of a series' consecutive scored points, from its forecast error and
    its value (both (M,), on the series' standardised scale); `seen`: the values before the first scored
    point, which only set the range."""
    likelihood = Likelihood(seen=seen.tolist())
    return [likelihood.update(e, v) for e, v in zip(errors.tolist(), values.tolist())]
