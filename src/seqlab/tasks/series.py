"""Classifying numeric series (`--task classify` on numbers): the text classifier's head, fed float
features instead of token embeddings. Univariate or multivariate, of any length."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from seqlab.config import RunConfig
from seqlab.data.batch import Batch
from seqlab.data.inputs import kind_of
from seqlab.data.series import stack_steps
from seqlab.errors import UserError
from seqlab.files import read_json, write_json
from seqlab.tasks.text import ClassifyTask


def fit_scaling(arrays: list[np.ndarray]) -> dict[str, list[float]]:
    """Each channel's mean and spread over all points of the training arrays (T, C)."""
    points = np.concatenate(arrays)  # (sum T, C)
    spread = points.std(axis=0)
    return {"mean": points.mean(axis=0).tolist(), "spread": np.where(spread > 0, spread, 1.0).tolist()}


def standardise(values: np.ndarray, stats: dict[str, list[float]]) -> torch.Tensor:
    return torch.tensor((values - np.array(stats["mean"])) / np.array(stats["spread"]), dtype=torch.float32)


def padded_frames(examples: list) -> tuple[torch.Tensor, torch.Tensor]:
    """The examples' `values` padded into inputs (B, T, F), and the mask (B, T) of real frames."""
    lengths = torch.tensor([len(e["values"]) for e in examples])
    inputs = torch.nn.utils.rnn.pad_sequence([e["values"] for e in examples], batch_first=True)  # (B, T, F)
    return inputs, torch.arange(inputs.shape[1]).unsqueeze(0) < lengths.unsqueeze(1)


def spec_augment(values, generator, masks: int = 2, max_features: float = 0.15, max_frames: float = 0.1):
    """SpecAugment's frequency and time masking: `masks` bands of up to `max_features` of the
    features and `masks` spans of up to `max_frames` of the frames set to 0 (the training mean, after
    standardising). `values`: (T, F) tensor; a masked copy is returned."""
    values = values.clone()
    T, F = values.shape
    for size, axis in ((F, 1), (T, 0)):
        width = max(1, int(size * (max_features if axis else max_frames)))
        for _ in range(masks):
            w = int(torch.randint(0, width + 1, (1,), generator=generator))
            start = int(torch.randint(0, max(size - w, 0) + 1, (1,), generator=generator))
            if axis:
                values[:, start : start + w] = 0.0
            else:
                values[start : start + w] = 0.0
    return values


def augmented(examples: list, data, generator: torch.Generator | None) -> list:
    """Training examples (those drawn with a generator) as the data settings alter them: each channel
    scaled by 1 + N(0, data.scale_jitter), every point moved by N(0, data.jitter) (Um et al. 2017's
    scaling and jittering), and SpecAugment's masks of bands and spans with data.spec_augment."""
    if generator is None or not (data.spec_augment or data.jitter or data.scale_jitter):
        return examples
    altered = []
    for e in examples:
        values = e["values"]  # (T, F), standardised
        if data.scale_jitter:
            values = values * (1 + data.scale_jitter * torch.randn(1, values.shape[1], generator=generator))
        if data.jitter:
            values = values + data.jitter * torch.randn(values.shape, generator=generator)
        altered.append({**e, "values": spec_augment(values, generator) if data.spec_augment else values})
    return altered


