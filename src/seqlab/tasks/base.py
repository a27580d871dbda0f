"""The `Task` contract: what turns records into batches and model outputs into predictions and metrics."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import torch

from seqlab.config import RunConfig
from seqlab.data.batch import Batch, length_buckets
from seqlab.data.text import TextTokenizer
from seqlab.errors import UserError
from seqlab.heads import mean_loss
from seqlab.training.hardware import device_of


class Task:
    """The data side of a run. Subclasses say how records are encoded and judged."""

    name = ""
    files = ("tokenizer.json",)  # what `save` writes to the run directory and `load` needs
    primary_metric = ""  # the validation metric for early stopping and the best checkpoint
    higher_is_better = True

    def __init__(self, config: RunConfig, tokenizer: TextTokenizer | None = None,
                 labels: list[str] | None = None, chars: TextTokenizer | None = None):
        self.config = config
        self.tokenizer = tokenizer
        self.labels = labels or []
        self.chars = chars

    # -- vocabularies -------------------------------------------------------------------------

    def fit(self, train: list) -> None:
        """Learn the tokenizer and label map from the training records."""
        raise NotImplementedError

    def model_sizes(self) -> dict[str, int]:
        return {
            "vocab_size": self.tokenizer.vocab_size,
            "num_labels": len(self.labels),
            "num_chars": self.chars.vocab_size if self.chars else 0,
        }

    def save(self, run_dir: Path) -> None:
        self.tokenizer.save(run_dir / "tokenizer.json")
        if self.labels:
            (run_dir / "labels.json").write_text(json.dumps(self.labels, ensure_ascii=False, indent=1))
        if self.chars:
            self.chars.save(run_dir / "chars.json")

    @classmethod
    def load(cls, config: RunConfig, run_dir: Path) -> Task:
        tokenizer = TextTokenizer.load(run_dir / "tokenizer.json", config.data.tokenizer)
        labels_path = run_dir / "labels.json"
        labels = json.loads(labels_path.read_text(encoding="utf-8")) if labels_path.exists() else None
        chars_path = run_dir / "chars.json"
        chars = TextTokenizer.load(chars_path, "char") if chars_path.exists() else None
        return cls(config, tokenizer, labels, chars)

    # -- data ---------------------------------------------------------------------------------

    def encode(self, records: list, with_targets: bool = True) -> list:
        """Records → encoded examples (whatever `collate` and `batches` take)."""
        raise NotImplementedError

    def collate(self, examples: list) -> Batch:
        raise NotImplementedError

    def batches(self, examples: list, batch_size: int, generator: torch.Generator | None = None
                ) -> Iterator[tuple[list[int], Batch]]:
        """Batches of similar length; shuffled when a generator is given. Yields (indices, batch)."""
        lengths = [self.length(e) for e in examples]
        for indices in length_buckets(lengths, batch_size, generator):
            yield indices, self.collate([examples[i] for i in indices])

    def length(self, example) -> int:
        return len(example["ids"])

    def num_batches(self, examples: list, batch_size: int) -> int:
        return -(-len(examples) // batch_size)

    # -- use ----------------------------------------------------------------------------------

    @torch.no_grad()
    def run(self, model, examples: list, batch_size: int, autocast) -> tuple[dict[int, object], float]:
        """Predictions by example index, and the mean loss when targets are present."""
        model.eval()
        outputs: dict[int, object] = {}
        loss_sum, count = 0.0, 0
        for indices, batch in self.batches(examples, batch_size):
            batch = batch.to(device_of(model))  # decode reads the batch beside the model's output
            with autocast():
                out = model(batch)
            if out.loss_sum is not None:
                loss_sum += float(out.loss_sum)
                count += int(out.count)
            for i, prediction in zip(indices, self.decode(model, out.logits, batch)):
                outputs[i] = prediction
        return outputs, (mean_loss(loss_sum, count) if count else float("nan"))

    def decode(self, model, logits: torch.Tensor, batch: Batch) -> list:
        raise NotImplementedError

    def evaluate(self, model, examples: list, batch_size: int, autocast) -> dict[str, float]:
        raise NotImplementedError

    # -- after training -----------------------------------------------------------------------

    def calibrate(self, model, val_examples, batch_size: int, autocast) -> bool:
        """Learn what needs the trained model (a threshold, …); True when `save` has more to write."""
        return False

    def artifacts(self, model, held_out, batch_size: int, autocast) -> dict[str, object]:
        """JSON files for the run directory's report, by file name."""
        return {}

    def _over_length(self, ids: list[int], what: str) -> UserError:
        return UserError(f"{what} has {len(ids)} tokens, over the model's limit "
                         f"data.max_length={self.config.data.max_length}")


def padding_mask(examples: list, width: int) -> torch.Tensor:
    lengths = torch.tensor([len(e["ids"]) for e in examples])
    return torch.arange(width).unsqueeze(0) < lengths.unsqueeze(1)  # (B, T)
