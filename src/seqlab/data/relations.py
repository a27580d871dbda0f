"""Sentences with two marked entities and the relation between them.

A record is {"tokens": words, "e1": (first, last + 1), "e2": (first, last + 1), "label": relation}: the
two entities as spans of word positions. Files hold them in one of two forms:

- SemEval-2010 Task 8's: `ID<TAB>"sentence with <e1>…</e1> and <e2>…</e2>"`, then the label, then a
  comment line, then a blank line (a file of the sentence lines alone reads unlabelled);
- a table (CSV, TSV or JSONL): a text column holding the same markers, or plain text beside the
  entities' character offsets in columns `e1_start`, `e1_end`, `e2_start`, `e2_end` (ends exclusive);
  the label column as for classification.

Words are split as Hugging Face's `Whitespace` pre-tokenizer splits them (runs of letters and digits,
runs of punctuation), so a word never straddles an entity's edge.
"""

from __future__ import annotations

import re
from pathlib import Path

from seqlab.data.text import LABEL_COLUMNS, TEXT_COLUMNS, pick_column, read_rows
from seqlab.errors import UserError
from seqlab.files import read_text

MARKERS = ("<e1>", "</e1>", "<e2>", "</e2>")
SPAN_COLUMNS = ("e1_start", "e1_end", "e2_start", "e2_end")
_SEMEVAL_LINE = re.compile(r'^(\d+)\t"?(.*?)"?\s*$')
_MARKER = re.compile(r"</?e[12]>")


def words_with_offsets(text: str) -> list[tuple[str, tuple[int, int]]]:
    """The words of `text`, each with its character span."""
    from tokenizers import pre_tokenizers

    return pre_tokenizers.Whitespace().pre_tokenize_str(text)


def unmark(marked: str, where: str) -> tuple[str, tuple[int, int], tuple[int, int]]:
    """The text without its entity markers, and each entity's character span in it."""
    found = [m.group() for m in _MARKER.finditer(marked)]
    if (
        sorted(found) != sorted(MARKERS)
        or found.index("<e1>") > found.index("</e1>")
        or found.index("<e2>") > found.index("</e2>")
    ):
        raise UserError(
            f"{where}: mark both entities once each, as <e1>…</e1> and <e2>…</e2> (found "
            f"{' '.join(found) or 'no markers'})"
        )
    text, spans, at = "", {}, 0
    for m in _MARKER.finditer(marked):
        text += marked[at : m.start()]
        spans[m.group()] = len(text)
        at = m.end()
    text += marked[at:]
    return text, (spans["<e1>"], spans["</e1>"]), (spans["<e2>"], spans["</e2>"])


def from_text(text: str, e1: tuple[int, int], e2: tuple[int, int], where: str) -> dict:
    """A record of `text`'s words and the word spans of its two entities' character spans."""
    words = words_with_offsets(text)
    record: dict = {"tokens": [w for w, _ in words]}
    for name, (start, end) in (("e1", e1), ("e2", e2)):
        inside = [i for i, (_, (a, b)) in enumerate(words) if a < end and b > start]
        if not inside:
            raise UserError(f"{where}: entity {name} (characters {start}-{end}) holds no word")
        record[name] = (inside[0], inside[-1] + 1)
    return record


def read_semeval(path: Path, labelled: bool) -> list[dict]:
    """Records of a file in SemEval-2010 Task 8's layout."""
    lines = read_text(path).splitlines()
    records = []
    for number, line in enumerate(lines, start=1):
        match = _SEMEVAL_LINE.match(line)
        if match is None:
            continue
        where = f"{path}:{number}"
        record = {"id": match.group(1), **from_text(*unmark(match.group(2), where), where)}
        if labelled:
            label = lines[number].strip() if number < len(lines) else ""
            if not label:
                raise UserError(f"{where}: the sentence's label should follow on the next line")
            record["label"] = label
        records.append(record)
    if not records:
        raise UserError(f'{path} holds no sentences: expected lines ID<TAB>"sentence with <e1>…</e1> …"')
    return records


def read_table(path: Path, data, labelled: bool) -> list[dict]:
    """Records of a table: marked text, or text and the entities' character offsets."""
    rows, header = read_rows(path, data.format, data.text_column, data.label_column, *SPAN_COLUMNS)
    text_key = pick_column(path, header, data.text_column, TEXT_COLUMNS, "text", rows, longest=True)
    label_key = None
    if labelled:
        label_key = pick_column(
            path, [h for h in header if h != text_key], data.label_column, LABEL_COLUMNS, "label", rows, False
        )
    offsets = all(c in header for c in SPAN_COLUMNS)
    records = []
    for line, row in enumerate(rows, start=1):
        where = f"{path}: row {line}"
        text = str(row.get(text_key, ""))
        if offsets:
            try:
                e1, e2 = [(int(row[a]), int(row[b])) for a, b in (SPAN_COLUMNS[:2], SPAN_COLUMNS[2:])]
            except (KeyError, ValueError):
                raise UserError(f"{where}: {', '.join(SPAN_COLUMNS)} must be character offsets") from None
            record = from_text(text, e1, e2, where)
        else:
            record = from_text(*unmark(text, where), where)
        if label_key is not None:
            if label_key not in row:
                raise UserError(f"{where} lacks column '{label_key}'")
            record["label"] = str(row[label_key])
        records.append(record)
    return records


def read_relations(path: Path, data, labelled: bool) -> list[dict]:
    """Records of a file in either form; SemEval's when its first line is `ID<TAB>"…`."""
    first = read_text(path).lstrip("\ufeff").split("\n", 1)[0]
    if _SEMEVAL_LINE.match(first) and "<e1>" in first and data.format == "auto":
        return read_semeval(path, labelled)
    return read_table(path, data, labelled)


def entity_words(record: dict) -> dict[str, str]:
    """The two entities' words, as `seqlab predict` names them: {"e1": …, "e2": …}."""
    return {name: " ".join(record["tokens"][slice(*record[name])]) for name in ("e1", "e2")}


def marked(record: dict) -> tuple[list[str], tuple[int, int], tuple[int, int]]:
    """The record's words with the four markers around its entities (the encoder's input), and each
    entity's span in them, markers included."""
    (s1, t1), (s2, t2) = record["e1"], record["e2"]
    edges = [(s1, "<e1>"), (t1, "</e1>"), (s2, "<e2>"), (t2, "</e2>")]
    edges.sort(key=lambda edge: (edge[0], not edge[1].startswith("</")))  # a closing marker first
    tokens, at = [], 0
    for position, marker in edges:
        tokens += [*record["tokens"][at:position], marker]
        at = position
    tokens += record["tokens"][at:]
    span = {name: (tokens.index(f"<{name}>"), tokens.index(f"</{name}>") + 1) for name in ("e1", "e2")}
    return tokens, span["e1"], span["e2"]
