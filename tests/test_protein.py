"""Proteins: the amino-acid alphabet and its repairs, tables and FLIP's FASTA layout, scoring only resolved
residues (in the loss, the CRF and the metrics), the residue tokenizer, and a protein language model that
starts a secondary-structure tagger. (Every encoder tags and models proteins in tests/test_contract.py.)"""

from __future__ import annotations

import json

import pytest
import torch
from conftest import tiny

from seqlab.cli import main
from seqlab.config import DataConfig
from seqlab.data import protein
from seqlab.data.batch import IGNORE_INDEX
from seqlab.data.text import alphabet_tokenizer
from seqlab.errors import UserError
from seqlab.modules.crf import CRF
from seqlab.pipeline import fit, load

pytest.importorskip("Bio")


def _flip(folder, chains: dict[str, tuple[str, str, str, str]]):
    """FLIP's layout: name → (sequence, labels, mask, description)."""
    folder.mkdir(exist_ok=True)
    for file, part in (("sequences.fasta", 0), ("sampled.fasta", 1), ("mask.fasta", 2)):
        text = "".join(f">{name}{' ' + c[3] if part == 1 else ''}\n{c[part]}\n" for name, c in chains.items())
        (folder / file).write_text(text)
    return folder


def test_rare_codes_read_as_x_and_other_characters_are_refused():
    with pytest.warns(UserWarning, match="2 residue"):
        assert protein.clean_all(["mk vU", "ACBD"], ["a", "b"]) == ["MKVX", "ACXD"]
    with pytest.raises(UserError, match="sequence 7 holds '1', which is not an amino-acid letter"):
        protein.clean("MK1V", "sequence 7")
    with pytest.raises(UserError, match="empty"):
        protein.clean(" ", "sequence 1")


def test_residue_tokens_are_a_fixed_alphabet():
    residues = alphabet_tokenizer("residue")
    assert residues.vocab_size == 4 + 21 + 1  # specials, 20 amino acids and X, the line break
    assert residues.decode(residues.encode("MKVX\nAC")) == "MKVX\nAC"


def test_flip_layout_deals_its_splits_and_keeps_the_mask(tmp_path):
    folder = _flip(
        tmp_path / "flip",
        {
            "a": ("MKVL", "CHHC", "0111", "SET=train VALIDATION=False"),
            "b": ("ACDE", "CEEC", "1111", "SET=train VALIDATION=True"),
            "c": ("GGHK", "CCCC", "1110", "SET=test VALIDATION=False"),
        },
    )
    splits = protein.flip_splits(folder)
    assert {name: [c["id"] for c in chains] for name, chains in splits.items()} == {
        "train": ["a"],
        "val": ["b"],
        "test": ["c"],
    }
    assert splits["train"][0] == {
        "tokens": list("MKVL"),
        "id": "a",
        "tags": list("CHHC"),
        "scored": [False, True, True, True],
    }
    from seqlab.data.splits import read_splits

    data = DataConfig(input="protein")
    assert read_splits("tag", folder, data)["test"][0]["id"] == "c"  # the layout, read by the kind
    assert read_splits("lm", folder, data) == {"train": ["MKVL\n"], "val": ["ACDE\n"], "test": ["GGHK\n"]}


def test_bad_protein_files_say_what_is_wrong(tmp_path):
    data = DataConfig()
    uneven = tmp_path / "uneven.csv"
    uneven.write_text("sequence,dssp3\nMKVL,CHH\n")
    with pytest.raises(UserError, match="sequence 1 has 4 residues and its labels 3"):
        protein.read_table(uneven, data, labelled=True)
    unlabelled = tmp_path / "unlabelled.csv"
    unlabelled.write_text("sequence,name\nMKVL,x\n")
    with pytest.raises(UserError, match="no column of per-residue labels"):
        protein.read_table(unlabelled, data, labelled=True)
    assert protein.read_table(unlabelled, data, labelled=False) == [{"tokens": list("MKVL"), "id": "1"}]
    masked = tmp_path / "masked.csv"
    masked.write_text("id,sequence,dssp3,mask\np1,MKVL,CHHC,01x1\n")
    with pytest.raises(UserError, match="the mask of sequence p1 holds 'x'"):
        protein.read_table(masked, data, labelled=True)
    missing = _flip(tmp_path / "flip", {"a": ("MKVL", "CHHC", "1111", "")})
    (missing / "sequences.fasta").write_text(">a\nMKVL\n>b\nACDE\n")
    with pytest.raises(UserError, match="sequence b of .* has no labels"):
        protein.flip_splits(missing)
    with pytest.raises(UserError, match="per-residue labels come in a table"):
        protein.read_chains(missing / "sequences.fasta", data, labelled=True)


