"""Text: tokenizers (char, word, BPE with Hugging Face `tokenizers`; DNA's nucleotide and k-mer ones and
proteins' residue one over their fixed alphabets) and the readers of text files and tables.

Readers return plain records; the task turns them into tensors:
- classification: {"text": str, "label": str | list[str]}
- tagging: {"tokens": list[str], "tags": list[str]}
- language modelling: one str per split
"""

from __future__ import annotations

import hashlib
import itertools
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from seqlab.data import protein, tables
from seqlab.data.dna import BASES, LETTERS
from seqlab.data.inputs import InputKind
from seqlab.errors import UserError
from seqlab.files import atomic_write, damaged, read_text

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[BOS]", "[EOS]"]
PAD, UNK, BOS, EOS = range(4)

TEXT_COLUMNS = ("text", "sentence", "content", "message", "sms", "review", "document", "body")
LABEL_COLUMNS = ("label", "labels", "category", "class", "target", "score", "sentiment", "y")
# The columns of a pair table, which seqlab.data.pairs reads; a first row naming any column above is a header.
SOURCE_COLUMNS = ("source", "src", "input", "article", "document", "text", "question", "prompt")
TARGET_COLUMNS = ("target", "tgt", "output", "summary", "translation", "response", "answer", "label")


# ---------------------------------------------------------------------------------------------
# Tokenizers


class TextTokenizer:
    """A Hugging Face tokenizer with seqlab's four special tokens at ids 0–3."""

    def __init__(self, backend, kind: str):
        self.backend = backend
        self.kind = kind

    @classmethod
    def train(
        cls,
        kind: str,
        texts: Iterable[str],
        vocab_size: int = 8000,
        min_freq: int = 1,
        lowercase: bool = False,
        pretokenized: bool = False,
        kmer: int = 3,
    ) -> TextTokenizer:
        """Learn a `kind` ("char" | "word" | "bpe") vocabulary from training texts; DNA's kinds
        ("nucleotide" | "kmer", of `kmer` bases) and proteins' ("residue") have a fixed one.

        `pretokenized`: the texts are words already (tagging), so a word is never split further.
        """
        from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

        if kind in ("nucleotide", "kmer", "residue"):
            return alphabet_tokenizer(kind, kmer)
        if kind == "bpe":
            backend = Tokenizer(models.BPE(unk_token="[UNK]"))
            backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
            backend.decoder = decoders.ByteLevel()
            trainer = trainers.BpeTrainer(
                vocab_size=vocab_size,
                special_tokens=SPECIAL_TOKENS,
                show_progress=False,
                initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            )
        elif kind in ("char", "word"):
            backend = Tokenizer(models.WordLevel(unk_token="[UNK]"))
            if kind == "char":
                backend.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
                backend.decoder = decoders.Fuse()
            else:
                backend.pre_tokenizer = (
                    pre_tokenizers.WhitespaceSplit() if pretokenized else pre_tokenizers.Whitespace()
                )
            trainer = trainers.WordLevelTrainer(
                special_tokens=SPECIAL_TOKENS, min_frequency=min_freq, show_progress=False
            )
        else:
            raise UserError(f"unknown tokenizer '{kind}': use char, word, bpe, nucleotide, kmer or residue")
        if lowercase:
            backend.normalizer = normalizers.Lowercase()
        backend.train_from_iterator(texts, trainer=trainer)
        return cls(backend, kind)

    @property
    def vocab_size(self) -> int:
        return self.backend.get_vocab_size()

    def encode(self, text: str) -> list[int]:
        return self.backend.encode(text, add_special_tokens=False).ids

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        return [e.ids for e in self.backend.encode_batch(texts, add_special_tokens=False)]

    def encode_words(self, sentences: list[list[str]]) -> list[list[int]]:
        """One id per word (tagging): an unknown word is [UNK], never split."""
        vocab = self.backend.get_vocab()
        normalize = self.backend.normalizer.normalize_str if self.backend.normalizer else str
        return [[vocab.get(normalize(w), UNK) for w in words] for words in sentences]

    def decode(self, ids: list[int]) -> str:
        return self.backend.decode(ids, skip_special_tokens=True)

    def continuation(self, prompt: list[int], new: list[int]) -> str:
        """The text `new` adds after `prompt`, with the space a word tokenizer puts between them."""
        return self.decode(prompt + new)[len(self.decode(prompt)) :]

    def save(self, path: Path) -> None:
        atomic_write(path, self.backend.to_str())

    @classmethod
    def load(cls, path: Path, kind: str) -> TextTokenizer:
        """The tokenizer saved at `path`; a missing or damaged file is a UserError naming it."""
        from tokenizers import Tokenizer

        text = read_text(path)
        try:
            return cls(Tokenizer.from_str(text), kind)
        except Exception as exc:  # the tokenizers library's parse errors have no type of their own
            raise UserError(damaged(path, exc)) from None


