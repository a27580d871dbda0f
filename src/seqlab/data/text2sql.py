"""Questions to SQL in the text2sql-data layout (Finegan-Dollak et al. 2018): a JSON list of entries,
each with SQL variants (`sql`), the variables they use, its `query-split` and its sentences, each
with its own `question-split` and the values of its variables.

Questions and queries keep the dataset's variable anonymisation (`state_name0`, …): the model writes
the variable where the question has it, and the values go back in only to run a query. A record is
{"source": question, "target": the first SQL variant, "queries": every variant, "variables": {name:
value}}. `data.split=question` deals sentences by their own split (a query may be asked in training
and at test in other words); `data.split=query` by their entry's (no query of the test set is seen in
training). Splits named by numbers are cross-validation folds: fold `data.fold` tests.
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from seqlab.errors import UserError
from seqlab.files import read_text

SPLITS = {"train": "train", "dev": "val", "test": "test"}


@dataclass
class SQLSettings:
    split: str = "question"  # seq2seq on text2sql JSON: question | query, the split the data is dealt by
    database: str | None = None  # seq2seq on text2sql JSON: a SQLite file; queries run on it (read-only)
    # to score execution_accuracy


def is_text2sql(path: Path) -> bool:
    """Whether `path` is a JSON file in the text2sql-data layout."""
    if path.suffix.lower() != ".json" or not path.is_file():
        return False
    start = read_text(path)[:4000]
    return start.lstrip().startswith("[") and '"sentences"' in start


def read_text2sql(path: Path, split: str = "question", fold: int = 0) -> dict[str, list]:
    """The records of a text2sql-data file by split: dealt by `split`, with fold `fold` testing where the
    splits are folds."""
    if split not in ("question", "query"):
        raise UserError(f"data.split must be question or query; got '{split}'")
    try:
        entries = json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise UserError(f"{path} is not valid JSON ({exc.msg}, line {exc.lineno})") from None
    splits: dict[str, list] = {}
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or not entry.get("sql") or "sentences" not in entry:
            raise UserError(f"{path}: entry {number} lacks its 'sql' variants or its 'sentences'")
        queries = [normalized(q) for q in entry["sql"]]
        for sentence in entry["sentences"]:
            name = entry["query-split"] if split == "query" else sentence["question-split"]
            record = {
                "source": sentence["text"],
                "target": queries[0],
                "queries": queries,
                "variables": sentence.get("variables", {}),
            }
            splits.setdefault(_split(str(name), fold), []).append(record)
    if "train" not in splits:
        raise UserError(f"{path} holds no training questions for data.split={split}")
    return splits


def _split(name: str, fold: int) -> str:
    if name.isdigit():
        return "test" if int(name) == fold else "train"
    return SPLITS.get(name, name)


def normalized(sql: str) -> str:
    """A query with single spaces between its words, as written and as compared."""
    return " ".join(sql.split())


def filled(sql: str, variables: dict[str, str]) -> str:
    """The query with each variable replaced by its value (longest names first: `x10` before `x1`)."""
    for name in sorted(variables, key=len, reverse=True):
        sql = re.sub(rf"\b{re.escape(name)}\b", variables[name].replace("\\", "\\\\"), sql)
    return sql


def database_path(name: str) -> Path:
    from seqlab.data.download import cache_dir

    for path in (Path(name), cache_dir() / name):
        if path.is_file():
            return path
    raise UserError(f"data.database={name}: no such SQLite file (nor in the dataset cache, {cache_dir()})")


class ReadOnlyDatabase:
    """A SQLite database opened read-only (the file's mode and `PRAGMA query_only`): a query that would
    write fails instead."""

    def __init__(self, path: Path):
        self.connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        self.connection.execute("PRAGMA query_only = ON")

    def rows(self, sql: str) -> list[tuple] | None:
        """The rows a query returns, sorted (None where the database rejects it)."""
        try:
            return sorted(self.connection.execute(sql).fetchall(), key=repr)
        except (sqlite3.Error, sqlite3.Warning):
            return None

    def close(self) -> None:
        self.connection.close()
