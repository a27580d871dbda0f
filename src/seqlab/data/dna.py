"""DNA: the alphabet, checking sequences, and FASTA, FASTQ and GenBank files. (The nucleotide and k-mer
tokenizers over this alphabet live with the other tokenizers, in `seqlab.data.text`.)

Files are read with Biopython. A sequence may hold A, C, G, T and N; the IUPAC ambiguity codes
(R, Y, S, W, K, M, B, D, H, V) follow `data.ambiguous`: `n` reads them as N and warns, `keep`
keeps them as letters of their own, `error` refuses them. Any other letter is refused.

Readers return the records the text tasks take:
- classification: {"text": sequence, "label": str}; the label is `label=…` in a FASTA description
  (`>seq1 label=EI`), or the file's name when a folder holds one FASTA file per class;
- language modelling: one str per split, the sequences one per line;
- tagging: {"tokens": bases, "tags": BIO tags of the annotated features}, in windows of
  `data.max_length` bases (a GenBank file's CDS features by default: coding against non-coding).
"""

from __future__ import annotations

import gzip
import re
import warnings
from collections.abc import Callable
from pathlib import Path

from seqlab.data.inputs import InputKind
from seqlab.errors import UserError
from seqlab.files import atomic_write, read_text

BASES = "ACGT"
AMBIGUOUS = "RYSWKMBDHV"  # IUPAC codes for two to three bases; N is any base
LETTERS = BASES + "N" + AMBIGUOUS
COMPLEMENT = str.maketrans("ACGTNRYSWKMBDHV", "TGCANYRSWMKVHDB")
FORMATS = {
    ".fa": "fasta",
    ".fasta": "fasta",
    ".fna": "fasta",
    ".ffn": "fasta",
    ".fq": "fastq",
    ".fastq": "fastq",
    ".gb": "genbank",
    ".gbk": "genbank",
    ".genbank": "genbank",
}


def clean(sequence: str, ambiguous: str, where: str) -> tuple[str, int]:
    """`sequence` in capitals without white space, ambiguity codes treated as `ambiguous` says;
    returns it with the number of ambiguity codes met."""
    sequence = "".join(str(sequence).split()).upper()
    if not sequence:
        raise UserError(f"{where} is an empty sequence")
    stray = set(sequence) - set(LETTERS)
    if stray:
        letter = sorted(stray)[0]
        raise UserError(
            f"{where} holds '{letter}', which is not a DNA letter: use A, C, G, T, N or an IUPAC "
            f"ambiguity code ({', '.join(AMBIGUOUS)})"
        )
    codes = sum(sequence.count(c) for c in AMBIGUOUS)
    if codes and ambiguous == "error":
        raise UserError(f"{where} holds IUPAC ambiguity codes; set data.ambiguous=n (read them as N) or keep")
    if codes and ambiguous == "n":
        sequence = sequence.translate(str.maketrans(AMBIGUOUS, "N" * len(AMBIGUOUS)))
    return sequence, codes


def clean_all(sequences: list[str], ambiguous: str, what: str) -> list[str]:
    """`clean` over many sequences, with one warning for all the ambiguity codes read as N."""
    cleaned, codes = [], 0
    for n, sequence in enumerate(sequences):
        sequence, count = clean(sequence, ambiguous, f"{what} {n + 1}")
        cleaned.append(sequence)
        codes += count
    if codes and ambiguous == "n":
        warnings.warn(f"{codes} IUPAC ambiguity code(s) were read as N (data.ambiguous=keep keeps them)")
    return cleaned


def reverse_complement(sequence: str) -> str:
    return sequence.translate(COMPLEMENT)[::-1]


# ---------------------------------------------------------------------------------------------
# Readers


def file_format(path: Path, what: str = "DNA") -> str:
    suffixes = [s.lower() for s in Path(path).suffixes if s.lower() != ".gz"]
    fmt = FORMATS.get(suffixes[-1] if suffixes else "")
    if fmt is None:
        raise UserError(f"{path}: name a {what} file .fasta/.fa/.fna, .fastq/.fq or .gb/.gbk (gzip allowed)")
    return fmt


def read_sequences(path: Path, what: str = "DNA"):
    """Biopython `SeqRecord`s of a FASTA, FASTQ or GenBank file (of `what`: DNA, protein), gzip or not."""
    from Bio import SeqIO

    path = Path(path)
    if not path.is_file():
        raise UserError(f"data file not found: {path}")
    fmt = file_format(path, what)
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            records = list(SeqIO.parse(handle, fmt))
    except (ValueError, UnicodeDecodeError, OSError) as exc:
        raise UserError(f"{path} is not a readable {fmt} file ({str(exc).splitlines()[0]})") from None
    if not records:
        raise UserError(f"{path} holds no {fmt} sequences")
    return records


def read_labelled(path: Path, data, labelled: bool = True) -> list[dict]:
    """Classification records from one FASTA/FASTQ/GenBank file, or a folder of them (the label of
    a sequence without `label=` in its description is its file's name)."""
    path = Path(path)
    files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
    sequences, labels = [], []
    for file in files:
        for record in read_sequences(file):
            sequences.append(str(record.seq))
            found = re.search(r"\blabel=(\S+)", record.description)
            labels.append(found[1] if found else file.name.split(".")[0] if path.is_dir() else None)
    if labelled and None in labels:
        n = labels.index(None)
        raise UserError(
            f"sequence {n + 1} of {path} has no label: write 'label=NAME' in its description, "
            "or give a folder with one file per label"
        )
    texts = clean_all(sequences, data.ambiguous, "sequence")
    return [{"text": t, "label": l} if labelled else {"text": t} for t, l in zip(texts, labels)]


