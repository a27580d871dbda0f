"""Path-query question answering over a knowledge base (`--task kgqa --data QUESTIONS data.kb=KB`).

The question's topic entity (the first word the KB knows, or the path's start in training data) is
read as the word `<topic>`, so that what the model learns is how questions ask for relations, not
entities. A `PathHead` scores the relation of every hop; decoding walks the KB from the topic hop by
hop, choosing at each the likeliest relation that leaves the entities reached so far (or the end), so
every answer comes with the path that reached it.
"""

from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from seqlab.data.batch import IGNORE_INDEX, Batch, pad
from seqlab.data.kb import END, KnowledgeBase, kb_path, question_words, read_kb, read_questions
from seqlab.data.text import TextTokenizer
from seqlab.errors import UserError
from seqlab.files import read_json, write_json
from seqlab.heads.kgqa import PathHead
from seqlab.tasks.base import HeadParts, Task, padding_mask


@dataclass
class KGQASettings:
    kb: str | None = None  # kgqa: the knowledge base, `subject relation object` per line (a file, or a
    # file in the dataset cache)


class KGQATask(Task):
    """Records: {"question", "topic", "relations", "answers"} (`seqlab.data.kb`); to answer, {"question"}."""

    name = "kgqa"
    files = ("tokenizer.json", "labels.json", "kb.tsv", "kgqa.json")
    primary_metric = "accuracy"
    records = "questions"
    input = "text"
    tokenizers = ("word",)
    settings = {"data": KGQASettings}

    def __init__(self, config, tokenizer=None, labels=None, chars=None, kb: KnowledgeBase | None = None):
        super().__init__(config, tokenizer, labels)
        self.kb = kb
        self.hops = 0  # the longest path the model answers, its end included

    @classmethod
    def read(cls, path: Path, data, labelled: bool) -> list[dict]:
        return read_questions(path, labelled)

    @classmethod
    def build_head(cls, config, parts: HeadParts) -> nn.Module:
        m = config.model
        return PathHead(parts.width, parts.sizes["num_labels"], parts.sizes["hops"], m.pooling, m.dropout)

    def fit(self, train: list) -> None:
        d = self.config.data
        if not d.kb:
            raise UserError(
                "task kgqa needs a knowledge base: data.kb=FILE (subject relation object per line)"
            )
        self.kb = read_kb(kb_path(d.kb))
        self.labels = sorted({r for _, r, _ in self.kb.triples}) + [END]
        self.hops = max(len(r["relations"]) for r in train) + 1
        questions = (" ".join(question_words(r["question"], r["topic"])) for r in train)
        self.tokenizer = TextTokenizer.train(
            "word", questions, min_freq=d.min_freq, lowercase=d.lowercase, pretokenized=True
        )

    def model_sizes(self) -> dict[str, int]:
        return {**super().model_sizes(), "hops": self.hops}

    def save(self, run_dir: Path) -> None:
        assert self.kb is not None, "fit or load the task first"
        super().save(run_dir)
        self.kb.write(run_dir / "kb.tsv")
        write_json(run_dir / "kgqa.json", {"hops": self.hops})

    @classmethod
    def load(cls, config, run_dir: Path) -> KGQATask:
        task = super().load(config, run_dir)
        task.kb = read_kb(run_dir / "kb.tsv")
        task.hops = read_json(run_dir / "kgqa.json")["hops"]
        return task

    # -- data ---------------------------------------------------------------------------------

    def encode(self, records: list, with_targets: bool = True) -> list:
        """Training and evaluation skip (and count) questions whose topic the KB does not know; a
        question to answer without one is an error."""
        assert self.kb is not None and self.tokenizer is not None, "fit or load the task first"
        index = {label: i for i, label in enumerate(self.labels)}
        examples, skipped = [], 0
        for n, record in enumerate(records):
            topic = record.get("topic") or self.kb.topic_of(record["question"].split())
            if topic is None or not self.kb.knows(topic):
                if with_targets:
                    skipped += 1
                    continue
                raise UserError(
                    f"question {n + 1} names no entity of the knowledge base: '{record['question']}'"
                )
            [ids] = self.tokenizer.encode_words([question_words(record["question"], topic)])
            example = {"ids": ids or [0], "topic": topic, "question": record["question"]}
            if with_targets:
                example.update(target=self._target(record, index, n), answers=record["answers"])
                example["relations"] = record["relations"]
            examples.append(example)
        if skipped:
            warnings.warn(f"{skipped} questions were skipped: the knowledge base does not know their topic")
        return examples

    def _target(self, record: dict, index: dict[str, int], n: int) -> list[int]:
        unknown = [r for r in record["relations"] if r not in index]
        if unknown:
            raise UserError(f"relation '{unknown[0]}' of question {n + 1} is not in the knowledge base")
        if len(record["relations"]) >= self.hops:
            raise UserError(
                f"question {n + 1} follows {len(record['relations'])} relations; this model answers paths "
                f"of at most {self.hops - 1}"
            )
        return [index[r] for r in record["relations"]] + [index[END]]

    def collate(self, examples: list) -> Batch:
        inputs = pad([e["ids"] for e in examples])  # (B, T)
        targets = None
        if "target" in examples[0]:
            targets = torch.full((len(examples), self.hops), IGNORE_INDEX)  # (B, P)
            for row, e in enumerate(examples):
                targets[row, : len(e["target"])] = torch.tensor(e["target"])
        return Batch(inputs=inputs, mask=padding_mask(examples, inputs.shape[1]), targets=targets)

    # -- use ----------------------------------------------------------------------------------

    def decode(self, model, logits: torch.Tensor, batch: Batch) -> list:
        return logits.log_softmax(-1).tolist()  # per example (P, R + 1): each hop's relation scores

    def answer(self, model, examples: list, batch_size: int, autocast) -> tuple[list[dict], float]:
        assert self.kb is not None, "fit or load the task first"
        scores, loss = self.run(model, examples, batch_size, autocast)
        return [self.kb.answer(e["topic"], self.labels, scores[i]) for i, e in enumerate(examples)], loss

    def predict(self, pipeline, records: list) -> list[dict]:
        """Per question: the topic, the answer (the first entity reached), every entity reached, and
        the path: each hop's relation and the entities it reached."""
        examples = self.encode(records, with_targets=False)
        answered, _ = self.answer(pipeline.model, examples, pipeline.batch_size, pipeline.autocast)
        return [{"question": e["question"], **a} for e, a in zip(examples, answered)]

    def records_from_texts(self, texts: list[str]) -> list[dict]:
        return [{"question": t} for t in texts]

    def evaluate(self, model, examples: list, batch_size: int, autocast) -> dict[str, float]:
        answered, loss = self.answer(model, examples, batch_size, autocast)
        return {**_scores(examples, answered), "loss": loss}

    def baseline(self, train: list, held_out: list) -> dict | None:
        """The commonest training path, walked from each question's topic."""
        assert self.kb is not None
        usual = list(Counter(tuple(e["relations"]) for e in train).most_common(1)[0][0])
        answered = []
        for e in held_out:
            reached = self.kb.walk(e["topic"], usual)
            answered.append(
                {"answer": reached[0] if reached else None, "path": [{"relation": r} for r in usual]}
            )
        return {"baseline": "the commonest training path", **_scores(held_out, answered)}

    def artifacts(self, model, held_out: list, batch_size: int, autocast) -> dict[str, object]:
        """The first held-out questions with their answers and paths, for the report."""
        shown = held_out[:20]
        answered, _ = self.answer(model, shown, batch_size, autocast)
        return {
            "answered.json": [
                {"question": e["question"], "gold": e["answers"], "gold_path": e["relations"], **a}
                for e, a in zip(shown, answered)
            ]
        }


def _scores(examples: list, answered: list[dict]) -> dict[str, float]:
    """`accuracy`: the answer is one of the question's answers; `path_accuracy`: its relations are the
    question's."""
    n = max(len(examples), 1)
    return {
        "accuracy": sum(a["answer"] in e["answers"] for e, a in zip(examples, answered)) / n,
        "path_accuracy": sum(
            [p["relation"] for p in a["path"]] == e["relations"] for e, a in zip(examples, answered)
        )
        / n,
    }
