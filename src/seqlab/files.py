"""Whole files in and out: written atomically (JSON too), and read as UTF-8 text with errors that say what
to do.

A low module: the data readers, the run directory and the reports all write through it, and it
imports nothing of seqlab's but its error type.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import uuid
from pathlib import Path
from typing import Any

from seqlab.errors import UserError

PARTIAL = ".partial"  # ends the name of a file being written; a run's next start removes those left behind


def atomic_write(path: Path, data: str | bytes) -> None:
    """Write to a temporary file beside `path`, then rename: readers never see half a file. The file gets
    the mode a plainly created one would (the umask's), not the temporary file's owner-only mode. A full
    disk or a folder that cannot be written is a UserError naming `path`; nothing is left behind."""
    path = Path(path)
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex[:12]}{PARTIAL}"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies, as to any file
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise UserError(cannot_write(path, exc)) from None


def failed(exc: OSError, path: Path) -> str:
    """One line for an error of the system's while reading or writing, `path` where it names no file."""
    return cannot_write(Path(exc.filename) if exc.filename else path, exc)


def cannot_write(path: Path, exc: OSError) -> str:
    """One line on why `path` could not be written, and what to do."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"no space left on the disk for {path}; free some space, or write elsewhere, and run again"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"cannot write {path}: permission denied; choose a folder you can write to"
    if exc.errno in (errno.ENOTDIR, errno.EEXIST):
        return f"cannot write {path}: a file stands where a folder of its path should be; choose another path"
    return f"{path}: {exc.strerror or exc}"


def remove_partial(folder: Path) -> None:
    """Delete the temporary files that writes interrupted by a crash left in `folder` and below."""
    for path in Path(folder).rglob(f".*{PARTIAL}"):
        path.unlink(missing_ok=True)


def write_json(path: Path, value: Any) -> None:
    atomic_write(path, json.dumps(value, indent=2, ensure_ascii=False) + "\n")


def read_json(path: Path) -> Any:
    """A JSON file that seqlab wrote; a missing, damaged or foreign one is a UserError naming it."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path} is missing; train the run again, or restore the file")
    try:
        return json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(damaged(path, exc)) from None


def damaged(path: Path, reason: Exception | str, remedy: str = "train the run again") -> str:
    """One line for a file of a run directory (or an export) that seqlab cannot read."""
    detail = " ".join(str(reason).split())[:240] or type(reason).__name__
    return f"{path} is damaged or was not written by seqlab ({detail}); {remedy}, or restore the file"


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
