"""DNA: sequence checks, nucleotide and k-mer tokens, FASTA/FASTQ/GenBank readers on real splice-junction
sequences, the splice registry entry, classification, base tagging and a DNA language model writing FASTA.
(Every encoder classifies and tags DNA, reloads and predicts alike in tests/test_contract.py.)"""

from __future__ import annotations

import gzip
import json

import pytest
from conftest import LEPTOSPIRA, shared, tiny

from seqlab.cli import main
from seqlab.config import DataConfig
from seqlab.data import dna
from seqlab.data.text import alphabet_tokenizer
from seqlab.errors import UserError

pytest.importorskip("Bio")


def _write(path, records, fmt, labels=True):
    from Bio import SeqIO
    from Bio.Seq import Seq
    from Bio.SeqRecord import SeqRecord

    rows = [
        SeqRecord(
            Seq(r["text"]),
            id=f"s{i}",
            description=f"label={r['label']}" if labels else "",
            letter_annotations={"phred_quality": [30] * len(r["text"])} if fmt == "fastq" else {},
            annotations={"molecule_type": "DNA"},
        )
        for i, r in enumerate(records)
    ]
    SeqIO.write(rows, path, fmt)
    return path


def test_ambiguity_codes_follow_the_policy():
    with pytest.warns(UserWarning, match="1 IUPAC ambiguity code"):
        assert dna.clean_all(["acg tRa"], "n", "sequence") == ["ACGTNA"]
    assert dna.clean("ACGR", "keep", "s")[0] == "ACGR"
    with pytest.raises(UserError, match="ambiguity codes"):
        dna.clean("ACGR", "error", "sequence 3")
    with pytest.raises(UserError, match="'X', which is not a DNA letter"):
        dna.clean("ACGX", "n", "sequence 2")
    with pytest.raises(UserError, match="empty"):
        dna.clean("  ", "n", "sequence 1")


def test_reverse_complement():
    assert dna.reverse_complement("AACGTN") == "NACGTT"
    assert dna.reverse_complement("ACGR") == "YCGT"


def test_kmer_and_nucleotide_tokens():
    kmers = alphabet_tokenizer("kmer", 3)
    assert kmers.vocab_size == 4 + 4 + 16 + 64 + 1
    ids = kmers.encode("ACGTACNNA\nAC")
    assert len(ids) == 5 and ids[2] == 1 and kmers.decode(ids) == "ACGTAC\nAC"  # NNA is [UNK]
    bases = alphabet_tokenizer("nucleotide")
    assert bases.decode(bases.encode("ACGTN\nR")) == "ACGTN\nR"
    assert 1 not in bases.encode("ACGTNRYSWKMBDHV")


def test_splice_registry_is_a_fixed_stratified_split():
    from seqlab.data.datasets import load_dataset

    shared("uci-splice-junction", "spliceData.txt")
    with pytest.warns(UserWarning, match="IUPAC"):
        splits = load_dataset("splice")
    # 3,005 distinct sequences of 3,190: every copy of one sequence stays in the split its first one drew
    assert {k: len(v) for k, v in splits.items()} == {"train": 2554, "val": 317, "test": 319}
    assert not {r["text"] for r in splits["train"]} & {r["text"] for r in splits["test"]}
    assert 70 <= sum(r["label"] == "EI" for r in splits["test"]) <= 85  # about a quarter of 319, as in train
    assert all(set(r["text"]) <= set("ACGTN") and len(r["text"]) == 60 for r in splits["train"])


@pytest.mark.parametrize("fmt,suffix", [("fasta", ".fasta"), ("fastq", ".fq"), ("genbank", ".gbk")])
def test_readers_take_fasta_fastq_and_genbank(tmp_path, splice_records, fmt, suffix):
    path = _write(tmp_path / f"seqs{suffix}", splice_records[:6], fmt, labels=fmt != "genbank")
    records = dna.read_labelled(path, DataConfig(), labelled=fmt != "genbank")
    assert [r["text"] for r in records] == [r["text"] for r in splice_records[:6]]
    if fmt != "genbank":
        assert [r["label"] for r in records] == [r["label"] for r in splice_records[:6]]


def test_a_folder_gives_one_label_per_file(tmp_path, splice_records):
    for label in ("EI", "N"):
        _write(
            tmp_path / f"{label}.fa", [r for r in splice_records if r["label"] == label][:3], "fasta", False
        )
    records = dna.read_labelled(tmp_path, DataConfig())
    assert [r["label"] for r in records] == ["EI"] * 3 + ["N"] * 3


def test_bad_dna_files(tmp_path):
    empty = tmp_path / "empty.fasta"
    empty.write_text("")
    with pytest.raises(UserError, match="holds no fasta sequences"):
        dna.read_sequences(empty)
    prose = tmp_path / "prose.fasta"
    prose.write_text("no records here\n")
    with pytest.raises(UserError, match="not a readable fasta file"):
        dna.read_sequences(prose)
    unlabelled = tmp_path / "u.fasta"
    unlabelled.write_text(">s1\nACGT\n")
    with pytest.raises(UserError, match="has no label"):
        dna.read_labelled(unlabelled, DataConfig())
    with pytest.raises(UserError, match="name a DNA file"):
        dna.file_format(tmp_path / "x.txt")


