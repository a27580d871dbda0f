"""Drawing images pixel by pixel (`--task lm` with `data.input=image`): every grey pixel, in reading
order, from the ones before it and the image's class, as PixelRNN reads an image (van den Oord et al.
2016). Pixels are quantised to `data.levels` grey levels and each is a choice among them; the score is
the negative log-likelihood in bits per pixel (`bits_per_pixel`; `nll` in nats).

The sequence of an image of class c is [c] p1 … p(HW-1), predicting p1 … pHW. Training replaces the
class by an "any class" token one time in ten, so that one model draws a digit of a class asked for,
or of any class (`seqlab generate RUN --prompt 7 --out seven.png`; no prompt: any).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from torch import nn

from seqlab.config import RunConfig
from seqlab.data.batch import Batch
from seqlab.data.images import start_token
from seqlab.errors import UserError
from seqlab.files import read_json, write_json
from seqlab.heads.lm import LMHead
from seqlab.modules.adapters import TokenAdapter
from seqlab.tasks.base import HeadParts, Task

UNCONDITIONED = 0.1  # the share of training images whose class is hidden behind the "any class" token


class PixelTask(Task):
    """Records {"values": (H, W) grey pixels in [0, 1], "label"?} (`seqlab.data.images`)."""

    name = "lm"
    files = ("pixels.json",)
    primary_metric = "bits_per_pixel"
    higher_is_better = False
    causal = True
    verbs = ("draw",)

    def __init__(self, config: RunConfig, labels: list[str] | None = None, shape: tuple[int, int] = (0, 0)):
        super().__init__(config, labels=labels)
        self.shape = shape  # (H, W) of every image

    @classmethod
    def build_adapter(cls, config, sizes: dict[str, int], encoder) -> nn.Module:
        """Embeddings of the grey levels, then of the classes and of "any class"."""
        return TokenAdapter(sizes["vocab_size"], config.model.embed_dim, config.model.dropout)

    @classmethod
    def build_head(cls, config, parts: HeadParts) -> nn.Module:
        return LMHead(parts.width, parts.sizes["num_labels"], None, config.model.dropout)

    @property
    def levels(self) -> int:
        return self.config.data.levels

    def fit(self, train: list) -> None:
        if self.config.data.channels != 1:
            raise UserError("an image language model draws grey images: set data.channels=1")
        if not 2 <= self.levels <= 256:
            raise UserError(f"data.levels must be from 2 to 256; got {self.levels}")
        self.labels = sorted({str(r["label"]) for r in train if "label" in r})
        self.shape = tuple(train[0]["values"].shape)  # type: ignore[assignment]
        if self.shape[0] * self.shape[1] > self.config.data.max_length:
            raise UserError(
                f"{self.shape[0]}×{self.shape[1]} images are {self.shape[0] * self.shape[1]} pixels, over "
                f"data.max_length={self.config.data.max_length}; set data.image_size smaller or raise it"
            )

    def model_sizes(self) -> dict[str, int]:
        return {"vocab_size": self.levels + len(self.labels) + 1, "num_labels": self.levels}

    def save(self, run_dir: Path) -> None:
        write_json(run_dir / "pixels.json", {"labels": self.labels, "shape": self.shape})

    @classmethod
    def load(cls, config: RunConfig, run_dir: Path) -> PixelTask:
        saved = read_json(run_dir / "pixels.json")
        return cls(config, saved["labels"], tuple(saved["shape"]))

    # -- data ---------------------------------------------------------------------------------

    @property
    def anyone(self) -> int:
        """The token of "any class"."""
        return self.levels + len(self.labels)

    def start_token(self, label: str | None) -> int:
        """The token an image's sequence starts with: its class, or "any class" (None)."""
        return start_token(self.labels, self.levels, label)

    def encode(self, records: list, with_targets: bool = True) -> list:
        examples = []
        for n, record in enumerate(records):
            values = record["values"]
            if tuple(values.shape) != self.shape:
                raise UserError(
                    f"image {n + 1} is {values.shape[0]}×{values.shape[1]}; the model draws "
                    f"{self.shape[0]}×{self.shape[1]} images"
                )
            pixels = torch.from_numpy(
                np.rint(values.reshape(-1) * (self.levels - 1)).astype(np.int64)
            )  # (HW,)
            label = str(record["label"]) if "label" in record else None
            examples.append({"pixels": pixels, "start": self.start_token(label)})
        return examples

    def length(self, example) -> int:
        return len(example["pixels"])

    def batches(self, examples: list, batch_size: int, generator: torch.Generator | None = None):
        """While training (a generator given), one image in ten starts with "any class" instead of its own."""
        if generator is not None and self.labels:
            hidden = torch.rand(len(examples), generator=generator) < UNCONDITIONED
            examples = [{**e, "start": self.anyone} if h else e for e, h in zip(examples, hidden.tolist())]
        yield from super().batches(examples, batch_size, generator)

    def collate(self, examples: list) -> Batch:
        pixels = torch.stack([e["pixels"] for e in examples])  # (B, HW)
        starts = torch.tensor([[e["start"]] for e in examples])  # (B, 1)
        inputs = torch.cat([starts, pixels[:, :-1]], dim=1)  # (B, HW): what each position has seen
        return Batch(inputs=inputs, mask=torch.ones_like(inputs, dtype=torch.bool), targets=pixels)

    def decode(self, model, logits: torch.Tensor, batch: Batch) -> list:
        return list(logits.argmax(-1))

    def evaluate(self, model, examples: list, batch_size: int, autocast) -> dict[str, float]:
        _, nll = self.run(model, examples, batch_size, autocast)
        return bits(nll)

    def baseline(self, train: list, held_out: list) -> dict | None:
        """Every pixel drawn on its own from its position's histogram over the training images of its
        class (add-one smoothed), as the model also knows the class."""
        nll, count = 0.0, 0
        for start in {e["start"] for e in held_out}:
            seen = torch.stack([e["pixels"] for e in train if e["start"] == start or start >= self.anyone])
            counts = torch.stack(
                [torch.bincount(column, minlength=self.levels) for column in seen.T]
            )  # (HW, L)
            p = (counts + 1).double() / (len(seen) + self.levels)  # (HW, L)
            truth = torch.stack([e["pixels"] for e in held_out if e["start"] == start])  # (M, HW)
            nll, count = nll - float(p.log().gather(1, truth.T).sum()), count + truth.numel()
        return {
            "baseline": "each pixel on its own, from its position's histogram in its class",
            **bits(nll / count),
        }

    # -- use ----------------------------------------------------------------------------------

    @torch.no_grad()
    def draw(self, pipeline, label: str | None = None, count: int = 1, seed: int | None = None) -> np.ndarray:
        """(count, H, W) grey images in [0, 1] drawn pixel by pixel, of class `label` (None: any); the
        encoder's state is carried from pixel to pixel."""
        model = pipeline.model
        model.eval()
        generator = torch.Generator().manual_seed(seed) if seed is not None else None
        feed = torch.full((count, 1), self.start_token(label))  # (N, 1)
        state, drawn = None, []
        for _ in range(self.shape[0] * self.shape[1]):
            with pipeline.autocast():
                encoded = model.encode(
                    Batch(inputs=feed, mask=torch.ones_like(feed, dtype=torch.bool)), state
                )
                logits = model.head.logits(encoded.hidden[:, -1]).float()  # (N, L)
            state = encoded.state
            feed = torch.multinomial(logits.softmax(-1), 1, generator=generator)  # (N, 1)
            drawn.append(feed[:, 0])
        pixels = torch.stack(drawn, dim=1).reshape(count, *self.shape)  # (N, H, W)
        return pixels.numpy() / (self.levels - 1)


def bits(nll: float) -> dict[str, float]:
    """A negative log-likelihood per pixel in nats, and in bits."""
    return {"bits_per_pixel": nll / math.log(2), "nll": nll, "loss": nll}
