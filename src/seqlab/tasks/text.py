"""Text tasks: classify a text, tag its words, model its next token."""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch
from torch import nn

from seqlab import metrics
from seqlab.data.batch import IGNORE_INDEX, Batch, pad, pad_chars
from seqlab.data.download import derived_dir
from seqlab.data.inputs import kind_of
from seqlab.data.splits import read_table, read_tagged
from seqlab.data.text import SPECIAL_TOKENS, TextTokenizer, line_chunks, token_stream
from seqlab.errors import UserError
from seqlab.files import read_text
from seqlab.generation import GenerationConfig, generate
from seqlab.heads import mean_loss
from seqlab.heads.classify import ClassifyHead
from seqlab.heads.lm import LMHead, init_token_embedding, tied_logit_scale
from seqlab.heads.tag import TagHead
from seqlab.modules.adapters import TokenAdapter
from seqlab.registry import ENCODERS
from seqlab.tasks.base import HeadParts, Task, confusion, padding_mask


class ClassifyTask(Task):
    name = "classify"
    primary_metric = "accuracy"
    read = staticmethod(read_table)
    files = ("tokenizer.json", "labels.json")

    @classmethod
    def budget_settings(cls, config, short: bool, recurrent: bool) -> dict[str, object]:
        """Texts in words: lowercase, at most 256 words, one vector per text from the mean of its
        positions; a small encoder for a short budget."""
        if config.data.input not in ("auto", "text") or config.data.tokenizer != "word":
            return {}
        width = 128 if short else 256
        return {
            "data.lowercase": True,
            "data.max_length": 256,
            "model.embed_dim": width,
            "model.hidden_size": width,
            "model.num_layers": 2 if short or recurrent else 4,
            "model.pooling": "mean",
            "model.dropout": 0.1 if short else 0.3,
            "train.lr": 2e-3 if recurrent else 1e-3,
        }

    @classmethod
    def build_head(cls, config, parts: HeadParts) -> nn.Module:
        m = config.model
        return ClassifyHead(
            parts.width, parts.sizes["num_labels"], config.data.multi_label, m.pooling, m.dropout
        )

    def fit(self, train: list) -> None:
        d = self.config.data
        self.tokenizer = TextTokenizer.train(
            d.tokenizer, (r["text"] for r in train), d.vocab_size, d.min_freq, d.lowercase, kmer=d.kmer
        )
        if d.multi_label:
            self.labels = sorted({label for r in train for label in r["label"]})
        else:
            self.labels = sorted({str(r["label"]) for r in train})
        if len(self.labels) < 2 and not d.multi_label:
            raise UserError(
                f"the training data has {len(self.labels)} label(s); classification needs at least 2"
            )

    def encode(self, records: list, with_targets: bool = True) -> list:
        limit, truncated = self.config.data.max_length, 0
        reverse = kind_of(self.config.data).reverse
        ids = self.tokenizer.encode_batch([r["text"] for r in records])
        index = {label: i for i, label in enumerate(self.labels)}
        examples = []
        for n, (record, seq) in enumerate(zip(records, ids)):
            if len(seq) > limit:
                if not self.config.data.truncate:
                    raise self._over_length(seq, f"text {n + 1}")
                seq, truncated = seq[:limit], truncated + 1
            example = {"ids": seq or [0]}
            if self._both_strands:
                example["rc_ids"] = self.tokenizer.encode(reverse(record["text"]))[:limit] or [0]
            if with_targets:
                example["target"] = self._target(record["label"], index)
            examples.append(example)
        if truncated:
            warnings.warn(f"{truncated} texts were cut to data.max_length={limit} tokens")
        return examples

    @property
    def _both_strands(self) -> bool:
        d = self.config.data
        return kind_of(d).reverse is not None and (d.reverse_complement or d.strand_symmetric)

    def batches(
        self, examples: list, batch_size: int, generator: torch.Generator | None = None
    ) -> Iterator[tuple[list[int], Batch]]:
        """With data.reverse_complement, training reads each DNA sequence from either strand at random."""
        if generator is not None and self.config.data.reverse_complement and self._both_strands:
            flips = (torch.rand(len(examples), generator=generator) < 0.5).tolist()
            examples = [{**e, "ids": e["rc_ids"]} if flip else e for e, flip in zip(examples, flips)]
        yield from super().batches(examples, batch_size, generator)

    def run(self, model, examples: list, batch_size: int, autocast) -> tuple[dict[int, object], float]:
        """With data.strand_symmetric, a DNA sequence's probabilities (and loss) are the mean of its two
        strands'."""
        forward, loss = super().run(model, examples, batch_size, autocast)
        if not (self.config.data.strand_symmetric and self._both_strands):
            return forward, loss
        reverse, reverse_loss = super().run(
            model, [{**e, "ids": e["rc_ids"]} for e in examples], batch_size, autocast
        )
        both = {i: [(a + b) / 2 for a, b in zip(forward[i], reverse[i])] for i in forward}
        return both, (loss + reverse_loss) / 2

    def _target(self, label, index: dict[str, int]):
        wanted = label if self.config.data.multi_label else [str(label)]
        unknown = [w for w in wanted if w not in index]
        if unknown:
            raise UserError(
                f"label '{unknown[0]}' was never seen in training (known: {', '.join(self.labels)})"
            )
        if self.config.data.multi_label:
            hot = [0.0] * len(self.labels)
            for w in wanted:
                hot[index[w]] = 1.0
            return hot
        return index[wanted[0]]

    def collate(self, examples: list) -> Batch:
        inputs = pad([e["ids"] for e in examples])  # (B, T)
        targets = None
        if "target" in examples[0]:
            targets = torch.tensor([e["target"] for e in examples])  # (B,) or (B, L)
        return Batch(inputs=inputs, mask=padding_mask(examples, inputs.shape[1]), targets=targets)

    def decode(self, model, logits: torch.Tensor, batch: Batch) -> list:
        return model.head.predict(logits).tolist()  # probabilities per label

    def predict(self, pipeline, records: list) -> list[dict]:
        """Per record the label (or labels) and the probability of each label."""
        labels = self.labels
        results = super().predict(pipeline, records)
        if self.config.data.multi_label:
            return [
                {
                    "labels": [l for l, p in zip(labels, probs) if p > 0.5],
                    "probabilities": dict(zip(labels, probs)),
                }
                for probs in results
            ]
        return [
            {
                "label": labels[max(range(len(probs)), key=probs.__getitem__)],
                "probabilities": dict(zip(labels, probs)),
            }
            for probs in results
        ]

    def evaluate(self, model, examples: list, batch_size: int, autocast) -> dict[str, float]:
        probs, loss = self.run(model, examples, batch_size, autocast)
        truth = [e["target"] for e in examples]
        if self.config.data.multi_label:
            pred = [[int(p > 0.5) for p in probs[i]] for i in range(len(examples))]
            result = metrics.multilabel(truth, pred)
        else:
            pred = [max(range(len(self.labels)), key=probs[i].__getitem__) for i in range(len(examples))]
            result = metrics.classification(truth, pred)
        return {**result, "loss": loss}

    def baseline(self, train: list, held_out: list) -> dict | None:
        if self.config.data.multi_label:
            return None
        majority = Counter(e["target"] for e in train).most_common(1)[0][0]
        truth = [e["target"] for e in held_out]
        return {"baseline": "the majority class", **metrics.classification(truth, [majority] * len(truth))}

    def artifacts(self, model, held_out: list, batch_size: int, autocast) -> dict[str, object]:
        if self.config.data.multi_label:
            return {}
        return confusion(self, model, held_out, batch_size, autocast)


