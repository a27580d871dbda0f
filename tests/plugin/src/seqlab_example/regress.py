"""The `regress` task: a number for every text (a rating, a price, a reading level), judged by mean
squared and absolute error. Tables of texts and numbers, read with seqlab's table reader; every
encoder serves it, since the head reads only the encoder's summary of the sequence."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from seqlab.data.batch import Batch, pad
from seqlab.data.splits import read_table
from seqlab.data.text import TextTokenizer
from seqlab.encoders import EncoderOutput
from seqlab.errors import UserError
from seqlab.heads import HeadOutput
from seqlab.tasks.base import HeadParts, Task, padding_mask


class RegressHead(nn.Module):
    def __init__(self, in_dim: int):
        super().__init__()
        self.out = nn.Linear(in_dim, 1)

    def forward(self, encoded: EncoderOutput, batch: Batch) -> HeadOutput:
        value = self.out(encoded.pooled).float().squeeze(-1)  # (B,)
        if batch.targets is None:
            return HeadOutput(value)
        loss = ((value - batch.targets) ** 2).sum()
        return HeadOutput(value, loss, torch.tensor(len(batch)))


class RegressTask(Task):
    name = "regress"
    primary_metric = "mse"
    higher_is_better = False
    read = staticmethod(read_table)

    @classmethod
    def build_head(cls, config, parts: HeadParts) -> nn.Module:
        return RegressHead(parts.width)

    def fit(self, train: list) -> None:
        d = self.config.data
        self.tokenizer = TextTokenizer.train(
            d.tokenizer, (r["text"] for r in train), d.vocab_size, d.min_freq, d.lowercase
        )

    def encode(self, records: list, with_targets: bool = True) -> list:
        ids = self.tokenizer.encode_batch([r["text"] for r in records])
        examples = []
        for n, (record, seq) in enumerate(zip(records, ids)):
            example = {"ids": seq[: self.config.data.max_length] or [0]}
            if with_targets:
                try:
                    example["target"] = float(record["label"])
                except ValueError:
                    raise UserError(f"row {n + 1}: '{record['label']}' is not a number") from None
            examples.append(example)
        return examples

    def collate(self, examples: list) -> Batch:
        inputs = pad([e["ids"] for e in examples])  # (B, T)
        targets = torch.tensor([e["target"] for e in examples]) if "target" in examples[0] else None
        return Batch(inputs=inputs, mask=padding_mask(examples, inputs.shape[1]), targets=targets)

    def decode(self, model, logits: torch.Tensor, batch: Batch) -> list:
        return logits.tolist()

    def predict(self, pipeline, records: list) -> list[dict]:
        return [{"value": value} for value in super().predict(pipeline, records)]

    def evaluate(self, model, examples: list, batch_size: int, autocast) -> dict[str, float]:
        values, _ = self.run(model, examples, batch_size, autocast)
        error = np.array([values[i] for i in range(len(examples))]) - np.array(
            [e["target"] for e in examples]
        )
        return {"mse": float((error**2).mean()), "mae": float(np.abs(error).mean())}