def test_cli_refuses_a_sequence_with_a_stray_character(tmp_path, capsys):
    bad = tmp_path / "chains.csv"
    bad.write_text("sequence,dssp3\nMKVL,CHHC\nMK*L,CHHC\n")
    code = main(
        ["train", "--task", "tag", "--data", str(bad), "data.input=protein", "--out", str(tmp_path / "run")]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err and "sequence 2 holds '*', which is not an amino-acid letter" in err
    assert not (tmp_path / "run").exists()


def test_unresolved_residues_are_neither_trained_on_nor_scored(chains):
    from seqlab.tasks.text import TagTask

    config = tiny("tag", "lstm", **{"data.input": "protein"})
    task = TagTask(config)
    task.fit(chains["train"])
    assert task.labels == ["C", "E", "H"]
    example = task.encode(chains["train"][:1])[0]
    scored = chains["train"][0]["scored"]
    assert not all(scored)
    assert [t == IGNORE_INDEX for t in example["target"]] == [not s for s in scored]
    # every residue predicted right but the unresolved ones: a perfect score
    held_out = task.encode(chains["val"])
    flipped = [[task.labels[t] if t != IGNORE_INDEX else "H" for t in e["target"]] for e in held_out]
    scores = task.score(held_out, flipped)
    assert scores["accuracy"] == scores["f1"] == scores["f1_macro"] == 1.0
    assert set(scores) >= {"f1_C", "f1_E", "f1_H"}


def test_partially_labelled_crf_sums_over_the_unlabelled_position():
    torch.manual_seed(0)
    crf = CRF(3)
    torch.nn.init.normal_(crf.transitions)
    emissions = torch.randn(1, 4, 3)
    mask = torch.ones(1, 4, dtype=torch.bool)
    known = torch.tensor([[0, 2, 1, 1]])
    partial = torch.tensor([[0, IGNORE_INDEX, 1, 1]])
    every = torch.stack(
        [crf.nll(emissions, known.clone().index_fill_(1, torch.tensor([1]), k), mask) for k in range(3)]
    )
    expected = -torch.logsumexp(-every, dim=0)  # -log Σ_k p(tags with tag k at position 1)
    torch.testing.assert_close(crf.nll(emissions, partial, mask), expected)
    assert crf.nll(emissions, partial, mask) < crf.nll(emissions, known, mask)


def test_a_protein_language_model_starts_a_tagger(chains, chain_text, tmp_path):
    from safetensors.torch import load_file

    lm = fit(
        tiny("lm", "gru", **{"data.input": "protein", "model.bidirectional": False, "data.block_size": 32}),
        tmp_path / "lm",
        chain_text,
    )
    assert lm.config.data.tokenizer == "residue"
    tagger = fit(
        tiny(
            "tag",
            "rnn",
            **{"data.input": "protein", "train.init_from": str(tmp_path / "lm"), "train.lr": 1e-12},
        ),
        tmp_path / "tag",
        chains,
    )
    assert tagger.config.model.encoder == "gru" and tagger.config.model.bidirectional is False
    start, tuned = (
        load_file(str(tmp_path / "lm" / "model.safetensors")),
        load_file(str(tmp_path / "tag" / "model.safetensors")),
    )
    assert all(torch.allclose(start[k], tuned[k], atol=1e-6) for k in start if not k.startswith("head."))
    rows = load(tmp_path / "tag").predict([{"tokens": list("MKVLAAGHE")}])
    assert len(rows[0]) == 9 and set(rows[0]) <= {"C", "E", "H"}
    both_ways = {
        "data.input": "protein",
        "train.init_from": str(tmp_path / "lm"),
        "model.bidirectional": True,
    }
    fit(tiny("tag", "gru", **both_ways, **{"train.lr": 1e-12}), tmp_path / "both", chains)
    read_both = load_file(str(tmp_path / "both" / "model.safetensors"))
    forward = [k for k in start if k.startswith("encoder.") and k.endswith("_l0")]
    assert forward and all(torch.allclose(start[k], read_both[k], atol=1e-6) for k in forward)
    assert any(k.endswith("_l0_reverse") for k in read_both)


def test_predict_tags_a_fasta_file_and_typed_sequences(chains, tmp_path, capsys):
    fit(tiny("tag", "gru", **{"data.input": "protein"}), tmp_path / "run", chains)
    fasta = tmp_path / "query.fasta"
    fasta.write_text(">q1\nMKVLAAGHEB\n>q2\nACDEFGHIK\n")
    capsys.readouterr()
    assert main(["predict", str(tmp_path / "run"), "--data", str(fasta)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [len(r["tags"]) for r in rows] == [10, 9] and rows[0]["tokens"][-1] == "X"
    assert main(["predict", str(tmp_path / "run"), "--text", "mkv lb"]) == 0
    assert json.loads(capsys.readouterr().out)["tokens"] == list("MKVLX")


def test_scoring_speed_counts_chains_and_residues(chains, tmp_path):
    from seqlab.bench import measurements

    pipeline = fit(tiny("tag", "tcn", **{"data.input": "protein"}), tmp_path / "run", chains)
    speed = measurements.scoring_speed(pipeline, chains["test"])
    residues = sum(len(c["tokens"]) for c in chains["test"]) / len(chains["test"])
    assert speed["examples_per_second"] > 0
    assert speed["positions_per_second"] / speed["examples_per_second"] == pytest.approx(residues, rel=1e-2)
