"""Copying source tokens (`model.copy`, a pointer-generator): the mixed distribution, the map from the
source vocabulary to the target's, and runs of every decoder family that copy."""

from __future__ import annotations

import json

import pytest
import torch
import yaml
from conftest import shared
from safetensors import safe_open

from seqlab.cli import main
from seqlab.config import RunConfig
from seqlab.data.text import PAD, TextTokenizer
from seqlab.data.text2sql import read_text2sql
from seqlab.encoders import DecoderState
from seqlab.heads.seq2seq import CopyMixture
from seqlab.tasks.seq2seq import Seq2SeqTask


def copy_state(copy_ids: torch.Tensor, mask: torch.Tensor, width: int = 6) -> DecoderState:
    memory = torch.randn(*copy_ids.shape, width)
    return DecoderState(memory, mask, keys=None, cache=None, copy_ids=copy_ids)


def test_the_mixture_is_a_distribution_and_copies_only_what_the_source_holds():
    torch.manual_seed(0)
    mixture = CopyMixture(hidden_dim=4, memory_dim=6, embed_dim=3)
    copy_ids = torch.tensor([[7, 9, 7, PAD], [PAD, PAD, PAD, PAD]])  # (B=2, S=4); row 2 has nothing to copy
    mask = torch.tensor([[True, True, True, False], [True, True, False, False]])
    logits, hidden, inputs = torch.randn(2, 5, 12), torch.randn(2, 5, 4), torch.randn(2, 5, 3)
    log_probs = mixture(logits, hidden, inputs, copy_state(copy_ids, mask))  # (B, T, V)
    assert torch.allclose(log_probs.exp().sum(-1), torch.ones(2, 5), atol=1e-5)
    assert torch.allclose(log_probs[1], logits[1].log_softmax(-1), atol=1e-5)  # nothing to copy: generates

    with torch.no_grad():  # the switch pinned to copying: all mass on the source's tokens 7 and 9
        mixture.switch.weight.zero_()
        mixture.switch.bias.fill_(-40.0)
    probs = mixture(logits, hidden, inputs, copy_state(copy_ids, mask))[0].exp()  # (T, V)
    assert torch.allclose(probs[:, 7] + probs[:, 9], torch.ones(5), atol=1e-5)
    assert (probs[:, 7] > 0).all() and (probs[:, 9] > 0).all() and probs[:, PAD].max() < 1e-6


def test_separate_vocabularies_copy_a_token_by_its_spelling():
    config = RunConfig.from_dict(
        {"task": "seq2seq", "data": {"tokenizer": "word", "shared_vocab": False}, "model": {"copy": True}}
    )
    source = TextTokenizer.train("word", ["where is paris", "where is rome"], lowercase=False)
    target = TextTokenizer.train("word", ["city paris", "city lima"], lowercase=False)
    table = Seq2SeqTask(config, source, target_tokenizer=target).copy_table()
    spelled = {source.decode([i]): int(table[i]) for i in range(4, source.vocab_size)}
    assert target.decode([spelled["paris"]]) == "paris"
    assert spelled["where"] == spelled["rome"] == PAD  # not in the target vocabulary: never copied
    assert table[:4].tolist() == [PAD] * 4


@pytest.fixture(scope="module")
def geoquery_pairs(tmp_path_factory):
    """The first 24 GeoQuery questions and queries as JSON lines."""
    records = read_text2sql(shared("text2sql", "geography.json"))["train"][:24]
    path = tmp_path_factory.mktemp("geoquery") / "pairs.jsonl"
    path.write_text(
        "".join(json.dumps({"source": r["source"], "target": r["target"]}) + "\n" for r in records)
    )
    return path


@pytest.mark.parametrize("encoder", ["rnn", "lstm", "gru", "transformer", "tcn"])
def test_every_decoder_family_trains_copies_and_reloads(capsys, tmp_path, geoquery_pairs, encoder):
    run = tmp_path / "run"
    args = ["train", "--task", "seq2seq", "--data", geoquery_pairs, "--out", run, f"model.encoder={encoder}"]
    tiny = ["model.hidden_size=16", "model.embed_dim=12", "train.max_steps=3", "train.batch_size=8"]
    settings = ["model.copy=true", "data.vocab_size=300", "data.max_length=60", "model.num_heads=2"]
    assert main([str(a) for a in [*args, *tiny, *settings]]) == 0
    assert yaml.safe_load((run / "config.yaml").read_text())["model"]["copy"] is True
    with safe_open(run / "model.safetensors", "pt") as weights:
        assert any(".copy.switch." in name for name in weights.keys())
    capsys.readouterr()
    assert main(["predict", str(run), "--text", "what is the capital of state_name0"]) == 0
    assert "output" in json.loads(capsys.readouterr().out)
