"""The `Task` contract: everything particular to a task. Its config checks, the input adapter and head
it builds around any encoder, how records become batches and outputs become predictions, the verbs it
offers its users and the metrics that judge it. `seqlab.registry.TASKS` names every task."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import torch
from torch import nn

from seqlab.config import RunConfig
from seqlab.data.batch import Batch, length_buckets
from seqlab.data.media import file_of
from seqlab.data.text import TextTokenizer
from seqlab.encoders import EncoderSpec
from seqlab.errors import UserError
from seqlab.files import read_json, write_json
from seqlab.heads import mean_loss
from seqlab.modules.adapters import FeatureAdapter, TokenAdapter
from seqlab.training.hardware import device_of


@dataclass(frozen=True)
class HeadParts:
    """What a task's head is built around."""

    sizes: dict[str, int]  # learned from the data: vocab_size, num_labels, num_features …
    adapter: nn.Module  # the input adapter (a token embedding that an output layer may share)
    encoder: EncoderSpec  # the encoder family (its decoder, how a token embedding feeding it starts)
    width: int  # the encoder's output width, H


class Task:
    """A task's particulars. The class attributes and class methods serve before any data is seen (the
    config, reading files, building the model); an instance holds what is learned from the training
    data (tokenizer, labels, scaling) and turns records into batches and outputs into predictions."""

    name = ""
    files = ("tokenizer.json",)  # what `save` writes to the run directory and `load` needs
    primary_metric = ""  # the validation metric for early stopping and the best checkpoint
    higher_is_better = True
    records = "labelled"  # the shape of the records it reads (see seqlab.data.inputs)
    input: str | None = None  # the input kind it always reads; None: data.input, or what the data holds
    causal = False  # the encoder sees only the past: the task predicts what comes next
    tokenizers: tuple[str, ...] = ("char", "word", "bpe", "nucleotide", "kmer", "residue")  # the
    # data.tokenizer values it takes
    default_tokenizer = "word"  # data.tokenizer=auto, unless the input kind has its own
    verbs: tuple[str, ...] = ()  # what a trained pipeline of this task offers beside predict and evaluate
    decodes = False  # it writes sequences: evaluate and prediction_rows take decoding settings
    steps_through_a_decoder = False  # its output is written a step at a time by a decoder, which its
    # forward pass reads only with the targets (teacher forcing)
    settings: dict[str, type] = {}  # config section → a dataclass of the task's own keys in it

    def __init__(
        self,
        config: RunConfig,
        tokenizer: TextTokenizer | None = None,
        labels: list[str] | None = None,
        chars: TextTokenizer | None = None,
    ):
        self.config = config
        self.tokenizer = tokenizer
        self.labels = labels or []
        self.chars = chars

    # -- configuration and model -------------------------------------------------------------

    @classmethod
    def check_config(cls, config: RunConfig, encoder: EncoderSpec) -> None:
        """Refuse settings the task cannot use (UserError); fill the defaults that depend on it."""
        if config.model.bidirectional is None:
            config.model.bidirectional = not cls.causal
        if cls.causal and config.model.bidirectional:
            raise UserError(
                f"model.bidirectional=true cannot predict what comes next; use false for task {cls.name}"
            )
        if cls.input is not None and config.data.input not in ("auto", cls.input):
            raise UserError(
                f"task {cls.name} reads {cls.input}: data.input={config.data.input} is not for it"
            )
        if config.data.tokenizer not in ("auto", *cls.tokenizers):
            raise UserError(
                f"task {cls.name} takes data.tokenizer={' or '.join(cls.tokenizers)}; "
                f"got {config.data.tokenizer}"
            )

    @classmethod
    def read(cls, path: Path, data, labelled: bool) -> list:
        """The records of one file in the task's own formats (an input kind reads the others)."""
        raise UserError(
            f"task {cls.name} reads no files of its own: set data.input to the kind of input it reads"
        )

    @classmethod
    def read_splits(cls, path: Path, data) -> dict[str, list] | None:
        """The splits of a layout the task reads whole (aligned files, document folders); None for
        the usual folder of train, valid and test files, or one file."""
        return None

    @staticmethod
    def char_dim(config: RunConfig) -> int:
        """The width of each character's embedding in a per-word character CNN; 0: none."""
        return config.model.char_dim or 0

    @classmethod
    def build_adapter(cls, config: RunConfig, sizes: dict[str, int], encoder: EncoderSpec) -> nn.Module:
        """What turns a batch into vectors (B, T, D): float features, or token embeddings."""
        m = config.model
        if sizes.get("num_features"):
            return FeatureAdapter(sizes["num_features"], m.embed_dim, m.dropout)
        return TokenAdapter(
            sizes["vocab_size"],
            m.embed_dim,
            m.dropout,
            num_chars=sizes.get("num_chars", 0),
            char_dim=cls.char_dim(config) if sizes.get("num_chars") else 0,
            char_filters=m.char_filters,
        )

    @classmethod
    def context_length(cls, config: RunConfig, adapter: nn.Module) -> int:
        """The most positions the encoder reads at once."""
        return config.data.max_length

    @classmethod
    def budget_settings(cls, config: RunConfig, short: bool, recurrent: bool) -> dict[str, object]:
        """The budget rule's values (`seqlab.budget`) for a run of this task on its input kind, with a
        short budget or a long one, with a recurrent encoder or not; none by default."""
        return {}

    @classmethod
    def build_head(cls, config: RunConfig, parts: HeadParts) -> nn.Module:
        """The task's head, an `nn.Module` mapping (EncoderOutput, Batch) to a `HeadOutput`."""
        raise NotImplementedError

    # -- vocabularies -------------------------------------------------------------------------

    def fit(self, train: list) -> None:
        """Learn the tokenizer and label map from the training records."""
        raise NotImplementedError

    def model_sizes(self) -> dict[str, int]:
        assert self.tokenizer is not None, "fit or load the task first"
        return {
            "vocab_size": self.tokenizer.vocab_size,
            "num_labels": len(self.labels),
            "num_chars": self.chars.vocab_size if self.chars else 0,
        }

    def save(self, run_dir: Path) -> None:
        assert self.tokenizer is not None, "fit or load the task first"
        self.tokenizer.save(run_dir / "tokenizer.json")
        if self.labels:
            write_json(run_dir / "labels.json", self.labels)
        if self.chars:
            self.chars.save(run_dir / "chars.json")

    @classmethod
    def load(cls, config: RunConfig, run_dir: Path) -> Task:
        tokenizer = TextTokenizer.load(run_dir / "tokenizer.json", config.data.tokenizer)
        labels_path = run_dir / "labels.json"
        labels = read_json(labels_path) if labels_path.exists() else None
        chars_path = run_dir / "chars.json"
        chars = TextTokenizer.load(chars_path, "char") if chars_path.exists() else None
        return cls(config, tokenizer, labels, chars)

    # -- data ---------------------------------------------------------------------------------

    def encode(self, records: list, with_targets: bool = True) -> list:
        """Records → encoded examples (whatever `collate` and `batches` take)."""
        raise NotImplementedError

    def collate(self, examples: list) -> Batch:
        raise NotImplementedError

    def batches(
        self, examples: list, batch_size: int, generator: torch.Generator | None = None
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

    def predict(self, pipeline, records: list) -> list:
        """Per record, what the trained `pipeline` makes of it: here, the decoded outputs of `run`."""
        examples = self.encode(records, with_targets=False)
        outputs, _ = self.run(pipeline.model, examples, pipeline.batch_size, pipeline.autocast)
        return [outputs[i] for i in range(len(examples))]

    def records_from_texts(self, texts: list[str]) -> list:
        """The records that `seqlab predict --text` makes of typed texts."""
        return [{"text": t} for t in texts]

    def prediction_rows(self, pipeline, records: list, decoding=None) -> Iterator[dict]:
        """The JSON lines `seqlab predict` prints: one per record, beside the record's own identity."""
        for record, result in zip(records, pipeline.predict(records)):
            yield {**file_of(record), **result}

    def evaluate(self, model, examples: list, batch_size: int, autocast) -> dict[str, float]:
        raise NotImplementedError

    # -- after training -----------------------------------------------------------------------

    def calibrate(self, model, val_examples, batch_size: int, autocast) -> bool:
        """Learn what needs the trained model (a threshold, …); True when `save` has more to write."""
        return False

    def artifacts(self, model, held_out, batch_size: int, autocast) -> dict[str, object]:
        """JSON files for the run directory's report, by file name."""
        return {}

    def with_history(self, records: list) -> list:
        """Records to judge as `seqlab eval` reads them, joined to what they continue; as they are by
        default (a forecast task joins series that only hold the points after training)."""
        return records

    def baseline(self, train, held_out) -> dict | None:
        """A naive predictor's held-out metrics beside the model's, from encoded examples: {"baseline":
        what it predicts, metric: value, …}, or None where the task has none."""
        return None

    def _over_length(self, ids: list[int], what: str) -> UserError:
        return UserError(
            f"{what} has {len(ids)} tokens, over the model's limit "
            f"data.max_length={self.config.data.max_length}"
        )


def confusion(task: Task, model, held_out: list, batch_size: int, autocast) -> dict[str, object]:
    """The held-out confusion matrix of a task whose `run` gives each example a probability per label,
    as the report's `confusion.json`."""
    from sklearn.metrics import confusion_matrix

    probs, _ = task.run(model, held_out, batch_size, autocast)
    rows = [cast(list, p) for _, p in sorted(probs.items())]  # each example's probability per label
    predicted = [max(range(len(p)), key=p.__getitem__) for p in rows]
    matrix = confusion_matrix([e["target"] for e in held_out], predicted, labels=range(len(task.labels)))
    return {"confusion.json": {"labels": task.labels, "matrix": matrix.tolist()}}


def padding_mask(examples: list, width: int) -> torch.Tensor:
    lengths = torch.tensor([len(e["ids"]) for e in examples])
    return torch.arange(width).unsqueeze(0) < lengths.unsqueeze(1)  # (B, T)
