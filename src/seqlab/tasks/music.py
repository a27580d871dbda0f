"""Polyphonic music (`--task lm` with `data.input=music`): the next piano-roll frame from the ones
before it, judged by the standard frame-level negative log-likelihood (`nll`, nats per frame) of
Boulanger-Lewandowski et al. (2012): a piece of T frames predicts its frames 2 … T."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from seqlab.config import RunConfig
from seqlab.data.batch import Batch
from seqlab.data.music import check_frames, roll_matrix, transpose
from seqlab.errors import UserError
from seqlab.heads.pitches import NADEHead, PitchHead
from seqlab.registry import ENCODERS
from seqlab.tasks.base import HeadParts, Task


class PianoRollTask(Task):
    name = "lm"
    files = ()  # the pitch range is in the config; nothing is learned from the data but the model
    primary_metric = "nll"
    higher_is_better = False
    causal = True
    verbs = ("compose",)

    @classmethod
    def build_head(cls, config, parts: HeadParts) -> nn.Module:
        """The next frame's pitches: modelled jointly by a NADE (model.nade_hidden > 0), or each on its
        own."""
        m = config.model
        if m.nade_hidden:
            return NADEHead(parts.width, parts.sizes["num_labels"], m.nade_hidden, m.dropout)
        return PitchHead(parts.width, parts.sizes["num_labels"], m.dropout)

    def __init__(self, config: RunConfig, *args):
        super().__init__(config)

    @property
    def num_pitches(self) -> int:
        return self.config.data.pitch_high - self.config.data.pitch_low + 1

    @classmethod
    def budget_settings(cls, config, short: bool, recurrent: bool) -> dict[str, object]:
        """A short budget: 128 wide over batches of 16 pieces at lr 5e-3 (measured on Bach's chorales in
        30 s); a long one keeps the static defaults."""
        if not short:
            return {}
        return {"model.hidden_size": 128, "train.batch_size": 16, "train.lr": 5e-3}

    def fit(self, train: list) -> None:
        d = self.config.data
        roll_matrix(
            train[0], d.pitch_low, d.pitch_high, "piece 1"
        )  # the range check, before anything is written

    def model_sizes(self) -> dict[str, int]:
        return {"num_features": self.num_pitches, "num_labels": self.num_pitches}

    def save(self, run_dir: Path) -> None:
        pass

    @classmethod
    def load(cls, config: RunConfig, run_dir: Path) -> PianoRollTask:
        return cls(config)

    def encode(self, records: list, with_targets: bool = True) -> list:
        """Each piece's (T, P) roll; a piece over data.max_length + 1 frames is cut into windows of that
        many frames, one frame shared between neighbours, so that every frame after the first is
        predicted once (data.truncate=false refuses such pieces instead)."""
        d = self.config.data
        width = d.max_length + 1
        long = [n for n, piece in enumerate(records) if len(piece) > width]
        if long and not d.truncate:
            raise UserError(
                f"piece {long[0] + 1} has {len(records[long[0]])} frames, over the model's limit "
                f"data.max_length={d.max_length} (+1); data.truncate=true cuts long pieces into windows"
            )
        if long:
            warnings.warn(f"{len(long)} piece(s) over {width} frames were cut into windows of {width} frames")
        examples = []
        for n, piece in enumerate(records):
            roll = torch.from_numpy(roll_matrix(piece, d.pitch_low, d.pitch_high, f"piece {n + 1}"))
            examples += [
                {"roll": roll[start : start + width]}
                for start in range(0, max(len(roll) - 1, 1), d.max_length)
            ]
        return examples

    def length(self, example) -> int:
        return len(example["roll"]) - 1

    def batches(self, examples: list, batch_size: int, generator: torch.Generator | None = None):
        """With data.transpose, training plays every piece in a random key, up to that many semitones away."""
        most = self.config.data.transpose
        if generator is not None and most:
            examples = [{"roll": transpose(e["roll"], most, generator)} for e in examples]
        yield from super().batches(examples, batch_size, generator)

    def collate(self, examples: list) -> Batch:
        rolls = torch.nn.utils.rnn.pad_sequence(
            [e["roll"] for e in examples], batch_first=True
        )  # (B, T + 1, P)
        lengths = torch.tensor([len(e["roll"]) - 1 for e in examples])
        mask = torch.arange(rolls.shape[1] - 1).unsqueeze(0) < lengths.unsqueeze(1)  # (B, T)
        return Batch(inputs=rolls[:, :-1], mask=mask, targets=rolls[:, 1:])

    def decode(self, model, logits: torch.Tensor, batch: Batch) -> list:
        return [p[:n] for p, n in zip(torch.sigmoid(logits), batch.lengths.tolist())]

    def evaluate(self, model, examples: list, batch_size: int, autocast) -> dict[str, float]:
        _, nll = self.run(model, examples, batch_size, autocast)
        return {"nll": nll, "loss": nll}

    def artifacts(self, model, held_out: list, batch_size: int, autocast) -> dict[str, object]:
        """A piece the model composes from the opening frame of the first held-out piece (32 frames)."""
        first = held_out[0]["roll"][:1].numpy()  # (1, P)
        roll = self.sample(model, first, 32, autocast, seed=0)  # (33, P)
        sounding = [np.flatnonzero(frame > 0.5).tolist() for frame in roll]
        return {
            "composed.json": {"low": self.config.data.pitch_low, "pitches": len(roll[0]), "frames": sounding}
        }

    def baseline(self, train: list, held_out: list) -> dict | None:
        """Every pitch sounding with its training frequency (add-one smoothed), independently of the
        others and of the past; judged on the frames the model predicts."""
        played = torch.cat([e["roll"][1:] for e in train]).double()  # (N, P)
        p = (played.sum(0) + 1) / (len(played) + 2)  # (P,)
        truth = torch.cat([e["roll"][1:] for e in held_out]).double()  # (M, P)
        nll = float(-(truth * p.log() + (1 - truth) * (1 - p).log()).sum(1).mean())
        return {"baseline": "each pitch's training frequency", "nll": nll, "loss": nll}

    def compose(
        self, pipeline, first: list[int], frames: int, seed: int | None = None, where: str = "the first frame"
    ) -> np.ndarray:
        """A (1 + frames, P) roll: one frame of the MIDI pitches `first` (range-checked), then `frames`
        sampled."""
        d = self.config.data
        start = roll_matrix([first, first], d.pitch_low, d.pitch_high, where)[:1]  # (1, P)
        if ENCODERS[self.config.model.encoder].bounded_context:
            check_frames(frames, d.max_length)
        return self.sample(pipeline.model, start, frames, pipeline.autocast, seed)

    @torch.no_grad()
    def sample(self, model, first: np.ndarray, frames: int, autocast, seed: int | None = None) -> np.ndarray:
        """Continue a (T0, P) roll by `frames` frames, drawn by the head (pitch by pitch for a NADE); the
        encoder's state (an RNN's hidden state, a transformer's KV cache) is carried between frames."""
        model.eval()
        generator = torch.Generator().manual_seed(seed) if seed is not None else None
        roll = torch.from_numpy(first).float()[None]  # (1, T0, P)
        feed, state, new = roll, None, []
        for _ in range(frames):
            with autocast():
                encoded = model.encode(
                    Batch(inputs=feed, mask=torch.ones(feed.shape[:2], dtype=torch.bool)), state
                )
            state = encoded.state
            feed = model.head.sample(encoded.hidden[:, -1].float(), generator)[:, None]  # (1, 1, P)
            new.append(feed[0, 0])
        return torch.cat([roll[0], torch.stack(new)]).numpy() if new else roll[0].numpy()
