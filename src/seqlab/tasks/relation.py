"""Relation classification: which relation, in which direction, holds between two entities marked in a
sentence (SemEval-2010 Task 8's `Cause-Effect(e1,e2)`, …, `Other`).

The encoder reads the sentence's words with a marker word at each entity's edges (`<e1>` … `</e1>`), and
the head reads the entities' own positions beside the sentence (`RelationHead`). Scored by the task's
official measure (`seqlab.metrics.relations`): macro-F1 over the relations, the direction counted, the
label of no relation (`data.other_label`) left out.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import torch
from torch import nn

from seqlab import metrics
from seqlab.data.batch import Batch, pad, pad_chars
from seqlab.data.relations import entity_words, from_text, marked, read_relations, unmark
from seqlab.data.text import TextTokenizer
from seqlab.errors import UserError
from seqlab.heads.relation import RelationHead
from seqlab.tasks.base import HeadParts, Task, confusion, padding_mask


@dataclass
class RelationSettings:
    other_label: str = "Other"  # relation: the label of "no relation", which the official F1 leaves out


class RelationTask(Task):
    """Records: {"tokens", "e1", "e2", "label"} (`seqlab.data.relations`); to predict, no label."""

    name = "relation"
    files = ("tokenizer.json", "labels.json")
    primary_metric = "f1_macro"
    records = "relations"
    input = "text"
    tokenizers = ("word",)
    read = staticmethod(read_relations)
    settings = {"data": RelationSettings}

    @classmethod
    def build_head(cls, config, parts: HeadParts) -> nn.Module:
        m = config.model
        return RelationHead(parts.width, parts.sizes["num_labels"], m.pooling, m.dropout)

    def fit(self, train: list) -> None:
        d = self.config.data
        words = [" ".join(marked(r)[0]) for r in train]
        self.tokenizer = TextTokenizer.train(
            "word", words, min_freq=d.min_freq, lowercase=d.lowercase, pretokenized=True
        )
        self.labels = sorted({r["label"] for r in train})
        if len(self.labels) < 2:
            raise UserError(f"the training data has {len(self.labels)} relation(s); it needs at least 2")
        if self.char_dim(self.config) > 0:
            self.chars = TextTokenizer.train("char", (w for r in train for w in marked(r)[0]))

    # -- data ---------------------------------------------------------------------------------

    def encode(self, records: list, with_targets: bool = True) -> list:
        index = {label: i for i, label in enumerate(self.labels)}
        readied = [marked(r) for r in records]
        ids = self.tokenizer.encode_words([tokens for tokens, _, _ in readied])
        examples = []
        for n, (record, (tokens, e1, e2), seq) in enumerate(zip(records, readied, ids)):
            if len(seq) > self.config.data.max_length:
                raise self._over_length(seq, f"sentence {n + 1}")
            example = {
                "ids": seq,
                "spans": [e1, e2],
                "tokens": record["tokens"],
                "entities": entity_words(record),
            }
            if self.chars is not None:
                example["chars"] = self.chars.encode_batch(tokens)
            if with_targets:
                if record["label"] not in index:
                    raise UserError(
                        f"relation '{record['label']}' of sentence {n + 1} was never seen in training "
                        f"(known: {', '.join(self.labels)})"
                    )
                example["target"] = index[record["label"]]
            examples.append(example)
        return examples

    def collate(self, examples: list) -> Batch:
        inputs = pad([e["ids"] for e in examples])  # (B, T)
        return Batch(
            inputs=inputs,
            mask=padding_mask(examples, inputs.shape[1]),
            targets=torch.tensor([e["target"] for e in examples]) if "target" in examples[0] else None,
            chars=pad_chars([e["chars"] for e in examples]) if "chars" in examples[0] else None,
            spans=torch.tensor([e["spans"] for e in examples]),  # (B, 2, 2)
        )

    # -- use ----------------------------------------------------------------------------------

    def decode(self, model, logits: torch.Tensor, batch: Batch) -> list:
        return model.head.predict(logits).tolist()  # probabilities per label

    def predict(self, pipeline, records: list) -> list[dict]:
        """Per record the relation, its probability beside every other, and the two entities."""
        examples = self.encode(records, with_targets=False)
        probs, _ = self.run(pipeline.model, examples, pipeline.batch_size, pipeline.autocast)
        return [{**examples[i]["entities"], **self._labelled(probs[i])} for i in range(len(examples))]

    def records_from_texts(self, texts: list[str]) -> list[dict]:
        """Typed sentences mark their entities as files do: `<e1>…</e1>`, `<e2>…</e2>`."""
        return [from_text(*unmark(t, f"text {n + 1}"), f"text {n + 1}") for n, t in enumerate(texts)]

    def evaluate(self, model, examples: list, batch_size: int, autocast) -> dict[str, float]:
        probs, loss = self.run(model, examples, batch_size, autocast)
        truth = [self.labels[e["target"]] for e in examples]
        guess = [self._labelled(probs[i])["label"] for i in range(len(examples))]
        return {**metrics.relations(truth, guess, self.config.data.other_label), "loss": loss}

    def baseline(self, train: list, held_out: list) -> dict | None:
        """The training data's commonest relation for every pair (for SemEval, Other: F1 0)."""
        common = Counter(e["target"] for e in train).most_common(1)[0][0]
        truth = [self.labels[e["target"]] for e in held_out]
        guess = [self.labels[common]] * len(held_out)
        return {
            "baseline": "the commonest relation",
            **metrics.relations(truth, guess, self.config.data.other_label),
        }

    def artifacts(self, model, held_out: list, batch_size: int, autocast) -> dict[str, object]:
        return confusion(self, model, held_out, batch_size, autocast)

    def _labelled(self, probs: list[float]) -> dict:
        best = max(range(len(probs)), key=probs.__getitem__)
        return {"label": self.labels[best], "probabilities": dict(zip(self.labels, probs))}
