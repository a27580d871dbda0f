"""Proteins (`data.input=protein`): amino-acid sequences, read and written as FASTA with Biopython, with
labels per residue (secondary structure: H helix, E strand, C coil) for tagging.

A sequence holds the 20 standard amino acids and X (any residue). The rarer codes B (D or N), Z (E or Q),
J (I or L), U (selenocysteine) and O (pyrrolysine) are read as X, with one warning that counts them; lower
case reads as upper case; any other character is refused.

Files:
- a table (.csv, .tsv, .jsonl) with a `sequence` (or `input`) column; to tag, a column of one label per
  residue (data.tags_column, or the first of dssp3, dssp8, labels, structure) and optionally a `mask` of
  0/1 per residue: only residues marked 1 (resolved in the structure) are trained on and scored;
- FLIP's layout: a folder with `sequences.fasta`, a FASTA of labels under the same ids (`SET=train|test`
  and `VALIDATION=True|False` in a description deal the splits) and optionally `mask.fasta`;
- a FASTA file of sequences: what a language model reads (a chain per line) and what a tagger tags.

Records: tagging {"tokens": residues, "tags": labels, "scored": [bool] where a mask is given, "id"};
a language model one string, a chain per line.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

from seqlab.data import media
from seqlab.data.dna import cleaned_texts, read_sequences, write_samples
from seqlab.data.inputs import InputKind
from seqlab.errors import UserError

AMINO_ACIDS = "ACDEFGHIKLMNPQRSTVWY"
RARE = "BZJUO"  # read as X
LETTERS = AMINO_ACIDS + "X"
SEQUENCE_COLUMNS = ("sequence", "input", "seq")
LABEL_COLUMNS = ("dssp3", "dssp8", "labels", "structure")
MASK_COLUMNS = ("mask", "resolved")
TABLE_SUFFIXES = media.MANIFEST_SUFFIXES


def clean(sequence: str, where: str) -> tuple[str, int]:
    """`sequence` in capitals without white space, the rare codes read as X; with how many there were."""
    sequence = "".join(str(sequence).split()).upper()
    if not sequence:
        raise UserError(f"{where} is an empty sequence")
    stray = set(sequence) - set(LETTERS) - set(RARE)
    if stray:
        letter = sorted(stray)[0]
        raise UserError(
            f"{where} holds '{letter}', which is not an amino-acid letter: use the 20 standard one-letter "
            f"codes, X for an unknown residue (B, Z, J, U, O are read as X)"
        )
    rare = sum(sequence.count(c) for c in RARE)
    return (sequence.translate(str.maketrans(RARE, "X" * len(RARE))) if rare else sequence), rare


def clean_all(sequences: list[str], names: list[str]) -> list[str]:
    """`clean` over many sequences, with one warning for all the rare codes read as X."""
    cleaned, rare = [], 0
    for sequence, name in zip(sequences, names):
        sequence, count = clean(sequence, f"sequence {name}")
        cleaned.append(sequence)
        rare += count
    if rare:
        warnings.warn(f"{rare} residue(s) coded B, Z, J, U or O were read as X (any residue)")
    return cleaned


def chain(name: str, sequence: str, labels: str | None, mask: str | None) -> dict:
    """The tagging record of one chain; labels and mask must be as long as the sequence."""
    record: dict = {"tokens": list(sequence), "id": name}
    for what, value in (("labels", labels), ("mask", mask)):
        if value is not None and len(value) != len(sequence):
            raise UserError(
                f"sequence {name} has {len(sequence)} residues and its {what} {len(value)}: give one "
                f"{'label' if what == 'labels' else '0 or 1'} per residue"
            )
    if labels is not None:
        record["tags"] = list(labels)
    if mask is not None:
        stray = set(mask) - {"0", "1"}
        if stray:
            raise UserError(f"the mask of sequence {name} holds '{sorted(stray)[0]}': write 1 (scored) or 0")
        record["scored"] = [m == "1" for m in mask]
    return record


# ---------------------------------------------------------------------------------------------
# Readers


def read_table(path: Path, data, labelled: bool) -> list[dict]:
    """Chains from a CSV, TSV or JSON-lines table: a sequence column, a label column to tag, a mask."""
    rows = media.read_rows(path)
    if not rows:
        raise UserError(f"{path} holds no rows")
    columns = list(rows[0])
    sequence = next((c for c in SEQUENCE_COLUMNS if c in columns), None)
    if sequence is None:
        raise UserError(f"{path} has no sequence column: name one {' or '.join(SEQUENCE_COLUMNS)}")
    labels = next((c for c in (data.tags_column, *LABEL_COLUMNS) if c in columns), None)
    if labelled and labels is None:
        raise UserError(
            f"{path} has no column of per-residue labels: name it {', '.join(LABEL_COLUMNS)} "
            "or set data.tags_column"
        )
    mask = next((c for c in MASK_COLUMNS if c in columns), None)
    names = [str(row.get("id") or n + 1) for n, row in enumerate(rows)]
    sequences = clean_all([row[sequence] for row in rows], names)
    return [
        chain(
            name,
            seq,
            str(row[labels]).strip() if labelled else None,
            str(row[mask]).strip() if labelled and mask else None,
        )
        for name, seq, row in zip(names, sequences, rows)
    ]


def _by_id(path: Path) -> dict[str, tuple[str, str]]:
    """id → (sequence as written, description) of a FASTA file."""
    return {r.id: (str(r.seq), r.description) for r in read_sequences(path, "protein")}


def flip_splits(folder: Path) -> dict[str, list[dict]]:
    """The chains of FLIP's layout, dealt by their labels' SET and VALIDATION attributes (all train where
    the labels carry none)."""
    labels_file = next(
        (p for p in sorted(folder.glob("*.fasta")) if p.name not in ("sequences.fasta", "mask.fasta")), None
    )
    if labels_file is None:
        raise UserError(f"{folder} has sequences.fasta and no FASTA of labels beside it")
    sequences, labels = _by_id(folder / "sequences.fasta"), _by_id(labels_file)
    masks = _by_id(folder / "mask.fasta") if (folder / "mask.fasta").is_file() else {}
    unlabelled = [name for name in sequences if name not in labels]
    if unlabelled:
        raise UserError(
            f"sequence {unlabelled[0]} of {folder / 'sequences.fasta'} has no labels in {labels_file}"
        )
    names = list(sequences)
    cleaned = clean_all([sequences[n][0] for n in names], names)
    splits: dict[str, list[dict]] = {"train": []}
    for name, sequence in zip(names, cleaned):
        tags, description = labels[name]
        mask = masks[name][0] if name in masks else None
        found = dict(re.findall(r"\b(SET|VALIDATION)=(\S+)", description))
        split = (
            "test" if found.get("SET") == "test" else "val" if found.get("VALIDATION") == "True" else "train"
        )
        splits.setdefault(split, []).append(chain(name, sequence, tags, mask))
    return splits


def read_fasta(path: Path) -> list[dict]:
    """Unlabelled chains of a FASTA file."""
    records = read_sequences(path, "protein")
    names = [r.id for r in records]
    return [chain(n, s, None, None) for n, s in zip(names, clean_all([str(r.seq) for r in records], names))]


def read_chains(path: Path, data, labelled: bool) -> list[dict]:
    """The chains of a table, a FLIP folder (all its splits together) or (unlabelled) a FASTA file."""
    path = Path(path)
    if path.is_dir():
        return [c for chains in flip_splits(path).values() for c in chains]
    if path.suffix.lower() in TABLE_SUFFIXES:
        return read_table(path, data, labelled)
    if labelled:
        raise UserError(
            f"{path}: per-residue labels come in a table (sequence and dssp3 columns) or FLIP's folder "
            "(sequences.fasta, a FASTA of labels, mask.fasta)"
        )
    return read_fasta(path)


def as_text(chains: list[dict]) -> str:
    """Chains as a language model reads them, one per line."""
    return "".join("".join(c["tokens"]) + "\n" for c in chains)


def _read(shape: str, path: Path, data, labelled: bool) -> list:
    chains = read_chains(path, data, labelled and shape == "tagged")
    return chains if shape == "tagged" else [as_text(chains)]


def _splits(path: Path, shape: str) -> dict[str, list] | None:
    """FLIP's folder, dealt into its splits; a language model reads each split as text."""
    if not (path.is_dir() and (path / "sequences.fasta").is_file()):
        return None
    splits = flip_splits(path)
    return splits if shape == "tagged" else {name: [as_text(chains)] for name, chains in splits.items()}


def _numbered(texts: list[str]) -> list[str]:
    """Sequences a task read from a table itself (classification), cleaned as every chain is."""
    return clean_all(texts, [str(n + 1) for n in range(len(texts))])


PROTEIN = InputKind(
    "protein",
    read=_read,
    reads=("tagged", "stream"),
    tokenizers=("residue",),
    layout_splits=_splits,
    prepare=lambda records, data: cleaned_texts(records, _numbered),
    words=lambda text: list(clean(text, "the sequence")[0]),
    write=write_samples,
)
