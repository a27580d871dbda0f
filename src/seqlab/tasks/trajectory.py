"""Where pedestrians walk next (`--task trajectory`): a walker's observed positions, as displacements (and,
with data.social_grid, the others around it at each step), in; the next positions out, as one path or as
a bivariate Gaussian per step that paths are sampled from. Scored in metres: `ade` and `fde` (the average
and final displacement error of the most likely path) and `ade@K`, `fde@K` (the best of K sampled paths,
K = model.samples). The constant-velocity and least-squares-line baselines are scored on the same windows.

Records are scenes (`seqlab.data.trajectories`); evaluation reads every window of observed + predicted
frames, prediction each walker's last observed frames.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from seqlab import metrics
from seqlab.data import trajectories as tracks_io
from seqlab.data.batch import Batch
from seqlab.errors import UserError
from seqlab.heads import mean_loss
from seqlab.heads.trajectory import TrajectoryHead
from seqlab.tasks.base import HeadParts, Task


@dataclass
class TrajectoryData:
    observed_steps: int = 8  # trajectory: positions a model sees (3.2 s at ETH/UCY's 2.5 frames a second)
    predicted_steps: int = 12  # trajectory: positions it predicts (4.8 s)
    social_grid: int = 0  # trajectory: > 0 adds, at every observed step, how many others stand in each cell
    # of a G×G grid around the walker (social pooling); 0 reads the walker alone
    social_cell: float = 1.0  # trajectory: the grid's cell, in metres


@dataclass
class TrajectoryModel:
    gaussian: bool = True  # trajectory: a bivariate Gaussian per step, sampled for ade@K; false: one path
    samples: int = 20  # trajectory: K, the paths drawn per walker for ade@K and fde@K


class TrajectoryTask(Task):
    name = "trajectory"
    files = ()
    primary_metric = "ade"
    higher_is_better = False
    records = "scenes"
    tokenizers = ("word",)  # none is used: the inputs are numbers
    settings = {"data": TrajectoryData, "model": TrajectoryModel}

    @classmethod
    def check_config(cls, config, encoder) -> None:
        super().check_config(config, encoder)
        d, m = config.data, config.model
        if d.observed_steps < 2 or d.predicted_steps < 1 or m.samples < 1:
            raise UserError(
                "trajectory: data.observed_steps must be 2 or more (a velocity needs two positions), "
                "data.predicted_steps and model.samples 1 or more"
            )
        if d.social_grid < 0 or d.social_cell <= 0:
            raise UserError(
                "trajectory: data.social_grid is 0 (off) or a grid's side; data.social_cell > 0 metres"
            )

    @classmethod
    def read(cls, path: Path, data, labelled: bool) -> list[dict]:
        return tracks_io.read_scenes(path)

    @classmethod
    def read_splits(cls, path: Path, data) -> dict[str, list] | None:
        """A fold's own splits; the scenes of any other file or folder train, and whole scenes are held
        out of them to validate and test."""
        return tracks_io.read_fold(path) or {"train": tracks_io.read_scenes(path)}

    @classmethod
    def context_length(cls, config, adapter: nn.Module) -> int:
        return config.data.observed_steps

    @classmethod
    def build_head(cls, config, parts: HeadParts) -> nn.Module:
        d, m = config.data, config.model
        return TrajectoryHead(parts.width, d.observed_steps, d.predicted_steps, m.gaussian, m.dropout)

    def fit(self, train: list) -> None:
        """Nothing is learned from the data but the model: displacements are in metres already."""

    def model_sizes(self) -> dict[str, int]:
        return {"num_features": 2 + self.config.data.social_grid**2}

    def save(self, run_dir: Path) -> None:
        pass

    @classmethod
    def load(cls, config, run_dir: Path) -> TrajectoryTask:
        return cls(config)

    # -- data -------------------------------------------------------------------------------------

    def encode(self, records: list, with_targets: bool = True) -> list[dict]:
        """Scenes → windows {"values": (observed, F), "seen": (observed, 2) positions, and with targets
        "target": (predicted, 2) displacements and "future": (predicted, 2) positions}."""
        d = self.config.data
        observed, predicted = d.observed_steps, d.predicted_steps if with_targets else 0
        examples, short = [], 0
        for scene in records:
            frames = tracks_io.by_frame(scene) if d.social_grid else []
            if with_targets:
                found, skipped = tracks_io.windows(scene, observed, predicted)
                short += skipped
            else:
                found = tracks_io.last_windows(scene, observed)
            for window in found:
                steps = tracks_io.walker_inputs(window, frames, observed, d.social_grid, d.social_cell)
                seen = window["track"][:observed]
                example = {
                    "values": torch.from_numpy(steps),  # (observed, F)
                    "seen": seen,
                    **{k: window[k] for k in ("scene", "ped", "frame")},
                }
                if with_targets:
                    future = window["track"][observed:]
                    example["future"] = future
                    example["target"] = torch.tensor(
                        np.diff(future, axis=0, prepend=seen[-1:]), dtype=torch.float32
                    )
                examples.append(example)
        if short:
            warnings.warn(
                f"{short} pedestrian(s) tracked for fewer than {observed + predicted} frames were skipped"
            )
        if not examples:
            raise UserError(
                f"no walker is tracked for {observed + predicted} consecutive frames beside another: "
                "nothing to score"
                if with_targets
                else f"no walker is tracked for {observed} consecutive frames: nothing to predict"
            )
        return examples

    def length(self, example) -> int:
        return len(example["values"])

    def collate(self, examples: list) -> Batch:
        inputs = torch.stack([e["values"] for e in examples])  # (B, observed, F)
        targets = torch.stack([e["target"] for e in examples]) if "target" in examples[0] else None
        return Batch(inputs=inputs, mask=torch.ones(inputs.shape[:2], dtype=torch.bool), targets=targets)

    # -- use --------------------------------------------------------------------------------------

    @torch.no_grad()
    def paths(self, model, examples: list, batch_size: int, autocast) -> tuple[np.ndarray, np.ndarray, float]:
        """The most likely paths (N, P, 2) and K sampled ones (N, K, P, 2), as positions, with the mean
        loss where targets are known; samples are drawn with seed 0, so scores repeat."""
        model.eval()
        generator = torch.Generator().manual_seed(0)
        head, k = model.head, self.config.model.samples
        means, samples = [None] * len(examples), [None] * len(examples)
        loss_sum, count = 0.0, 0
        for indices, batch in self.batches(examples, batch_size):
            with autocast():
                out = model(batch)
            params = out.logits.float().cpu()  # (B, P, outputs)
            last = torch.tensor(np.stack([examples[i]["seen"][-1] for i in indices]), dtype=torch.float32)
            mean = last[:, None] + head.mean_path(params).cumsum(dim=1)  # (B, P, 2)
            drawn = last[:, None, None] + head.sample(params, k, generator).cumsum(dim=2)  # (B, K, P, 2)
            for j, i in enumerate(indices):
                means[i], samples[i] = mean[j].numpy(), drawn[j].numpy()
            if out.loss_sum is not None:
                loss_sum, count = loss_sum + float(out.loss_sum), count + int(out.count)
        return np.stack(means), np.stack(samples), (mean_loss(loss_sum, count) if count else float("nan"))

    def evaluate(self, model, examples: list, batch_size: int, autocast) -> dict[str, float]:
        mean, drawn, loss = self.paths(model, examples, batch_size, autocast)
        truth = np.stack([e["future"] for e in examples])
        return {**metrics.trajectories(truth, mean, drawn), "loss": loss}

    def baseline(self, train: list, held_out: list) -> dict:
        """Constant velocity (`ade`, `fde`) and a least-squares line (`linear_ade`, `linear_fde`)."""
        seen, truth = np.stack([e["seen"] for e in held_out]), np.stack([e["future"] for e in held_out])
        steps = truth.shape[1]
        line = metrics.trajectories(truth, tracks_io.linear(seen, steps))
        return {
            "baseline": "constant velocity; linear_*: a least-squares line through the observed positions",
            **metrics.trajectories(truth, tracks_io.constant_velocity(seen, steps)),
            **{f"linear_{name}": value for name, value in line.items()},
        }

    def predict(self, pipeline, records: list) -> list:
        """Per walker, its most likely next positions (predicted, 2) after its last observed ones."""
        examples = self.encode(records, with_targets=False)
        mean, _, _ = self.paths(pipeline.model, examples, pipeline.batch_size, pipeline.autocast)
        return [
            {k: e[k] for k in ("scene", "ped", "frame")} | {"path": path} for e, path in zip(examples, mean)
        ]

    def records_from_texts(self, texts: list[str]) -> list:
        raise UserError(
            "a trajectory model reads scene files of 'frame pedestrian x y' rows: give --data FILE"
        )

    def prediction_rows(self, pipeline, records: list, decoding=None) -> Iterator[dict]:
        """A row per predicted position: scene, pedestrian, step ahead (1, 2, …), x, y."""
        for walker in pipeline.predict(records):
            for step, (x, y) in enumerate(walker["path"].tolist(), 1):
                yield {"scene": walker["scene"], "ped": walker["ped"], "step": step, "x": x, "y": y}

    def artifacts(self, model, held_out: list, batch_size: int, autocast) -> dict[str, object]:
        """Eight held-out walkers spread over the windows: observed, true and predicted positions and five
        sampled paths, for the report's drawing."""
        shown = held_out[:: max(1, len(held_out) // 8)][:8]
        mean, drawn, _ = self.paths(model, shown, batch_size, autocast)
        return {
            "trajectories.json": [
                {
                    "seen": e["seen"].round(3).tolist(),
                    "future": e["future"].round(3).tolist(),
                    "predicted": m.round(3).tolist(),
                    "samples": d[:5].round(3).tolist() if self.config.model.gaussian else [],
                }
                for e, m, d in zip(shown, mean, drawn)
            ]
        }