SPAN_PREFIXES = ("B-", "I-", "E-", "S-", "L-", "U-")  # tags that mark entity spans (BIO, BIOES, BILOU)


def scoring(record: dict) -> list[bool]:
    """Which positions of a tagged record are trained on and scored: all, unless it says (a protein's
    unresolved residues are not)."""
    return record.get("scored") or [True] * len(record["tags"])


class TagTask(Task):
    name = "tag"
    primary_metric = "f1"
    records = "tagged"
    files = ("tokenizer.json", "labels.json")
    read = staticmethod(read_tagged)
    tokenizers = ("word", "nucleotide", "residue")  # tags label whole words, each also read by its characters
    # (model.char_dim), or single bases or residues
    verbs = ("tag_marginals",)

    @classmethod
    def budget_settings(cls, config, short: bool, recurrent: bool) -> dict[str, object]:
        """Words of text with a short budget: a narrower encoder over smaller batches at a higher learning
        rate (measured on WNUT-16 in 45 s); a long budget keeps the static defaults."""
        if config.data.input not in ("auto", "text") or not short:
            return {}
        return {"model.hidden_size": 128, "train.batch_size": 16, "train.lr": 5e-3}

    @classmethod
    def build_head(cls, config, parts: HeadParts) -> nn.Module:
        return TagHead(parts.width, parts.sizes["num_labels"], config.model.crf, config.model.dropout)

    @staticmethod
    def char_dim(config) -> int:
        """model.char_dim, or where it is unset 30 for words of text and 0 for DNA's single bases. (A
        CoNLL-2003 LSTM tagger after 400 steps: validation F1 0.494 with the characters, 0.391 without.)"""
        if config.model.char_dim is not None:
            return config.model.char_dim
        return 30 if kind_of(config.data).name == "text" else 0

    def fit(self, train: list) -> None:
        d = self.config.data
        words = [" ".join(r["tokens"]) for r in train]
        alphabet = d.tokenizer in ("nucleotide", "residue")  # a fixed vocabulary, a language model's too
        self.tokenizer = TextTokenizer.train(
            d.tokenizer if alphabet else "word",
            words,
            min_freq=d.min_freq,
            lowercase=d.lowercase,
            pretokenized=True,
        )
        self.labels = sorted({tag for r in train for tag, scored in zip(r["tags"], scoring(r)) if scored})
        if self.char_dim(self.config) > 0:
            self.chars = TextTokenizer.train("char", (w for r in train for w in r["tokens"]))

    def encode(self, records: list, with_targets: bool = True) -> list:
        ids = self.tokenizer.encode_words([r["tokens"] for r in records])
        index = {tag: i for i, tag in enumerate(self.labels)}
        examples = []
        for n, (record, seq) in enumerate(zip(records, ids)):
            if not seq:
                raise UserError(f"sentence {n + 1} has no tokens")
            if len(seq) > self.config.data.max_length:
                raise self._over_length(seq, f"sentence {n + 1}")
            example = {"ids": seq, "tokens": record["tokens"]}
            if self.chars is not None:
                example["chars"] = self.chars.encode_batch(record["tokens"])
            if with_targets:
                scored = scoring(record)
                unknown = [t for t, s in zip(record["tags"], scored) if s and t not in index]
                if unknown:
                    raise UserError(
                        f"tag '{unknown[0]}' in sentence {n + 1} was never seen in training "
                        f"(known: {', '.join(self.labels)})"
                    )
                example["target"] = [index[t] if s else IGNORE_INDEX for t, s in zip(record["tags"], scored)]
            examples.append(example)
        return examples

    def collate(self, examples: list) -> Batch:
        inputs = pad([e["ids"] for e in examples])  # (B, T)
        chars = pad_chars([e["chars"] for e in examples]) if "chars" in examples[0] else None
        targets = pad([e["target"] for e in examples], IGNORE_INDEX) if "target" in examples[0] else None
        return Batch(
            inputs=inputs, mask=padding_mask(examples, inputs.shape[1]), targets=targets, chars=chars
        )

    def decode(self, model, logits: torch.Tensor, batch: Batch) -> list:
        tags = model.head.predict(logits, batch.mask).tolist()
        return [[self.labels[t] for t in row[:n]] for row, n in zip(tags, batch.lengths.tolist())]

    def evaluate(self, model, examples: list, batch_size: int, autocast) -> dict[str, float]:
        predicted, loss = self.run(model, examples, batch_size, autocast)
        return {**self.score(examples, [predicted[i] for i in range(len(examples))]), "loss": loss}

    def score(self, examples: list, predicted: list[list[str]]) -> dict[str, float]:
        """Over the scored positions: entity spans (seqeval) where the tags mark them (B-, I-, …), each
        position's class otherwise (secondary structure, parts of speech)."""
        truth = [[self.labels[t] for t in e["target"] if t != IGNORE_INDEX] for e in examples]
        guess = [
            [p for p, t in zip(row, e["target"]) if t != IGNORE_INDEX] for row, e in zip(predicted, examples)
        ]
        spans = any(label[:2] in SPAN_PREFIXES for label in self.labels)
        return metrics.tagging(truth, guess) if spans else metrics.positions(truth, guess, self.labels)

    def artifacts(self, model, held_out: list, batch_size: int, autocast) -> dict[str, object]:
        """The first held-out sentences (their first 80 words) with their true and predicted tags, for the
        report."""
        shown, words = held_out[:12], 80
        predicted, _ = self.run(model, shown, batch_size, autocast)
        sentences = [
            {
                "tokens": e["tokens"][:words],
                "gold": [self.labels[t] if t != IGNORE_INDEX else "·" for t in e["target"][:words]],
                "predicted": predicted[i][:words],
            }
            for i, e in enumerate(shown)
        ]
        return {"tagged.json": sentences}

    def baseline(self, train: list, held_out: list) -> dict | None:
        """Each word tagged with its most frequent training tag; an unseen word with the commonest tag."""
        pairs = Counter(
            (word, tag) for e in train for word, tag in zip(e["tokens"], e["target"]) if tag != IGNORE_INDEX
        )
        tags: Counter = Counter()
        for (_, tag), count in pairs.items():
            tags[tag] += count
        usual = tags.most_common(1)[0][0]
        best: dict[str, int] = {}
        for (word, tag), _ in sorted(pairs.items(), key=lambda pair: -pair[1]):  # ties: the first seen
            best.setdefault(word, tag)
        guess = [[self.labels[best.get(w, usual)] for w in e["tokens"]] for e in held_out]
        return {"baseline": "each word's most frequent training tag", **self.score(held_out, guess)}

    def records_from_texts(self, texts: list[str]) -> list[dict]:
        """The words of each text, as the input kind splits them."""
        words = kind_of(self.config.data).words  # a DNA sequence's bases are its words
        return [{"tokens": words(t)} for t in texts]

    def prediction_rows(self, pipeline, records: list, decoding=None) -> Iterator[dict]:
        for record, tags in zip(records, pipeline.predict(records)):
            yield {"tokens": record["tokens"], "tags": tags}

    @torch.no_grad()
    def tag_marginals(self, pipeline, records: list) -> list[list[dict[str, float]]]:
        """Per record, per word, the probability of each tag (CRF marginals when there is a CRF)."""
        examples = self.encode(records, with_targets=False)
        results: dict[int, list] = {}
        for indices, batch in self.batches(examples, pipeline.batch_size):
            with pipeline.autocast():
                logits = pipeline.model(batch).logits  # (B, T, K)
            crf = pipeline.model.head.crf
            probs = crf.marginals(logits, batch.mask) if crf is not None else logits.float().softmax(-1)
            for i, row, n in zip(indices, probs.tolist(), batch.lengths.tolist()):
                results[i] = [dict(zip(self.labels, p)) for p in row[:n]]
        return [results[i] for i in range(len(examples))]


