"""Whole files in and out: written atomically (JSON too), and read as UTF-8 text with errors that say what
to do.

A low module: the data readers, the run directory and the reports all write through it, and it
imports nothing of seqlab's but its error type.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

from seqlab.errors import UserError


def atomic_write(path: Path, data: str | bytes) -> None:
    """Write to a temporary file beside `path`, then rename: readers never see half a file. The file gets
    the mode a plainly created one would (the umask's), not the temporary file's owner-only mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies, as to any new file
    with os.fdopen(fd, "wb") as f:
        f.write(data.encode("utf-8") if isinstance(data, str) else data)
    os.replace(tmp, path)


def write_json(path: Path, value: Any) -> None:
    atomic_write(path, json.dumps(value, indent=2, ensure_ascii=False) + "\n")


def read_text(path: Path) -> str:
    """A whole file as UTF-8 text; undecodable bytes and emptiness are user errors."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"data file not found: {path}")
    if path.is_dir():
        raise UserError(f"{path} is a folder; give a file, or a folder with train/valid/test files")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserError(
            f"{path} is not UTF-8 text (undecodable byte at offset {exc.start}); re-encode it as UTF-8"
        ) from None
    if not text.strip():
        raise UserError(f"{path} is empty")
    return text
