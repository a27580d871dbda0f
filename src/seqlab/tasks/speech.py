"""Speech recognition (`--task ctc`): audio frames in, characters out, aligned by CTC.

Records `{"values": (T, F) frames, "text": transcript}`. The alphabet is every character of the
training transcripts; id 0 is CTC's blank. Frames are standardised per feature with training
statistics, as for numeric series.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import torch
from torch import nn

from seqlab import metrics
from seqlab.config import RunConfig
from seqlab.data.audio import featurize
from seqlab.data.batch import Batch, pad
from seqlab.errors import UserError
from seqlab.files import read_json, write_json
from seqlab.heads.ctc import CTCHead, beam_paths, greedy_paths
from seqlab.tasks.base import HeadParts, Task
from seqlab.tasks.series import augmented, fit_scaling, padded_frames, standardise


class CTCTask(Task):
    name = "ctc"
    files = ("alphabet.json", "scaling.json")
    primary_metric = "wer"
    higher_is_better = False
    records = "transcribed"
    input = "audio"
    verbs = ("transcribe",)

    @classmethod
    def build_head(cls, config, parts: HeadParts) -> nn.Module:
        return CTCHead(parts.width, parts.sizes["num_labels"], config.model.dropout)

    def __init__(self, config: RunConfig, alphabet: list[str] | None = None, stats: dict | None = None):
        super().__init__(config)
        self.alphabet = alphabet or []
        self.stats = stats or {}

    def fit(self, train: list) -> None:
        self.alphabet = sorted({c for r in train for c in r["text"]})
        if not self.alphabet:
            raise UserError("the training transcripts are all empty; recognition needs text to learn")
        self.stats = fit_scaling([r["values"] for r in train])

    def model_sizes(self) -> dict[str, int]:
        return {"num_labels": len(self.alphabet) + 1, "num_features": len(self.stats["mean"])}

    def save(self, run_dir: Path) -> None:
        write_json(run_dir / "alphabet.json", self.alphabet)
        write_json(run_dir / "scaling.json", self.stats)

    @classmethod
    def load(cls, config: RunConfig, run_dir: Path) -> CTCTask:
        return cls(
            config,
            read_json(run_dir / "alphabet.json"),
            read_json(run_dir / "scaling.json"),
        )

    def encode(self, records: list, with_targets: bool = True) -> list:
        index = {c: i + 1 for i, c in enumerate(self.alphabet)}
        features, limit = len(self.stats["mean"]), self.config.data.max_length
        examples = []
        for n, record in enumerate(records):
            values = record["values"]
            if values.shape[1] != features:
                raise UserError(
                    f"utterance {n + 1} has {values.shape[1]} features per frame; the model "
                    f"was trained on {features}"
                )
            if len(values) > limit:
                raise UserError(
                    f"utterance {n + 1} has {len(values)} frames, over the model's limit "
                    f"data.max_length={limit}"
                )
            example = {"values": standardise(values, self.stats)}
            if with_targets:
                unknown = sorted({c for c in record["text"] if c not in index})
                if unknown:
                    raise UserError(
                        f"transcript {n + 1} has characters never seen in training: {''.join(unknown)!r}"
                    )
                example["target"] = [index[c] for c in record["text"]]
                example["text"] = record["text"]
            examples.append(example)
        return examples

    def length(self, example) -> int:
        return len(example["values"])

    def batches(self, examples: list, batch_size: int, generator: torch.Generator | None = None):
        """With data.spec_augment, training masks bands and spans of every utterance's frames."""
        yield from super().batches(augmented(examples, self.config.data, generator), batch_size, generator)

    def collate(self, examples: list) -> Batch:
        inputs, mask = padded_frames(examples)  # (B, T, F), (B, T)
        targets = (
            pad([e["target"] for e in examples]) if "target" in examples[0] else None
        )  # (B, L), 0-padded
        return Batch(inputs=inputs, mask=mask, targets=targets)

    def decode(self, model, logits: torch.Tensor, batch: Batch, beam: int = 1) -> list[str]:
        paths = greedy_paths(logits, batch.lengths) if beam <= 1 else beam_paths(logits, batch.lengths, beam)
        return ["".join(self.alphabet[s - 1] for s in path) for path in paths]

    def predict(self, pipeline, records: list) -> list[str]:
        return self.transcribe(pipeline, records)

    def prediction_rows(self, pipeline, records: list, decoding=None) -> Iterator[dict]:
        for record, transcript in zip(records, self.transcribe(pipeline, records)):
            yield (
                {"path": record["audio"].clips[0], "transcript": transcript}
                if "audio" in record
                else transcript
            )

    def transcribe(self, pipeline, records: list, beam: int = 1) -> list[str]:
        """The transcript the model hears in every record (`{"audio": Utterance}` or `{"values": frames}`):
        best path (`beam` 1) or prefix beam search."""
        examples = self.encode(featurize(records, self.config.data), with_targets=False)
        return self.transcribe_examples(
            pipeline.model, examples, pipeline.batch_size, pipeline.autocast, beam
        )

    def transcribe_examples(
        self, model, examples: list, batch_size: int, autocast, beam: int = 1
    ) -> list[str]:
        """One transcript per example: greedy (`beam` 1) or by prefix beam search."""
        model.eval()
        out: dict[int, str] = {}
        with torch.no_grad():
            for indices, batch in self.batches(examples, batch_size):
                with autocast():
                    log_probs = model(batch).logits
                out.update(zip(indices, self.decode(model, log_probs, batch, beam)))
        return [out[i] for i in range(len(examples))]

    def evaluate(self, model, examples: list, batch_size: int, autocast) -> dict[str, float]:
        """Loss, WER and CER of best-path transcripts."""
        outputs, loss = self.run(model, examples, batch_size, autocast)
        hypotheses = [outputs[i] for i in range(len(examples))]
        return {"loss": loss, **metrics.recognition([e["text"] for e in examples], hypotheses)}
