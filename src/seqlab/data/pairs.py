"""Text pairs for sequence to sequence: translation, summarisation, dialogue.

Every reader returns records {"source": str, "target": str}. Layouts:
- a table (CSV, TSV or JSONL) with a source and a target column;
- two line-aligned files, `PREFIX.SRC` and `PREFIX.TGT`, plain or gzip (the Multi30k layout);
- two folders of same-named documents, articles and their summaries (the BBC News Summary layout);
- dialogues: lists of turns, each turn the reply to the ones before it.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

from seqlab.data import text as text_io
from seqlab.data.text import SOURCE_COLUMNS, TARGET_COLUMNS
from seqlab.errors import UserError
from seqlab.files import read_text

SOURCE_FOLDERS = ("News Articles", "articles", "documents", "sources", "source")
TARGET_FOLDERS = ("Summaries", "summaries", "targets", "target")


def read_lines(path: Path) -> list[str]:
    """The lines of a UTF-8 text file, gzip-compressed or not."""
    path = Path(path)
    if path.suffix == ".gz" and path.is_file():
        try:
            raw = gzip.decompress(path.read_bytes())
        except (OSError, EOFError) as exc:
            raise UserError(f"{path} is not a readable gzip file ({exc})") from None
        try:
            return raw.decode("utf-8-sig").splitlines()
        except UnicodeDecodeError as exc:
            raise UserError(f"{path} is not UTF-8 text (undecodable byte at offset {exc.start})") from None
    return read_text(path).splitlines()


def read_aligned(source_path: Path, target_path: Path) -> list[dict]:
    """Pairs from two files holding one sentence per line, line i of one translating line i of the other."""
    sources, targets = read_lines(source_path), read_lines(target_path)
    if len(sources) != len(targets):
        raise UserError(
            f"{source_path} has {len(sources)} lines but {target_path} has {len(targets)}; "
            "line-aligned pair files need the same number of lines"
        )
    return checked([{"source": s, "target": t} for s, t in zip(sources, targets)], source_path)


def aligned_files(prefix: Path, source_lang: str, target_lang: str) -> tuple[Path, Path]:
    """`PREFIX.SRC` and `PREFIX.TGT`, or their `.gz` versions."""
    found = []
    for lang in (source_lang, target_lang):
        plain = prefix.with_name(f"{prefix.name}.{lang}")
        zipped = plain.with_name(plain.name + ".gz")
        if not plain.is_file() and not zipped.is_file():
            raise UserError(f"no {plain} or {zipped}: line-aligned pairs need both languages' files")
        found.append(plain if plain.is_file() else zipped)
    return found[0], found[1]


def read_pair_table(
    path: Path,
    fmt: str = "auto",
    source_column: str | None = None,
    target_column: str | None = None,
    need_target: bool = True,
) -> list[dict]:
    """Pairs from the source and target columns of a CSV, TSV or JSONL file."""
    rows, header = text_io.read_rows(path, fmt, source_column, target_column)
    source = text_io.pick_column(path, header, source_column, SOURCE_COLUMNS, "source", rows, longest=True)
    target = None
    if need_target or target_column is not None:
        target = text_io.pick_column(
            path,
            [h for h in header if h != source],
            target_column,
            TARGET_COLUMNS,
            "target",
            rows,
            longest=False,
        )
    records = []
    for line, row in enumerate(rows, start=1):
        for key in filter(None, (source, target)):
            if key not in row:
                raise UserError(f"{path}: row {line} lacks column '{key}'")
        records.append({"source": str(row[source])} | ({"target": str(row[target])} if target else {}))
    return checked(records, path) if target else records


def read_document_folders(root: Path) -> list[dict]:
    """Pairs from two folders of same-named text files (sub-folders allowed): documents and summaries."""
    sources = _subfolder(root, SOURCE_FOLDERS, "documents")
    targets = _subfolder(root, TARGET_FOLDERS, "summaries")
    records = []
    for document in sorted(sources.rglob("*.txt")):
        summary = targets / document.relative_to(sources)
        if not summary.is_file():
            raise UserError(f"{document} has no summary: expected {summary}")
        records.append(
            {
                "source": _read_document(document),
                "target": _read_document(summary),
                "group": str(document.parent.relative_to(sources)),
            }
        )
    if not records:
        raise UserError(f"{sources} holds no .txt documents")
    return checked(records, root)


def dialogue_pairs(conversations: list[list[str]], context_turns: int) -> list[dict]:
    """Every turn after the first as the target, the `context_turns` turns before it (one per line) as
    the source."""
    records = []
    for turns in conversations:
        for i in range(1, len(turns)):
            records.append({"source": "\n".join(turns[max(0, i - context_turns) : i]), "target": turns[i]})
    return records


def split_sentences(text: str) -> list[str]:
    """A document's sentences: its lines, each cut after a full stop, question or exclamation mark that
    a space and a capital (or a quote) follow."""
    sentences = []
    for line in text.splitlines():
        sentences += [s.strip() for s in _SENTENCE_END.split(line) if s.strip()]
    return sentences


_SENTENCE_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"']))\s+(?=[\"'A-Z0-9])")


def extractive_labels(record: dict) -> dict:
    """A document/summary pair as sentence tagging: {"sentences", "labels" (1: in the summary), "summary"}."""
    summary = " ".join(record["target"].split())
    sentences = split_sentences(record["source"])
    labels = [int(" ".join(s.split()) in summary) for s in sentences]
    return {"sentences": sentences, "labels": labels, "summary": record["target"]}


def summary_size(sentences: int, share: float) -> int:
    """How many of a document's sentences its summary holds: `share` of them, at least one."""
    return max(1, round(share * sentences))


def summary_of(scores: list[float], sentences: list[str], share: float) -> dict:
    """The summary of the sentences that score highest (each its probability of belonging), in document
    order: {"sentences": their indices, "summary": their text}."""
    best = sorted(range(len(scores)), key=scores.__getitem__, reverse=True)
    chosen = sorted(best[: summary_size(len(scores), share)])
    return {"sentences": chosen, "summary": " ".join(sentences[j] for j in chosen)}


def checked(records: list[dict], where: Path) -> list[dict]:
    """Refuse pairs whose source or target is empty, naming the first."""
    if not records:
        raise UserError(f"{where} holds no pairs")
    for number, record in enumerate(records, start=1):
        for side in ("source", "target"):
            if not record[side].strip():
                raise UserError(f"{where}: pair {number} has an empty {side}; remove it or fill it in")
    return records


def _subfolder(root: Path, names: tuple[str, ...], role: str) -> Path:
    for name in names:
        if (root / name).is_dir():
            return root / name
    raise UserError(f"{root} has no folder of {role} (one of: {', '.join(names)})")


def _read_document(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except UnicodeDecodeError:
        return path.read_text(encoding="latin-1").strip()  # a few BBC articles are Latin-1
