"""Link prediction on a knowledge graph (`--task link`): which entity completes `(head, relation, ?)`.

Every triple of a split asks two queries, its tail from `head relation` and its head from `tail
relation^-1`, each read by the encoder as a sequence of two tokens; the `LinkHead` scores every entity.
Judged by the standard filtered ranking (Bordes et al. 2013): the true answer's rank among all
entities once the other answers known from any split are set aside, as `mrr` and `hits@1/3/10`; ties
share their ranks. An entity or relation that training never saw cannot be ranked: its queries count
as missed (the last rank), and how many there were is reported as `unseen`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import torch
from torch import nn

from seqlab import metrics
from seqlab.data.batch import IGNORE_INDEX, Batch
from seqlab.data.kb import FIRST_ENTITY as FIRST
from seqlab.data.kb import TAILS_SHOWN, link_query, read_triples, relation_ids
from seqlab.data.text import UNK
from seqlab.errors import UserError
from seqlab.files import atomic_write, read_json, write_json
from seqlab.heads import HeadOutput, mean_loss
from seqlab.heads.link import LinkHead
from seqlab.tasks.base import HeadParts, Task
from seqlab.training.hardware import device_of

INVERSE = "^-1"  # `relation^-1` leads from a triple's tail back to its head
ENTITY_STD = 0.02  # entities and relations start at N(0, this) whatever the encoder, as a graph embedding's
# do: on WN18RR (450 steps of 512 queries, 200 wide, one layer) a GRU reached validation MRR 0.028 so
# started, 0.020 from N(0, 1)


class LinkTask(Task):
    """Records: {"head", "relation", "tail"}; to predict, {"head", "relation"}."""

    name = "link"
    files = ("link.json", "triples.tsv")
    primary_metric = "mrr"
    records = "triples"
    input = "text"
    tokenizers = ("word",)

    def __init__(self, config, tokenizer=None, labels=None, chars=None):
        super().__init__(config)
        self.entities: list[str] = []
        self.relations: list[str] = []  # each relation, then its inverse
        self.known: set[tuple[str, str, str]] = set()  # every triple of every split encoded: the filter

    @classmethod
    def read(cls, path: Path, data, labelled: bool) -> list[dict]:
        return [{"head": h, "relation": r, "tail": t} for h, r, t in read_triples(path)]

    @classmethod
    def build_head(cls, config, parts: HeadParts) -> nn.Module:
        m = config.model
        tokens = getattr(parts.adapter, "embed", None)
        if not isinstance(tokens, nn.Embedding):
            raise UserError("task link reads entities and relations as tokens; leave data.input at text")
        nn.init.normal_(tokens.weight, std=ENTITY_STD)
        count = parts.sizes["num_labels"]
        return LinkHead(parts.width, tokens, FIRST, count, m.pooling, m.dropout, m.label_smoothing)

    def fit(self, train: list) -> None:
        self.entities = sorted({r["head"] for r in train} | {r["tail"] for r in train})
        named = sorted({r["relation"] for r in train})
        self.relations = named + [r + INVERSE for r in named]
        self._index()

    def _index(self) -> None:
        self.entity_ids = {e: i for i, e in enumerate(self.entities)}  # → label (and token FIRST + i)
        self.relation_ids = relation_ids(self.entities, self.relations)

    def model_sizes(self) -> dict[str, int]:
        return {
            "vocab_size": FIRST + len(self.entities) + len(self.relations),
            "num_labels": len(self.entities),
            "num_chars": 0,
        }

    def save(self, run_dir: Path) -> None:
        write_json(run_dir / "link.json", {"entities": self.entities, "relations": self.relations})
        known = sorted(t for t in self.known if not t[1].endswith(INVERSE))
        atomic_write(run_dir / "triples.tsv", "".join(f"{h}\t{r}\t{t}\n" for h, r, t in known))

    @classmethod
    def load(cls, config, run_dir: Path) -> LinkTask:
        task = cls(config)
        saved = read_json(run_dir / "link.json")
        task.entities, task.relations = saved["entities"], saved["relations"]
        task._index()
        task._learn(read_triples(run_dir / "triples.tsv"))
        return task

    # -- data ---------------------------------------------------------------------------------

    def _learn(self, triples) -> None:
        for h, r, t in triples:
            self.known |= {(h, r, t), (t, r + INVERSE, h)}

    def encode(self, records: list, with_targets: bool = True) -> list:
        """Two queries per triple (its tail, then its head); without targets, one per record. The
        triples join the filter of later rankings."""
        if with_targets:
            self._learn((r["head"], r["relation"], r["tail"]) for r in records)
            queries = [(r["head"], r["relation"], r["tail"]) for r in records]
            queries = [q for h, r, t in queries for q in ((h, r, t), (t, r + INVERSE, h))]
        else:
            queries = [(r["head"], r["relation"], None) for r in records]
        examples = []
        for n, (head, relation, answer) in enumerate(queries):
            entity = self.entity_ids.get(head)
            if not with_targets and (entity is None or relation not in self.relation_ids):
                what = f"entity '{head}'" if entity is None else f"relation '{relation}'"
                raise UserError(f"{what} of query {n + 1} was never seen in training")
            example = {
                "ids": [FIRST + entity if entity is not None else UNK, self.relation_ids.get(relation, UNK)],
                "query": (head, relation),
            }
            if with_targets:
                target = self.entity_ids.get(answer)
                unseen = entity is None or target is None or relation not in self.relation_ids
                example.update(target=IGNORE_INDEX if unseen else target, unseen=unseen)
            examples.append(example)
        return examples

    def collate(self, examples: list) -> Batch:
        inputs = torch.tensor([e["ids"] for e in examples])  # (B, 2)
        targets = torch.tensor([e["target"] for e in examples]) if "target" in examples[0] else None
        return Batch(inputs=inputs, mask=torch.ones_like(inputs, dtype=torch.bool), targets=targets)

    # -- use ----------------------------------------------------------------------------------

    @torch.no_grad()
    def outputs(
        self, model, examples: list, batch_size: int, autocast
    ) -> Iterator[tuple[list[int], HeadOutput]]:
        """Per batch: the examples' indices and the model's output (every entity's score, and the loss
        of the answers training knew)."""
        model.eval()
        for indices, batch in self.batches(examples, batch_size):
            with autocast():
                yield indices, model(batch.to(device_of(model)))

    def ranks(self, examples: list, scored: Iterator[tuple[list[int], torch.Tensor]]) -> list[float]:
        """The filtered rank of every example's answer (`len(entities)` where it cannot be ranked)."""
        answers: dict[tuple[str, str], list[int]] = {}
        for h, r, t in self.known:
            if t in self.entity_ids:
                answers.setdefault((h, r), []).append(self.entity_ids[t])
        ranks = [float(len(self.entities))] * len(examples)
        for indices, scores in scored:
            for i, row in zip(indices, scores):
                example = examples[i]
                if example["unseen"]:
                    continue
                true = row[example["target"]].item()
                row[answers.get(example["query"], [])] = float("-inf")  # the other answers set aside
                greater, ties = int((row > true).sum()), int((row == true).sum())
                ranks[i] = 1 + greater + ties / 2  # the answer's own score is no longer among them
        return ranks

    def evaluate(self, model, examples: list, batch_size: int, autocast) -> dict[str, float]:
        """The filtered ranking and the loss, from one pass over the examples."""
        loss_sum, count = 0.0, 0

        def scored() -> Iterator[tuple[list[int], torch.Tensor]]:
            nonlocal loss_sum, count
            for indices, out in self.outputs(model, examples, batch_size, autocast):
                loss_sum, count = loss_sum + float(out.loss_sum), count + int(out.count)
                yield indices, out.logits.float().cpu()  # (B, E)

        ranks = self.ranks(examples, scored())
        unseen = sum(e["unseen"] for e in examples)
        return {**metrics.ranking(ranks), "unseen": unseen, "loss": mean_loss(loss_sum, count)}

    def decode(self, model, logits: torch.Tensor, batch: Batch) -> list:
        return [None] * len(batch)  # rankings are read from `outputs`, not kept per example

    def baseline(self, train: list, held_out: list) -> dict | None:
        """Each relation's answers by how often training gives them, the filter as for the model."""
        counts: dict[str, Counter] = {}
        for e in train:
            counts.setdefault(e["query"][1], Counter())[e["target"]] += 1
        table = torch.zeros(len(self.relations), len(self.entities))
        for relation, answered in counts.items():
            row = self.relation_ids[relation] - FIRST - len(self.entities)
            table[row, list(answered)] = torch.tensor(list(answered.values()), dtype=torch.float)

        def scored() -> Iterator[tuple[list[int], torch.Tensor]]:
            rows = [self.relation_ids.get(e["query"][1], FIRST + len(self.entities)) for e in held_out]
            yield list(range(len(held_out))), table[torch.tensor(rows) - FIRST - len(self.entities)]

        return {
            "baseline": "each relation's commonest answers",
            **metrics.ranking(self.ranks(held_out, scored())),
        }

    def predict(self, pipeline, records: list) -> list[dict]:
        """Per query, the likeliest entities, best first, with their probabilities."""
        examples = self.encode(records, with_targets=False)
        results: dict[int, dict] = {}
        for indices, out in self.outputs(pipeline.model, examples, pipeline.batch_size, pipeline.autocast):
            top = out.logits.float().softmax(-1).topk(min(TAILS_SHOWN, len(self.entities)))
            for i, values, ids in zip(indices, top.values.tolist(), top.indices.tolist()):
                head, relation = examples[i]["query"]
                predicted = [{"entity": self.entities[j], "probability": p} for j, p in zip(ids, values)]
                results[i] = {"head": head, "relation": relation, "tails": predicted}
        return [results[i] for i in range(len(examples))]

    def records_from_texts(self, texts: list[str]) -> list[dict]:
        """`HEAD RELATION`, separated by a tab or spaces."""
        return [link_query(text, n) for n, text in enumerate(texts, start=1)]
