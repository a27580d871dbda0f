"""Extractive summarisation: sentence labels from document/summary pairs, and summaries beside the lead
baseline. (The hierarchical model's padding of sentences and documents, with every encoder, is checked
in tests/test_contract.py.)"""

from __future__ import annotations

import json

from conftest import tiny

from seqlab.cli import main
from seqlab.data.pairs import extractive_labels, split_sentences
from seqlab.pipeline import fit, load


def test_sentences_and_their_labels():
    assert split_sentences('He said "no." Then 3 left.\nA new line? Yes!') == [
        'He said "no."',
        "Then 3 left.",
        "A new line?",
        "Yes!",
    ]
    document = {
        "source": "Title\n\nFirst point. Second point. Third point.",
        "target": "First point. Third point.",
    }
    assert extractive_labels(document)["labels"] == [0, 1, 0, 1]


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