def read_genome_text(path: Path, data) -> str:
    """The sequences of a file, one per line, for a DNA language model."""
    return "\n".join(clean_all([str(r.seq) for r in read_sequences(path)], data.ambiguous, "sequence")) + "\n"


def read_feature_tags(path: Path, data, labelled: bool = True, feature: str = "CDS") -> list[dict]:
    """Per-base tagging windows from an annotated GenBank file: every base inside a `feature` (either
    strand) is tagged B-/I-`feature` (B where a feature starts or the window begins inside one), every
    other base O; a window holds `data.max_length` bases, the last of a sequence fewer. Unlabelled,
    any DNA file gives windows of bases alone."""
    records = read_sequences(path)
    if labelled and file_format(path) != "genbank":
        raise UserError(f"{path}: per-base tags come from a GenBank file's annotation (.gb, .gbk)")
    size, windows = data.max_length, []
    for record, sequence in zip(
        records, clean_all([str(r.seq) for r in records], data.ambiguous, "sequence")
    ):
        tags = ["O"] * len(sequence)
        for part in (p for f in record.features if f.type == feature for p in f.location.parts):
            start, end = int(part.start), int(part.end)
            tags[start:end] = [f"B-{feature}"] + [f"I-{feature}"] * (end - start - 1)
        for begin in range(0, len(sequence), size):
            window = {"tokens": list(sequence[begin : begin + size]), "sequence": record.id, "start": begin}
            if labelled:
                window["tags"] = tags[begin : begin + size]
                if window["tags"][0] != "O":  # a window that begins inside a feature begins its span
                    window["tags"][0] = f"B-{feature}"
            windows.append(window)
    if labelled and not any(tag != "O" for w in windows for tag in w["tags"]):
        raise UserError(f"{path} annotates no {feature} feature: per-base tagging has nothing to learn")
    return windows


def split_by_sequence(windows: list[dict], every: int = 10) -> dict[str, list[dict]]:
    """Windows split by the sequence (contig) they come from, so no split sees another's neighbours:
    of every `every` sequences in file order, one is test, one validation, the rest training."""
    order = list(dict.fromkeys(w["sequence"] for w in windows))
    split_of = {
        name: "test" if n % every == every - 1 else "val" if n % every == every - 2 else "train"
        for n, name in enumerate(order)
    }
    splits: dict[str, list[dict]] = {"train": [], "val": [], "test": []}
    for window in windows:
        splits[split_of[window["sequence"]]].append(window)
    return splits


def read_splice(path: Path, data, labelled: bool = True) -> list[dict]:
    """UCI splice junctions (`data.format=splice`): `class, instance name, 60 bases` per line
    (EI, IE or N); unlabelled, a line may hold the bases alone."""
    rows = [line.split(",") for line in read_text(path).splitlines() if line.strip()]
    if labelled and any(len(row) < 3 for row in rows):
        n = next(i for i, row in enumerate(rows) if len(row) < 3)
        raise UserError(f"line {n + 1} of {path} is not 'class, name, sequence'")
    texts = clean_all([row[-1] for row in rows], data.ambiguous, "splice sequence")
    return [{"text": t, "label": row[0].strip()} if labelled else {"text": t} for t, row in zip(texts, rows)]


def write_fasta(path: Path, sequences: list[str], prefix: str = "generated") -> None:
    """Sequences as FASTA records `prefix_1`, `prefix_2`, …, written whole or not at all."""
    import io

    from Bio import SeqIO
    from Bio.Seq import Seq
    from Bio.SeqRecord import SeqRecord

    text = io.StringIO()
    SeqIO.write(
        [SeqRecord(Seq(s), id=f"{prefix}_{i + 1}", description="") for i, s in enumerate(sequences)],
        text,
        "fasta",
    )
    atomic_write(Path(path), text.getvalue())


def _read(shape: str, path: Path, data, labelled: bool) -> list:
    if shape == "tagged":
        return read_feature_tags(path, data, labelled)
    if shape == "stream":
        return [read_genome_text(path, data)]
    if data.format == "splice":
        return read_splice(path, data, labelled)
    return read_labelled(path, data, labelled)


def cleaned_texts(records: list, clean_texts: Callable[[list[str]], list[str]]) -> list:
    """Records with a "text" (sequences a task read from a table itself, to classify) with their texts
    cleaned by `clean_texts`; other records as they are."""
    if not records or not isinstance(records[0], dict) or "text" not in records[0]:
        return records
    return [{**r, "text": t} for r, t in zip(records, clean_texts([r["text"] for r in records]))]


def write_samples(samples: list[str], path: Path) -> None:
    """Generated samples as FASTA records, one per generated line."""
    write_fasta(path, [piece for sample in samples for piece in sample.split() if piece])


DNA = InputKind(
    "dna",
    read=_read,
    reads=("labelled", "tagged", "stream"),
    tokenizers=("nucleotide", "kmer"),
    prepare=lambda records, data: cleaned_texts(
        records, lambda texts: clean_all(texts, data.ambiguous, "sequence")
    ),
    reverse=reverse_complement,
    words=lambda text: list("".join(text.split()).upper()),
    write=write_samples,
)
