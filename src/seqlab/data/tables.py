"""Tables: CSV, TSV and JSON-lines files read strictly, rows as dicts.

A low module of the data readers: it imports nothing of seqlab's but its error type and file reading.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Collection
from pathlib import Path

from seqlab.errors import UserError
from seqlab.files import read_text

MAX_CELL = 1 << 20  # characters in one cell of a CSV or TSV file


def read_rows(
    path: Path, fmt: str = "auto", known: Collection[str] = (), header: bool = False
) -> tuple[list[dict], list[str]]:
    """The rows of a CSV, TSV or JSONL file as dicts, and the column names. The first row is the header
    when `header`, or when it names a column of `known`; else the columns are numbered. A row with another
    number of fields, a cell over MAX_CELL characters and a line that is not a JSON object are errors
    naming the file and line."""
    text = read_text(path)
    fmt = table_format(Path(path), fmt, text)
    if fmt == "jsonl":
        rows = jsonl_rows(path, text)
        return rows, list(rows[0])
    delimiter = "\t" if fmt == "tsv" else ","
    quoting = csv.QUOTE_MINIMAL if fmt == "csv" else csv.QUOTE_NONE
    csv.field_size_limit(MAX_CELL)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, quoting=quoting)
    table, lines = [], []  # the rows, and the line each ends on
    try:
        for row in reader:
            if row:
                table.append(row)
                lines.append(reader.line_num)
    except csv.Error as exc:
        if "field larger" in str(exc):
            exc = f"a cell holds more than {MAX_CELL:,} characters, the most a cell may hold"
        raise UserError(f"{path}:{reader.line_num}: {exc}") from None
    if not table:
        raise UserError(f"{path} has no rows")
    columns, rows = (table[0], table[1:]) if header else _split_header(table, known)
    for row, line in zip(rows, lines[len(table) - len(rows) :]):
        if len(row) != len(columns):
            raise UserError(
                f"{path}:{line}: {len(row)} fields where the file's rows have {len(columns)}; a "
                f"{'tab' if fmt == 'tsv' else 'comma'} inside a text needs "
                f"{'the file as CSV, with the text in quotes' if fmt == 'tsv' else 'the text in quotes'}"
            )
    return [dict(zip(columns, r)) for r in rows], columns


def table_format(path: Path, fmt: str, text: str) -> str:
    if fmt != "auto":
        if fmt not in ("csv", "tsv", "jsonl"):
            raise UserError(f"data.format '{fmt}' cannot hold labelled texts; use csv, tsv or jsonl")
        return fmt
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json", ".ndjson"):
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    first = text.lstrip("\ufeff").split("\n", 1)[0]
    return "tsv" if "\t" in first else "csv"


def jsonl_rows(path: Path, text: str) -> list[dict]:
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UserError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise UserError(f"{path}:{number}: expected a JSON object per line")
        rows.append(row)
    if not rows:
        raise UserError(f"{path} has no rows")
    return rows


def _split_header(table: list[list[str]], known: Collection[str]) -> tuple[list[str], list[list[str]]]:
    """Use the first row as header when it names a `known` column; else number them."""
    first = [c.strip().lstrip("\ufeff") for c in table[0]]
    if any(c.lower() in known or c in known for c in first):
        return first, table[1:]
    return [str(i) for i in range(len(first))], table
