"""Sequence to sequence: translate, summarise or reply — a source text in, a target text out."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from seqlab import metrics
from seqlab.data import text2sql
from seqlab.data.batch import IGNORE_INDEX, PAD_ID, Batch, pad
from seqlab.data.splits import pair_splits_of, read_pairs
from seqlab.data.text import BOS, EOS, SPECIAL_TOKENS, TextTokenizer
from seqlab.encoders import EncoderSpec
from seqlab.errors import UserError
from seqlab.generation import GenerationConfig, decode
from seqlab.heads import mean_loss
from seqlab.heads.lm import init_token_embedding
from seqlab.heads.seq2seq import Seq2SeqHead
from seqlab.modules.adapters import TokenAdapter
from seqlab.tasks.base import HeadParts, Task, padding_mask

GREEDY = GenerationConfig(temperature=0.0)


@dataclass
class CopySettings:
    copy: bool = False  # seq2seq: the decoder may also copy the source's tokens (a pointer-generator)


class Seq2SeqTask(Task):
    """Records {"source": str, "target": str}. One tokenizer for both sides, or one each
    (`data.shared_vocab=false`, saved as `tokenizer.json` and `target_tokenizer.json`). Questions to SQL
    (`seqlab.data.text2sql`) also hold every gold variant and the variables' values, and are scored
    by exact match and, given `data.database`, by running the queries."""

    name = "seq2seq"
    primary_metric = "loss"
    higher_is_better = False
    records = "pairs"
    default_tokenizer = "bpe"
    verbs = ("translate", "reply")
    decodes = True
    steps_through_a_decoder = True
    settings = {"data": text2sql.SQLSettings, "model": CopySettings}

    @classmethod
    def read(cls, path: Path, data, labelled: bool) -> list[dict]:
        """Pairs in any layout `read_pairs` reads; of a text2sql file, its test split."""
        if text2sql.is_text2sql(Path(path)):
            splits = text2sql.read_text2sql(Path(path), data.split, data.fold)
            return splits.get("test") or splits["train"]
        return read_pairs(path, data, labelled)

    @classmethod
    def read_splits(cls, path: Path, data) -> dict[str, list] | None:
        if text2sql.is_text2sql(Path(path)):
            return text2sql.read_text2sql(Path(path), data.split, data.fold)
        return pair_splits_of(path, data)

    @classmethod
    def check_config(cls, config, encoder: EncoderSpec) -> None:
        super().check_config(config, encoder)
        if encoder.build_decoder is None:
            raise UserError(
                f"encoder {encoder.name} has no decoder, and task seq2seq writes the target with one"
            )

    @classmethod
    def build_head(cls, config, parts: HeadParts) -> nn.Module:
        """A decoder of the encoder's family; with a shared vocabulary the source embedding serves the
        target (a source of other inputs, such as images, leaves the target its own)."""
        m, d = config.model, config.data
        if d.shared_vocab and isinstance(parts.adapter, TokenAdapter):
            embed = parts.adapter.embed
        else:
            embed = nn.Embedding(parts.sizes["target_vocab_size"], m.embed_dim, padding_idx=PAD_ID)
        assert parts.encoder.build_decoder is not None  # check_config refused the run otherwise
        decoder = parts.encoder.build_decoder(m, parts.width, d.max_length + 1)  # [BOS] + max_length
        init_token_embedding(embed, parts.encoder)
        copy_from = parts.width if m.copy else 0
        return Seq2SeqHead(decoder, embed, m.tie_weights, m.label_smoothing, m.dropout, copy_from)

    def __init__(
        self,
        config,
        tokenizer: TextTokenizer | None = None,
        labels=None,
        chars=None,
        target_tokenizer: TextTokenizer | None = None,
    ):
        super().__init__(config, tokenizer)
        self.target_tokenizer = target_tokenizer or tokenizer
        self._copy_table: torch.Tensor | None = None

    # -- vocabularies -------------------------------------------------------------------------

    def fit(self, train: list) -> None:
        d = self.config.data
        if d.database is not None:
            text2sql.database_path(d.database)  # before training, not after it
        sources, targets = [r["source"] for r in train], [r["target"] for r in train]
        if d.shared_vocab:
            self.tokenizer = TextTokenizer.train(
                d.tokenizer, sources + targets, d.vocab_size, d.min_freq, d.lowercase
            )
            self.target_tokenizer = self.tokenizer
        else:
            self.tokenizer = TextTokenizer.train(d.tokenizer, sources, d.vocab_size, d.min_freq, d.lowercase)
            self.target_tokenizer = TextTokenizer.train(
                d.tokenizer, targets, d.vocab_size, d.min_freq, d.lowercase
            )
        self._copy_table = None

    def model_sizes(self) -> dict[str, int]:
        return {
            "vocab_size": self.tokenizer.vocab_size,
            "target_vocab_size": self.target_tokenizer.vocab_size,
        }

    def save(self, run_dir: Path) -> None:
        self.tokenizer.save(run_dir / "tokenizer.json")
        if self.target_tokenizer is not self.tokenizer:
            self.target_tokenizer.save(run_dir / "target_tokenizer.json")

    @classmethod
    def load(cls, config, run_dir: Path) -> Seq2SeqTask:
        tokenizer = TextTokenizer.load(run_dir / "tokenizer.json", config.data.tokenizer)
        target = None
        if not config.data.shared_vocab:
            from seqlab.training.run_dir import require

            require(run_dir, ["target_tokenizer.json"])
            target = TextTokenizer.load(run_dir / "target_tokenizer.json", config.data.tokenizer)
        return cls(config, tokenizer, target_tokenizer=target)

    # -- data ---------------------------------------------------------------------------------

    def encode(self, records: list, with_targets: bool = True) -> list:
        sources = self._limited(self.tokenizer.encode_batch([r["source"] for r in records]), "source")
        targets = (
            self._limited(self.target_tokenizer.encode_batch([r["target"] for r in records]), "target")
            if with_targets
            else [None] * len(records)
        )
        examples = []
        for record, source, target in zip(records, sources, targets):
            example = {"ids": source}
            if with_targets:
                example.update(target=target, reference=record["target"])
                if "queries" in record:
                    example.update(queries=record["queries"], variables=record["variables"])
            examples.append(example)
        return examples

    def _limited(self, sequences: list[list[int]], side: str) -> list[list[int]]:
        """Refuse empty texts; cut (with a warning) or refuse those over `data.max_length` tokens."""
        limit, cut = self.config.data.max_length, 0
        for n, ids in enumerate(sequences):
            if not ids:
                raise UserError(f"{side} {n + 1} is empty; every pair needs a source and a target text")
            if len(ids) > limit:
                if not self.config.data.truncate:
                    raise self._over_length(ids, f"{side} {n + 1}")
                sequences[n], cut = ids[:limit], cut + 1
        if cut:
            warnings.warn(
                f"{cut} {side} texts were cut to data.max_length={limit} tokens "
                "(data.truncate=false refuses them instead)"
            )
        return sequences

    def collate(self, examples: list) -> Batch:
        inputs = pad([e["ids"] for e in examples])  # (B, S)
        batch = Batch(inputs=inputs, mask=padding_mask(examples, inputs.shape[1]))
        if "target" in examples[0]:
            batch.target_inputs = pad([[BOS] + e["target"] for e in examples])  # (B, U)
            batch.targets = pad([e["target"] + [EOS] for e in examples], IGNORE_INDEX)  # (B, U)
        if self.config.model.copy:
            batch.copy_ids = self.copy_table()[inputs]  # (B, S)
        return batch

    def copy_table(self) -> torch.Tensor:
        """(source vocabulary,) each source token's id in the target vocabulary: itself where the two
        share one, else the same token's id; PAD for special tokens and for tokens the target lacks."""
        if self._copy_table is None:
            shared, source, target = (
                self.target_tokenizer is self.tokenizer,
                self.tokenizer.backend,
                self.target_tokenizer.backend,
            )
            ids = [PAD_ID] * len(SPECIAL_TOKENS)
            for i in range(len(SPECIAL_TOKENS), self.tokenizer.vocab_size):
                found = i if shared else target.token_to_id(source.id_to_token(i))
                ids.append(PAD_ID if found is None else found)
            self._copy_table = torch.tensor(ids)
        return self._copy_table

    def length(self, example) -> int:
        return max(len(example["ids"]), len(example.get("target") or ()))

    # -- use ----------------------------------------------------------------------------------

    def decode_examples(
        self, model, examples: list, batch_size: int, autocast, settings: GenerationConfig = GREEDY
    ) -> list[str]:
        """The decoded target of every example, in order."""
        outputs: dict[int, str] = {}
        for indices, batch in self.batches(examples, batch_size):
            for i, ids in zip(indices, decode(model, batch, settings, autocast, self.config.data.max_length)):
                outputs[i] = self.target_tokenizer.decode(ids).strip()
        return [outputs[i] for i in range(len(examples))]

    @torch.no_grad()
    def evaluate(
        self, model, examples: list, batch_size: int, autocast, settings: GenerationConfig = GREEDY
    ) -> dict[str, float]:
        """Cross-entropy per target token (teacher-forced), and BLEU, chrF and ROUGE of decoded outputs."""
        outputs = self.decode_examples(model, examples, batch_size, autocast, settings)
        references = [e["reference"] for e in examples]
        return {
            **metrics.language_model(self.teacher_forced_loss(model, examples, batch_size, autocast)),
            **metrics.translation(outputs, references),
            **metrics.summarization(outputs, references),
            **self._sql_scores(outputs, examples),
        }

    @torch.no_grad()
    def teacher_forced_loss(self, model, examples: list, batch_size: int, autocast) -> float:
        """Cross-entropy per target token, every target fed the tokens before it."""
        model.eval()
        loss_sum, count = 0.0, 0
        for _, batch in self.batches(examples, batch_size):
            with autocast():
                out = model(batch)
            loss_sum, count = loss_sum + float(out.loss_sum), count + int(out.count)
        return mean_loss(loss_sum, count)

    def _sql_scores(self, outputs: list[str], examples: list) -> dict[str, float]:
        """Exact match and execution accuracy, for questions to SQL."""
        if not examples or "queries" not in examples[0]:
            return {}
        queries, values = [e["queries"] for e in examples], [e["variables"] for e in examples]
        if self.config.data.database is None:
            return metrics.sql(outputs, queries, values)
        database = text2sql.ReadOnlyDatabase(text2sql.database_path(self.config.data.database))
        try:
            return metrics.sql(outputs, queries, values, database)
        finally:
            database.close()

    def baseline(self, train: list, held_out: list) -> dict | None:
        """The source copied as the output."""
        copies, references = (
            [self.tokenizer.decode(e["ids"]) for e in held_out],
            [e["reference"] for e in held_out],
        )
        return {
            "baseline": "the source, copied",
            **metrics.translation(copies, references),
            **metrics.summarization(copies, references),
        }

    def predict(self, pipeline, records: list) -> list[str]:
        return self.translate(pipeline, [r["source"] for r in records])

    def records_from_texts(self, texts: list[str]) -> list[dict]:
        return [{"source": t} for t in texts]

    def prediction_rows(self, pipeline, records: list, decoding=None) -> Iterator[dict]:
        for record, output in zip(
            records, self.translate(pipeline, [r["source"] for r in records], decoding)
        ):
            yield {"source": record["source"], "output": output}

    def translate(self, pipeline, sources: list[str], decoding: GenerationConfig | None = None) -> list[str]:
        """The target the model writes for every source text (greedy unless `decoding` says otherwise)."""
        examples = self.encode([{"source": s} for s in sources], with_targets=False)
        settings = (decoding or GREEDY).check()
        return self.decode_examples(
            pipeline.model, examples, pipeline.batch_size, pipeline.autocast, settings
        )

    def reply(self, pipeline, history: list[str], decoding: GenerationConfig | None = None) -> str:
        """A dialogue model's next turn after `history` (the turns so far, the user's last)."""
        return self.translate(pipeline, [reply_source(history, self.config.data.context_turns)], decoding)[0]

    @torch.no_grad()
    def artifacts(self, model, held_out: list, batch_size: int, autocast) -> dict[str, object]:
        """The first held-out examples' greedy outputs beside their references, and the attention maps of
        the first few: their output against the source."""
        shown = held_out[:8]
        outputs = decode(model, self.collate(shown), GREEDY, autocast, self.config.data.max_length)
        translations = [
            {
                "source": self.tokenizer.decode(e["ids"]),
                "output": self.target_tokenizer.decode(ids),
                "reference": e["reference"],
            }
            for e, ids in zip(shown, outputs)
        ]
        examples, outputs = shown[:4], outputs[:4]
        batch = self.collate([{"ids": e["ids"], "target": ids} for e, ids in zip(examples, outputs)])
        with autocast():
            attention = model(batch).state.attention  # (B, U, S)
        maps = []
        for row, (example, ids) in enumerate(zip(examples, outputs)):
            source = [self.tokenizer.decode([i]) for i in example["ids"]]
            target = [self.target_tokenizer.decode([i]) for i in ids] + ["[EOS]"]
            weights = attention[row, : len(target), : len(source)].float()
            maps.append(
                {
                    "source": source,
                    "output": target,
                    "reference": example["reference"],
                    "weights": [[round(w, 4) for w in r] for r in weights.tolist()],
                }
            )
        return {"attention.json": maps, "translations.json": translations}


def reply_source(history: list[str], context_turns: int) -> str:
    """A dialogue's last `context_turns` turns, one per line: the source a reply is decoded from."""
    return "\n".join(history[-context_turns:])
