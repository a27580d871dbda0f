"""Extractive summarisation: tag the sentences of a document that belong in its summary.

A hierarchical model reads the words of each sentence, then the sentences of the document, and a
tag head scores every sentence. A summary is the highest-scoring sentences in document order, as
many as the training summaries' share of their documents' sentences; the lead baseline takes the
same number from the top.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
from torch import nn

from seqlab import metrics
from seqlab.data.batch import IGNORE_INDEX, PAD_ID, Batch, pad
from seqlab.data.pairs import extractive_labels, split_sentences, summary_of, summary_size
from seqlab.data.splits import pair_splits_of, read_pairs
from seqlab.data.text import UNK, TextTokenizer
from seqlab.encoders import EncoderSpec
from seqlab.errors import UserError
from seqlab.files import read_json, read_text, write_json
from seqlab.heads.tag import TagHead
from seqlab.modules.adapters import SentenceAdapter
from seqlab.tasks.base import HeadParts, Task, padding_mask

LABELS = ["other", "summary"]


class ExtractTask(Task):
    """Records: document/summary pairs {"source", "target"}; to summarise, {"source"} alone."""

    name = "extract"
    files = ("tokenizer.json", "labels.json", "extract.json")
    primary_metric = "rouge2"
    records = "pairs"
    read_splits = staticmethod(pair_splits_of)

    @classmethod
    def read(cls, path: Path, data, labelled: bool) -> list[dict]:
        """Document/summary pairs; unlabelled, a .txt file is one document to summarise."""
        if not labelled and path.suffix.lower() == ".txt":
            return [{"source": read_text(path)}]
        return read_pairs(path, data, labelled)

    def __init__(
        self,
        config,
        tokenizer: TextTokenizer | None = None,
        labels=None,
        chars=None,
        share: float | None = None,
    ):
        super().__init__(config, tokenizer, LABELS)
        self.share = share  # the mean share of a training document's sentences in its summary

    def fit(self, train: list) -> None:
        d = self.config.data
        documents = [extractive_labels(r) for r in train]
        self.tokenizer = TextTokenizer.train(
            d.tokenizer,
            (s for doc in documents for s in doc["sentences"]),
            d.vocab_size,
            d.min_freq,
            d.lowercase,
        )
        self.share = sum(sum(doc["labels"]) / max(len(doc["labels"]), 1) for doc in documents) / len(
            documents
        )

    def save(self, run_dir: Path) -> None:
        super().save(run_dir)
        write_json(run_dir / "extract.json", {"share": self.share})

    @classmethod
    def load(cls, config, run_dir: Path) -> ExtractTask:
        task = super().load(config, run_dir)
        task.share = read_json(run_dir / "extract.json")["share"]
        return task

    # -- data ---------------------------------------------------------------------------------

    def encode(self, records: list, with_targets: bool = True) -> list:
        limit, cut = self.config.data.max_length, 0
        examples = []
        for n, record in enumerate(records):
            document = (
                extractive_labels(record)
                if with_targets
                else {"sentences": split_sentences(record["source"])}
            )
            sentences = document["sentences"]
            if not sentences:
                raise UserError(f"document {n + 1} has no sentences")
            if len(sentences) > limit:
                if not self.config.data.truncate:
                    raise UserError(
                        f"document {n + 1} has {len(sentences)} sentences, over data.max_length={limit}"
                    )
                sentences, cut = sentences[:limit], cut + 1
            words = [
                ids[: self.config.data.sentence_length] or [UNK]
                for ids in self.tokenizer.encode_batch(sentences)
            ]
            example = {"ids": words, "sentences": sentences}
            if with_targets:
                example.update(target=document["labels"][: len(sentences)], reference=document["summary"])
            examples.append(example)
        if cut:
            warnings.warn(f"{cut} documents were cut to data.max_length={limit} sentences")
        return examples

    def collate(self, examples: list) -> Batch:
        S = max(len(e["ids"]) for e in examples)
        W = max(len(words) for e in examples for words in e["ids"])
        inputs = torch.full((len(examples), S, W), PAD_ID, dtype=torch.long)  # (B, S, W)
        for b, e in enumerate(examples):
            for s, words in enumerate(e["ids"]):
                inputs[b, s, : len(words)] = torch.tensor(words)
        targets = pad([e["target"] for e in examples], IGNORE_INDEX) if "target" in examples[0] else None
        return Batch(inputs=inputs, mask=padding_mask(examples, S), targets=targets)

    # -- use ----------------------------------------------------------------------------------

    def decode(self, model, logits: torch.Tensor, batch: Batch) -> list:
        scores = logits.float().softmax(-1)[..., 1]  # (B, S) probability of "summary"
        return [row[:n] for row, n in zip(scores.tolist(), batch.lengths.tolist())]

    @classmethod
    def build_adapter(cls, config, sizes: dict[str, int], encoder: EncoderSpec) -> nn.Module:
        """Sentences are encoded, then the document: the same encoder family at both levels."""
        m = config.model
        words = encoder.build(m, m.embed_dim, config.data.sentence_length, False)
        return SentenceAdapter(sizes["vocab_size"], m.embed_dim, words, m.dropout)

    @classmethod
    def build_head(cls, config, parts: HeadParts) -> nn.Module:
        return TagHead(parts.width, parts.sizes["num_labels"], config.model.crf, config.model.dropout)

    def predict(self, pipeline, records: list) -> list[dict]:
        examples = self.encode(records, with_targets=False)
        return self.summarize(pipeline.model, examples, pipeline.batch_size, pipeline.autocast)

    def records_from_texts(self, texts: list[str]) -> list[dict]:
        return [{"source": t} for t in texts]

    def summarize(self, model, examples: list, batch_size: int, autocast) -> list[dict]:
        """Per document: the chosen sentences' indices, in document order, and the summary they make."""
        scores, _ = self.run(model, examples, batch_size, autocast)
        return [summary_of(scores[i], e["sentences"], self.share) for i, e in enumerate(examples)]

    def evaluate(self, model, examples: list, batch_size: int, autocast) -> dict[str, float]:
        """ROUGE of the extracted summaries and of the lead baseline, and F1 of the sentence choices."""
        scores, loss = self.run(model, examples, batch_size, autocast)
        summaries = [summary_of(scores[i], e["sentences"], self.share) for i, e in enumerate(examples)]
        references = [e["reference"] for e in examples]
        lead = [" ".join(e["sentences"][: summary_size(len(e["sentences"]), self.share)]) for e in examples]
        truth = [label for e in examples for label in e["target"]]
        chosen = [
            int(j in s["sentences"]) for e, s in zip(examples, summaries) for j in range(len(e["target"]))
        ]
        return {
            **metrics.summarization([s["summary"] for s in summaries], references),
            **{f"lead_{k}": v for k, v in metrics.summarization(lead, references).items()},
            **metrics.selection(truth, chosen),
            "loss": loss,
        }
