"""Collections of media files (clips, images): a folder with a subfolder per class, or a manifest that
lists the files beside a label or a transcript. The input kinds read the files themselves."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from seqlab.data import tables
from seqlab.errors import UserError

MANIFEST_SUFFIXES = (".csv", ".tsv", ".jsonl")


def walk(folder: Path) -> Iterator[Path]:
    """The files of `folder` and of its direct subfolders."""
    for entry in folder.iterdir():
        if entry.is_dir():
            yield from (p for p in entry.iterdir() if p.is_file())
        elif entry.is_file():
            yield entry


def holds(path: Path, suffixes: tuple[str, ...]) -> bool:
    """A file with one of `suffixes`, or a folder whose files (or class subfolders) have one."""
    if path.is_file():
        return path.suffix.lower() in suffixes
    return path.is_dir() and any(p.suffix.lower() in suffixes for p in walk(path))


def files_in(folder: Path, suffixes: tuple[str, ...], what: str) -> list[Path]:
    """The files of `folder` and its class subfolders with one of `suffixes`, sorted."""
    found = sorted(p for p in walk(folder) if p.suffix.lower() in suffixes)
    if not found:
        raise UserError(f"{folder} holds no {what} ({', '.join(suffixes)})")
    return found


def read_rows(path: Path) -> list[dict]:
    """The rows of a JSON-lines file, a TSV, or a CSV (any other suffix, such as Flickr8k's .txt), its
    first line the header; read as strictly as every table."""
    fmt = "tsv" if path.suffix == ".tsv" else "jsonl" if path.suffix == ".jsonl" else "csv"
    return tables.read_rows(path, fmt, header=True)[0]


def read_manifest(path: Path, columns: tuple[str, ...], labelled: bool) -> list[tuple[Path, str | None]]:
    """(file, value) of every row of a CSV, TSV or JSON-lines manifest: a `path` column (relative to the
    manifest) and the first of `columns` that it has (None for every row where not `labelled`)."""
    rows = read_rows(path)
    if not rows or "path" not in rows[0]:
        raise UserError(f"{path}: a manifest needs a 'path' column and a '{columns[0]}' column")
    column = next((c for c in columns if c in rows[0]), None)
    if labelled and column is None:
        raise UserError(f"{path} has no '{columns[0]}' column (columns: {', '.join(rows[0])})")
    for line, row in enumerate(rows, start=2):
        if not (path.parent / row["path"]).is_file():
            raise UserError(
                f"{path}:{line}: {row['path']} is not a file (paths are relative to the manifest)"
            )
    return [
        (path.parent / row["path"], str(row[column]).strip() if labelled and column else None) for row in rows
    ]


def file_of(record) -> dict[str, str]:
    """{"path": its file} of a record read from one image or one audio clip, to name it in predictions."""
    if not isinstance(record, dict):
        return {}
    image, clips = record.get("image"), list(getattr(record.get("audio"), "clips", []))
    if isinstance(image, str):
        return {"path": image}
    return {"path": clips[0]} if len(clips) == 1 else {}