def test_cli_refuses_letters_that_are_not_dna(tmp_path, capsys):
    bad = tmp_path / "bad.fasta"
    bad.write_text(">s1 label=a\nACGTACGT\n>s2 label=b\nACGTQCGT\n")
    code = main(
        ["train", "--task", "classify", "--data", str(bad), "data.input=dna", "--out", str(tmp_path / "run")]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err and "'Q', which is not a DNA letter" in err
    assert not (tmp_path / "run").exists()


def test_kmer_classifier_reads_lower_case_as_the_same_bases(tmp_path, splice_splits):
    from seqlab.pipeline import fit

    config = tiny("classify", "gru", **{"data.input": "dna", "data.tokenizer": "kmer", "data.kmer": 2})
    pipeline = fit(config, tmp_path / "run", splits=splice_splits)
    assert pipeline.config.data.tokenizer == "kmer"
    upper = pipeline.predict([{"text": r["text"]} for r in splice_splits["test"]])
    assert pipeline.predict([{"text": r["text"].lower()} for r in splice_splits["test"]]) == upper
    assert set(upper[0]["probabilities"]) == {"EI", "IE", "N"}


def test_dna_language_model_writes_fasta(tmp_path, splice_records):
    from Bio import SeqIO

    fasta = _write(tmp_path / "train.fasta", splice_records, "fasta")
    run = tmp_path / "lm"
    assert (
        main(
            [
                "train",
                "--task",
                "lm",
                "--data",
                str(fasta),
                "data.input=dna",
                "--out",
                str(run),
                "model.hidden_size=16",
                "model.embed_dim=8",
                "train.max_steps=3",
                "data.block_size=32",
                "data.val_fraction=0.2",
                "data.test_fraction=0",
            ]
        )
        == 0
    )
    out = tmp_path / "generated.fasta"
    assert (
        main(
            [
                "generate",
                str(run),
                "--prompt",
                "ACG",
                "--num-samples",
                "2",
                "--max-new-tokens",
                "50",
                "--seed",
                "0",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    written = list(SeqIO.parse(out, "fasta"))
    assert written and str(written[0].seq).startswith("ACG")
    assert all(set(str(r.seq)) <= set(dna.LETTERS) for r in written)


def test_strand_symmetric_prediction_reads_both_strands_alike(tmp_path, splice_splits):
    from seqlab.pipeline import fit

    config = tiny(
        "classify",
        "gru",
        **{"data.input": "dna", "data.reverse_complement": True, "data.strand_symmetric": True},
    )
    pipeline = fit(config, tmp_path / "run", splits=splice_splits)
    texts = [r["text"] for r in splice_splits["test"][:5]]
    forward = pipeline.predict([{"text": t} for t in texts])
    reverse = pipeline.predict([{"text": dna.reverse_complement(t)} for t in texts])
    assert forward == reverse
    plain = fit(tiny("classify", "gru", **{"data.input": "dna"}), tmp_path / "plain", splits=splice_splits)
    assert plain.predict([{"text": texts[0]}]) != plain.predict([{"text": dna.reverse_complement(texts[0])}])


def test_genbank_cds_become_per_base_tags(genome_windows):
    from Bio import SeqIO

    with gzip.open(LEPTOSPIRA, "rt") as handle:
        first = next(SeqIO.parse(handle, "genbank"))
    cds = next(f for f in first.features if f.type == "CDS")
    start, end = int(cds.location.start), int(cds.location.end)
    tags = [t for w in genome_windows if w["sequence"] == first.id for t in w["tags"]]
    assert len(tags) == len(first.seq) and all(len(w["tokens"]) <= 64 for w in genome_windows)
    assert tags[start] == "B-CDS" and set(tags[start + 1 : end]) <= {"I-CDS", "B-CDS"}
    assert tags[start - 1] in ("O", "I-CDS") or start == 0
    splits = dna.split_by_sequence(genome_windows)
    seen = {name: {w["sequence"] for w in windows} for name, windows in splits.items()}
    assert seen["train"].isdisjoint(seen["test"]) and seen["val"].isdisjoint(seen["test"]) and seen["test"]


def test_bases_are_tagged_one_word_each(tmp_path, genome_splits):
    from seqlab.pipeline import fit

    config = tiny("tag", "gru", **{"data.input": "dna", "data.max_length": 64})
    pipeline = fit(config, tmp_path / "run", genome_splits)
    assert pipeline.config.data.tokenizer == "nucleotide"  # one fixed vocabulary with a DNA language model
    assert 0 <= json.loads((tmp_path / "run" / "metrics.json").read_text())["f1"] <= 1
    tags = pipeline.predict([{"tokens": list("ATGAAACCC")}])[0]
    assert len(tags) == 9 and set(tags) <= {"O", "B-CDS", "I-CDS"}


def test_tags_need_an_annotation(tmp_path):
    fasta = tmp_path / "plain.fasta"
    fasta.write_text(">s1\nACGTACGT\n")
    with pytest.raises(UserError, match="per-base tags come from a GenBank file"):
        dna.read_feature_tags(fasta, DataConfig(max_length=4))
    assert [w["tokens"] for w in dna.read_feature_tags(fasta, DataConfig(max_length=4), labelled=False)] == [
        list("ACGT"),
        list("ACGT"),
    ]