def alphabet_tokenizer(kind: str, k: int = 3) -> TextTokenizer:
    """DNA's and proteins' tokenizers, Hugging Face WordLevel models over a fixed alphabet, so they need
    no training.

    `nucleotide`: a token per base. `kmer`: non-overlapping k-mers (the last may be shorter); a k-mer
    with N or an ambiguity code in it is [UNK]. `residue`: a token per amino acid (X for any other). A line
    break is a token of its own."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers

    if kind in ("nucleotide", "residue"):
        words, pattern = list(LETTERS if kind == "nucleotide" else protein.LETTERS), r"[\s\S]"
    else:
        words = ["".join(p) for n in range(1, k + 1) for p in itertools.product(BASES, repeat=n)]
        pattern = rf"[^\n]{{1,{k}}}|\n"
    vocab = {token: i for i, token in enumerate(SPECIAL_TOKENS + words + ["\n"])}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    backend.add_special_tokens(SPECIAL_TOKENS)  # ids 0-3 already: decoding skips them
    backend.pre_tokenizer = pre_tokenizers.Split(Regex(pattern), behavior="isolated")
    backend.decoder = decoders.Fuse()
    return TextTokenizer(backend, kind)


def line_chunks(text: str, size: int = 1 << 16) -> Iterator[str]:
    """Long text in line-aligned pieces, so tokenizers never see one giant string."""
    start = 0
    while start < len(text):
        end = text.find("\n", start + size)
        end = len(text) if end == -1 else end + 1
        yield text[start:end]
        start = end


def token_stream(text: str, tokenizer: TextTokenizer, cache: Path | None) -> np.ndarray:
    """The token ids of running text, (N,) uint16 (uint32 past 65,536 tokens in the vocabulary).

    Tokenised once per text and tokenizer, saved as `cache/<digest>.npy` and memory-mapped from
    there: later runs, and every process of a distributed one, share the operating system's pages
    of one file instead of tokenising again into a private int64 copy (nanoGPT's `train.bin`).
    A cache folder that cannot be written only costs the next run the tokenising."""
    digest = hashlib.sha256(tokenizer.backend.to_str().encode())
    digest.update(text.encode("utf-8", "surrogatepass"))
    path = None if cache is None else cache / f"{digest.hexdigest()[:32]}.npy"
    if path is not None and path.is_file():
        return np.load(path, mmap_mode="r")
    dtype = np.uint16 if tokenizer.vocab_size <= 1 << 16 else np.uint32
    chunks = list(line_chunks(text))
    pieces = [
        np.fromiter(itertools.chain.from_iterable(tokenizer.encode_batch(chunks[at : at + 64])), dtype)
        for at in range(0, len(chunks), 64)
    ]
    ids = np.concatenate(pieces) if pieces else np.zeros(0, dtype)
    if path is not None and len(ids) > 1:
        partial = path.with_name(f"{path.stem}.{os.getpid()}.partial")  # one per process of a distributed run
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(partial, "wb") as f:
                np.save(f, ids)
            os.replace(partial, path)
        except OSError:
            partial.unlink(missing_ok=True)
    return ids


# ---------------------------------------------------------------------------------------------
# Readers


def read_table(
    path: Path,
    fmt: str = "auto",
    text_column: str | None = None,
    label_column: str | None = None,
    need_label: bool = True,
) -> list[dict]:
    """Classification records from CSV, TSV (with or without a header) or JSONL."""
    rows, header = read_rows(path, fmt, text_column, label_column)
    text_key = pick_column(path, header, text_column, TEXT_COLUMNS, "text", rows, longest=True)
    label_key = None
    if need_label or label_column is not None:
        label_key = pick_column(
            path,
            [h for h in header if h != text_key],
            label_column,
            LABEL_COLUMNS,
            "label",
            rows,
            longest=False,
        )
    records = []
    for line, row in enumerate(rows, start=1):
        if text_key not in row or (label_key and label_key not in row):
            raise UserError(
                f"{path}: row {line} lacks column '{text_key if text_key not in row else label_key}'"
            )
        record = {"text": str(row[text_key])}
        if label_key:
            record["label"] = row[label_key]
        records.append(record)
    if not records:
        raise UserError(f"{path} has no rows")
    return records


def read_rows(path: Path, fmt: str = "auto", *named: str | None) -> tuple[list[dict], list[str]]:
    """The rows of a CSV, TSV (with or without a header) or JSONL file as dicts, and the column names.

    `named`: columns the caller asked for, which mark the first row as a header, as the usual names of
    texts, labels, sources and targets do."""
    known = {*TEXT_COLUMNS, *LABEL_COLUMNS, *SOURCE_COLUMNS, *TARGET_COLUMNS, *(n for n in named if n)}
    return tables.read_rows(path, fmt, known)


def read_conll(path: Path, need_tags: bool = True) -> list[dict]:
    """Tagging records from a CoNLL column file: the first column is the word, the last the tag.

    Without `need_tags`, a file of one word per line (blank lines between sentences) also reads. Every
    line has as many columns as the file's first.
    """
    sentences, tokens, tags = [], [], []
    columns = 0
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        parts = line.split()
        columns = columns or len(parts)
        if parts and len(parts) != columns:
            raise UserError(
                f"{path}:{number}: {len(parts)} columns where the file's first line has {columns}; "
                f"got '{line.strip()[:80]}'"
            )
        if not parts or parts[0] == "-DOCSTART-":
            if tokens:
                sentences.append({"tokens": tokens, "tags": tags})
            tokens, tags = [], []
            continue
        if len(parts) < 2 and need_tags:
            raise UserError(f"{path}:{number}: expected 'word ... tag' columns, got '{line.strip()}'")
        tokens.append(parts[0])
        tags.append(parts[-1] if len(parts) > 1 else None)
    if tokens:
        sentences.append({"tokens": tokens, "tags": tags})
    if not sentences:
        raise UserError(f"{path} holds no sentences")
    return sentences


def read_token_jsonl(path: Path, tokens_column: str = "tokens", tags_column: str = "tags") -> list[dict]:
    """Tagging records from JSONL lines holding a token list and a tag list of the same length."""
    records = []
    for number, row in enumerate(tables.jsonl_rows(path, read_text(path)), start=1):
        for key in (tokens_column, tags_column):
            if key not in row:
                setting = "tokens" if key == tokens_column else "tags"
                raise UserError(f"{path}: line {number} lacks '{key}' (set data.{setting}_column)")
        tokens, tags = row[tokens_column], row[tags_column]
        if len(tokens) != len(tags):
            raise UserError(f"{path}: line {number} has {len(tokens)} tokens but {len(tags)} tags")
        records.append({"tokens": [str(t) for t in tokens], "tags": [str(t) for t in tags]})
    return records


def pick_column(
    path: Path,
    header: list[str],
    chosen: str | None,
    candidates: tuple[str, ...],
    role: str,
    rows: list[dict],
    longest: bool,
) -> str:
    if chosen is not None:
        if chosen not in header:
            raise UserError(f"{path} has no column '{chosen}' (columns: {', '.join(header)})")
        return chosen
    by_lower = {h.lower(): h for h in header}
    for name in candidates:
        if name in by_lower:
            return by_lower[name]
    if all(h.isdigit() for h in header) and header:
        # No header: the text is the column with the longest cells, the label the other one.
        width = {h: sum(len(str(r.get(h, ""))) for r in rows[:200]) for h in header}
        return max(header, key=width.get) if longest else min(header, key=width.get)
    raise UserError(
        f"{path} has no {role} column (columns: {', '.join(header)}); name it with data.{role}_column=NAME"
    )


TEXT = InputKind("text")  # plain text: each task reads its own formats (tables, CoNLL, running text, pairs)