class SeriesClassifyTask(ClassifyTask):
    """Records `{"values": (T, C) floats, "label": …}`; each channel standardised with its training
    mean and spread (saved as `scaling.json`), then `stack` points side by side per step."""

    files = ("labels.json", "scaling.json")

    def __init__(self, config: RunConfig, labels: list[str] | None = None, stats: dict | None = None):
        super().__init__(config, labels=labels)
        self.stats = stats or {}

    def fit(self, train: list) -> None:
        self.labels = sorted({str(r["label"]) for r in train})
        if len(self.labels) < 2:
            raise UserError(
                f"the training data has {len(self.labels)} label(s); classification needs at least 2"
            )
        self.stats = fit_scaling([r["values"] for r in train])

    @classmethod
    def budget_settings(cls, config, short: bool, recurrent: bool) -> dict[str, object]:
        """Numeric series: the UCR/UEA rows' config (configs/ucr.yaml), 128 wide, mean-pooled, over
        batches of 16 at lr 2e-3; audio keeps the static defaults."""
        if config.data.input != "series":
            return {}
        return {
            "model.embed_dim": 64,
            "model.hidden_size": 128,
            "model.dropout": 0.2,
            "model.pooling": "mean",
            "train.batch_size": 16,
            "train.lr": 2e-3,
        }

    @property
    def stack(self) -> int:
        """Points per step: data.stack_frames, unless the input kind stacked its frames as it made them."""
        return 1 if kind_of(self.config.data).stacked else self.config.data.stack_frames

    def model_sizes(self) -> dict[str, int]:
        return {"num_labels": len(self.labels), "num_features": len(self.stats["mean"]) * self.stack}

    def save(self, run_dir: Path) -> None:
        write_json(run_dir / "labels.json", self.labels)
        write_json(run_dir / "scaling.json", self.stats)

    @classmethod
    def load(cls, config: RunConfig, run_dir: Path) -> SeriesClassifyTask:
        return cls(
            config,
            read_json(run_dir / "labels.json"),
            read_json(run_dir / "scaling.json"),
        )

    def encode(self, records: list, with_targets: bool = True) -> list:
        channels, limit = len(self.stats["mean"]), self.config.data.max_length
        index = {label: i for i, label in enumerate(self.labels)}
        examples = []
        for n, record in enumerate(records):
            values = record["values"]
            if values.shape[1] != channels:
                raise UserError(
                    f"series {n + 1} has {values.shape[1]} channel(s); the model was trained on {channels}"
                )
            if len(values) > limit:
                raise UserError(
                    f"series {n + 1} has {len(values)} points, over the model's limit data.max_length={limit}"
                )
            example = {"values": self._steps(values)}
            if with_targets:
                example["target"] = self._target(record["label"], index)
            examples.append(example)
        return examples

    def artifacts(self, model, held_out: list, batch_size: int, autocast) -> dict[str, object]:
        """The confusion matrix; for audio, also the first held-out clip's frames as the model hears them."""
        shown = super().artifacts(model, held_out, batch_size, autocast)
        d = self.config.data
        if d.input != "audio":
            return shown
        probs, _ = self.run(model, held_out[:1], 1, autocast)
        scores = probs[0]
        shown["heard.json"] = {
            "name": "the first held-out clip",
            "features": f"{d.n_mels} log-mel bands" if d.features == "logmel" else f"{d.n_mfcc} MFCCs",
            "label": self.labels[held_out[0]["target"]],
            "predicted": self.labels[max(range(len(scores)), key=scores.__getitem__)],
            "frames": held_out[0]["values"].float().round(decimals=3).tolist(),  # (T, C), standardised
        }
        return shown

    def _steps(self, values: np.ndarray) -> torch.Tensor:
        steps, stack = standardise(values, self.stats), self.stack  # (T, C)
        return (
            torch.from_numpy(stack_steps(steps.numpy(), stack)) if stack > 1 else steps
        )  # (T/stack, C*stack)

    def length(self, example) -> int:
        return len(example["values"])

    def batches(self, examples: list, batch_size: int, generator: torch.Generator | None = None):
        """With data.spec_augment, training masks bands and spans of every audio example's frames."""
        yield from super().batches(augmented(examples, self.config.data, generator), batch_size, generator)

    def collate(self, examples: list) -> Batch:
        inputs, mask = padded_frames(examples)  # (B, T, C), (B, T)
        targets = torch.tensor([e["target"] for e in examples]) if "target" in examples[0] else None
        return Batch(inputs=inputs, mask=mask, targets=targets)