class LMTask(Task):
    """Next-token prediction over running text, in windows of `data.block_size` tokens."""

    name = "lm"
    primary_metric = "loss"
    higher_is_better = False
    records = "stream"
    causal = True
    default_tokenizer = "char"

    @classmethod
    def budget_settings(cls, config, short: bool, recurrent: bool) -> dict[str, object]:
        """A short budget: a one-layer recurrent net 384 wide or a four-layer transformer 128 wide over
        windows of 64 tokens, at a high learning rate without dropout or weight decay (measured on
        Tiny Shakespeare in 66 s). A long one: two layers 768 wide, or six 384 wide, over 128 or 256."""
        if short:
            sizes = {"model.num_layers": 1, "model.embed_dim": 384, "model.hidden_size": 384}
            if not recurrent:
                sizes = {"model.num_layers": 4, "model.embed_dim": 128, "model.hidden_size": 128}
            return {
                **sizes,
                "data.block_size": 64,
                "model.dropout": 0.0,
                "train.batch_size": 32,
                "train.lr": 5e-3 if recurrent else 3e-3,
                "train.warmup": 50,
                "train.weight_decay": 0.0,
            }
        sizes = {"model.num_layers": 2, "model.embed_dim": 256, "model.hidden_size": 768}
        if not recurrent:
            sizes = {"model.num_layers": 6, "model.embed_dim": 384, "model.hidden_size": 384}
        return {
            **sizes,
            "data.block_size": 128 if recurrent else 256,
            "model.dropout": 0.2,
            "train.batch_size": 32,
            "train.lr": 3e-3 if recurrent else 1e-3,
            "train.warmup": 100,
            "train.weight_decay": 0.0 if recurrent else 0.1,
        }

    @classmethod
    def read(cls, path: Path, data, labelled: bool) -> list[str]:
        return [read_text(path)]

    verbs = ("generate", "next_token_probabilities")

    @classmethod
    def context_length(cls, config, adapter: nn.Module) -> int:
        return config.data.block_size

    @classmethod
    def build_head(cls, config, parts: HeadParts) -> nn.Module:
        assert isinstance(parts.adapter, TokenAdapter)
        init_token_embedding(parts.adapter.embed, parts.encoder)
        tied = parts.adapter.embed if config.model.tie_weights else None
        scale = tied_logit_scale(tied, parts.encoder)
        return LMHead(parts.width, parts.sizes["vocab_size"], tied, config.model.dropout, scale)

    def fit(self, train: list) -> None:
        d = self.config.data
        self.tokenizer = TextTokenizer.train(
            d.tokenizer,
            line_chunks(train[0]),
            d.vocab_size,
            d.min_freq,
            d.lowercase,
            pretokenized=kind_of(d).pretokenized,
            kmer=d.kmer,
        )

    def model_sizes(self) -> dict[str, int]:
        return {"vocab_size": self.tokenizer.vocab_size}

    def encode(self, records: list, with_targets: bool = True) -> np.ndarray:
        stream = token_stream(records[0], self.tokenizer, derived_dir() / "tokens")  # (N,), memory-mapped
        if len(stream) < 2:
            raise UserError("the text is too short to model: it needs at least 2 tokens")
        return stream

    def baseline(self, train: np.ndarray, held_out: np.ndarray) -> dict | None:
        """Every token predicted from its training frequency (add-one smoothed): a unigram model."""
        counts = np.bincount(train, minlength=self.tokenizer.vocab_size) + 1.0
        log_p = np.log(counts / counts.sum())
        return {
            "baseline": "unigram frequencies",
            **metrics.language_model(float(-log_p[held_out[1:]].mean())),
        }

    def batches(
        self, stream: np.ndarray, batch_size: int, generator: torch.Generator | None = None
    ) -> Iterator[tuple[list[int], Batch]]:
        """Training: random windows (nanoGPT's sampling). Evaluation: consecutive windows."""
        T = min(self.config.data.block_size, len(stream) - 1)
        if generator is not None:
            for _ in range(self.num_batches(stream, batch_size)):
                starts = torch.randint(len(stream) - T, (batch_size,), generator=generator)
                yield [], self._window(stream, starts, T)
        else:
            starts = torch.arange(0, len(stream) - 1, T)
            for b in range(0, len(starts), batch_size):
                yield [], self._window(stream, starts[b : b + batch_size], T)

    def num_batches(self, stream: np.ndarray, batch_size: int) -> int:
        return max(1, len(stream) // (batch_size * self.config.data.block_size))

    @staticmethod
    def _window(stream: np.ndarray, starts: torch.Tensor, T: int) -> Batch:
        offsets = starts.unsqueeze(1) + torch.arange(T + 1)  # (B, T + 1)
        valid = offsets < len(stream)
        chunk = torch.from_numpy(stream[offsets.clamp(max=len(stream) - 1).numpy()].astype(np.int64))
        return Batch(inputs=chunk[:, :-1], mask=valid[:, 1:], targets=chunk[:, 1:])

    def evaluate(self, model, stream: np.ndarray, batch_size: int, autocast) -> dict[str, float]:
        model.eval()
        loss_sum, count = 0.0, 0  # a tensor after the first batch, on the model's device
        with torch.no_grad():
            for _, batch in self.batches(stream, batch_size):
                with autocast():
                    out = model(batch)
                loss_sum += out.loss_sum.float()
                count += int(out.count)
        return metrics.language_model(float(mean_loss(loss_sum, count)))

    def predict(self, pipeline, records: list) -> list:
        raise UserError("a language model generates text: use generate")

    def generate(
        self,
        pipeline,
        prompt: str,
        settings: GenerationConfig | None = None,
        num_samples: int = 1,
        on_text: Callable[[str], None] | None = None,
    ) -> list[str]:
        """`num_samples` continuations of `prompt` (without the prompt). `on_text(piece)` hears the first
        sample's text as it grows, a piece per new token that completes text (a token that is part of a
        character waits for the rest)."""
        settings = (settings or GenerationConfig()).check()
        if settings.num_beams > 1:
            raise UserError("beam search serves seq2seq models; a language model samples or decodes greedily")
        start = kind_of(self.config.data).start  # what a line (or a tune) follows
        ids = self.tokenizer.encode(prompt or start)
        if not ids:
            raise UserError(
                f"the prompt is empty and the vocabulary has no {start!r} to start from; give --prompt"
            )
        prompt_ids = torch.tensor([ids] * num_samples)  # (N, T)
        bounded = ENCODERS[self.config.model.encoder].bounded_context
        streamed: list[int] = []
        said = ""

        def hear(tokens: torch.Tensor) -> None:  # the first sample's new token
            nonlocal said
            assert on_text is not None
            streamed.append(int(tokens[0]))
            text = self.tokenizer.continuation(ids, streamed)
            if text.startswith(said) and not text.endswith("\ufffd"):
                on_text(text[len(said) :])
                said = text

        new = generate(
            pipeline.model,
            prompt_ids,
            settings,
            pipeline.autocast,
            self.config.data.block_size if bounded else None,
            on_token=hear if on_text is not None else None,
        )
        return [self.tokenizer.continuation(ids, row) for row in new.tolist()]

    @torch.no_grad()
    def next_token_probabilities(self, pipeline, prefixes: list[str]) -> list[dict[str, float]]:
        """For each prefix, the language model's distribution of the next token."""
        tokenizer = self.tokenizer
        vocab = {i: t for t, i in tokenizer.backend.get_vocab().items()}
        results = []
        for prefix in prefixes:
            ids = tokenizer.encode(prefix or "\n")[-self.config.data.block_size :]
            batch = Batch(inputs=torch.tensor([ids]), mask=torch.ones(1, len(ids), dtype=torch.bool))
            with pipeline.autocast():
                logits = pipeline.model(batch).logits[0, -1]  # (V,)
            probs = logits.float().softmax(-1).tolist()
            results.append(
                {
                    tokenizer.decode([i]) if tokenizer.kind == "bpe" else vocab[i]: p
                    for i, p in enumerate(probs)
                    if i >= len(SPECIAL_TOKENS)
                }
            )
        return results
