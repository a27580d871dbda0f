"""Extractive summarisation: sentence labels from document/summary pairs, the hierarchical model,
and summaries beside the lead baseline."""

from __future__ import annotations

import json

import pytest
import torch

from conftest import ENCODERS, tiny
from seqlab.cli import main
from seqlab.data.pairs import extractive_labels, split_sentences
from seqlab.model import build_model
from seqlab.pipeline import fit, load
from seqlab.tasks import ExtractTask


def test_sentences_and_their_labels():
    assert split_sentences('He said "no." Then 3 left.\nA new line? Yes!') == ['He said "no."', "Then 3 left.",
                                                                               "A new line?", "Yes!"]
    document = {"source": "Title\n\nFirst point. Second point. Third point.", "target": "First point. Third point."}
    assert extractive_labels(document)["labels"] == [0, 1, 0, 1]


@pytest.mark.parametrize("encoder", ENCODERS)
def test_padding_sentences_and_documents_changes_nothing(encoder, bbc):
    config = tiny("extract", encoder, **{"data.sentence_length": 30})
    task = ExtractTask(config)
    task.fit(bbc["train"])
    torch.manual_seed(0)
    model = build_model(config, **task.model_sizes()).eval()
    examples = sorted(task.encode(bbc["val"]), key=lambda e: len(e["ids"]))
    short, long = examples[0], examples[-1]
    with torch.no_grad():
        together = model(task.collate([short, long])).logits
        alone = model(task.collate([short])).logits
    assert together.shape[:2] == (2, len(long["ids"]))
    torch.testing.assert_close(together[0, : len(short["ids"])], alone[0], atol=1e-5, rtol=1e-4)


def test_extractive_run_reports_rouge_beside_the_lead_baseline(bbc, tmp_path, capsys):
    pipeline = fit(tiny("extract", "gru", **{"train.max_steps": 10}), tmp_path / "run", bbc)
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert {"rouge1", "rouge2", "rougeL", "lead_rouge2", "f1"} <= set(metrics)
    assert 0 < metrics["lead_rouge2"] <= 1
    summaries = load(tmp_path / "run").predict([{"source": r["source"]} for r in bbc["test"]])
    assert summaries == pipeline.predict([{"source": r["source"]} for r in bbc["test"]])
    first = split_sentences(bbc["test"][0]["source"])
    assert summaries[0]["summary"] == " ".join(first[i] for i in summaries[0]["sentences"])
    (tmp_path / "article.txt").write_text(bbc["test"][1]["source"])
    assert main(["predict", str(tmp_path / "run"), "--data", str(tmp_path / "article.txt")]) == 0
    assert json.loads(capsys.readouterr().out)["summary"]
